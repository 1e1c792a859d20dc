"""The studies' published *test* results, as data: what every report puts beside yours.

One :data:`PUBLISHED` registry, keyed like the training recipes
(:data:`~napari_msc_morph.training.recipes.RECIPES`). Each entry holds the
numbers the paper reports on its own held-out test data (test strains, test
donors), never its validation figures, keyed by the metric names of
:func:`~napari_msc_morph.training.metrics.task_metrics`. They are the papers'
results on the papers' data: context for your held-out numbers, not a
like-for-like comparison (other images, other donors, other microscopes).

>>> published_for("passage").metrics["within3_accuracy"]
0.567
>>> published_for("nsc_fate", class_names=("neuron", "glia")).name
'nsc-resnet50-binary'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..registry import Registry

__all__ = ["PUBLISHED", "PUBLISHED_LABEL", "PublishedResult", "published_for"]

#: How every report labels the comparator column.
PUBLISHED_LABEL = "published (the paper's result on its own data)"


@dataclass(frozen=True)
class PublishedResult:
    """A study's published test numbers for one task/setup.

    ``metrics`` maps a metric name of ``task_metrics`` (``accuracy``,
    ``within3_accuracy``, ``auc_day_0`` ...) to the published value (a
    fraction); ``source`` says which model, which test data, and where.
    """

    name: str
    task: str
    source: str
    metrics: dict = field(default_factory=dict)
    n_classes: int | None = None

    def to_dict(self) -> dict:
        return {"name": self.name, "task": self.task, "label": PUBLISHED_LABEL,
                "source": self.source, "metrics": dict(self.metrics)}


#: Published test results: recipe name -> :class:`PublishedResult`.
PUBLISHED: Registry = Registry("published result")


def _add(result: PublishedResult, help: str) -> None:
    PUBLISHED.add(result.name, result, help=help)


_add(PublishedResult(
    name="passage-resnext", task="passage", n_classes=10,
    metrics={"within3_accuracy": 0.567, "within5_accuracy": 0.910},
    source="MSC passage study, ResNeXt-50 32x4d P1-P10 classifier on its held-out test "
           "strains (six-crop averaging, Eq. 2 interval accuracy)",
), "passage: within-3 56.7 %, within-5 91.0 % on test strains")
_add(PublishedResult(
    name="source-resnext", task="source", n_classes=2,
    metrics={"accuracy": 0.902},
    source="passage study's tissue-source model (umbilical cord vs bone marrow MSC), "
           "ResNeXt-50 32x4d, test accuracy",
), "tissue source UC vs BM: accuracy 90.2 %")
_add(PublishedResult(
    name="osteonet", task="osteogenic", n_classes=2,
    metrics={"auc_day_0": 0.94, "auc_day_5": 0.98},
    source="OsteoNet, control vs osteogenically induced MSCs, test ROC AUC per induction day",
), "OsteoNet: AUC 0.94 at day 0, 0.98 at day 5")
_add(PublishedResult(
    name="nsc-resnet50-binary", task="nsc_fate", n_classes=2,
    metrics={"accuracy": 0.997},
    source="neural stem cell fate study, ResNet-50 neuron vs glia, test accuracy",
), "neural fate neuron vs glia: accuracy 99.7 %")
_add(PublishedResult(
    name="nsc-resnet50-multiclass", task="nsc_fate", n_classes=3,
    metrics={"accuracy": 0.933},
    source="neural stem cell fate study, ResNet-50 neuron / astrocyte / oligodendrocyte, "
           "test accuracy",
), "neural fate neuron / astrocyte / oligodendrocyte: accuracy 93.3 %")


def published_for(task: str, class_names=None, recipe: str | None = None
                  ) -> PublishedResult | None:
    """The published result to compare a model with, or ``None`` if no study matches.

    The bundle's recipe wins when it has a published result; otherwise the
    task decides (for ``nsc_fate`` the number of classes picks binary or
    multiclass). A passage model with fewer classes than P1-P10 still gets the
    passage study's figures: the report says how many classes it has.
    """
    if recipe and recipe in PUBLISHED:
        return PUBLISHED.get(recipe)
    n = len(class_names) if class_names is not None else None
    matches = [PUBLISHED.get(name) for name in PUBLISHED.names()
               if PUBLISHED.get(name).task == task]
    if len(matches) > 1 and n is not None:
        matches = [m for m in matches if m.n_classes == n] or matches[:1]
    return matches[0] if matches else None
