"""The studies' published results, as data: what every report puts beside yours.

Each :data:`PUBLISHED` entry says what its numbers were measured on: the papers' data,
context for your held-out numbers rather than a like-for-like comparison.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..registry import Registry

__all__ = ["PUBLISHED", "PUBLISHED_LABEL", "PublishedResult", "published_for"]

#: How every report labels the comparator column.
PUBLISHED_LABEL = "published (the paper's result on its own data)"


@dataclass(frozen=True)
class PublishedResult:
    """A study's published numbers (``metrics``: fractions named as in ``task_metrics``) and ``source``."""

    name: str
    task: str
    source: str
    metrics: dict = field(default_factory=dict)
    n_classes: int | None = None
    #: ``"test"`` or ``"validation"``: which of the paper's data gave the numbers
    evaluated_on: str = "test"

    def to_dict(self) -> dict:
        return {"name": self.name, "task": self.task, "label": PUBLISHED_LABEL,
                "source": self.source, "evaluated_on": self.evaluated_on,
                "metrics": dict(self.metrics)}


#: Published results: recipe name -> :class:`PublishedResult`.
PUBLISHED: Registry = Registry("published result")


def _add(result: PublishedResult, help: str) -> None:
    PUBLISHED.add(result.name, result, help=help)


_WANG = "Wang L. et al. (2025) Biomed. Signal Process. Control 104:107549"
_add(PublishedResult(
    name="passage-resnext", task="passage", n_classes=10, evaluated_on="test",
    metrics={"within3_accuracy": 0.567, "within5_accuracy": 0.910},
    source=f"{_WANG}, passage model (ResNeXt, P1-P10): trained on 1,286 images of its training "
           "strains (Table 1), tested on 454 images of 2 strains it never saw (§3.4.2, Table 1); "
           "six-region averaging, Eq. 2 interval accuracy (the 2 validation strains gave 85.7 % "
           "exact, 91.9 % within 3, 99.5 % within 5)",
), "passage: within-3 56.7 %, within-5 91.0 % on 454 test images of 2 unseen strains")
_add(PublishedResult(
    name="strain-resnext", task="strain", n_classes=10, evaluated_on="validation",
    metrics={"accuracy": 0.929},
    source=f"{_WANG}, strain model (ResNeXt): 92.9 % of validation images assigned to the right "
           "one of the training strains (§3.4.2, §4). A validation figure (the paper reports no "
           "test figure for it); 10 training strains is this tool's reading (Assumed) of 'the "
           "strain in the training set'",
), "strain identification: accuracy 92.9 % on validation images of the training strains")
_add(PublishedResult(
    name="source-resnext", task="source", n_classes=2, evaluated_on="test",
    metrics={"accuracy": 0.902},
    source=f"{_WANG}, tissue-source model (umbilical cord vs bone marrow, ResNeXt): 1,000 images "
           "(500 per class) split 70/30 by image, 700 training and 300 test images (150 per "
           "class; §3.4.3, Table 2); the paper does not say whether test images came from other "
           "donors",
), "tissue source UC vs BM: accuracy 90.2 % on 300 test images (70/30 split by image)")
_add(PublishedResult(
    name="osteonet", task="osteogenic", n_classes=2, evaluated_on="test",
    metrics={"auc_day_0": 0.94, "auc_day_5": 0.98},
    source="Tong C. et al. (2026) OsteoNet (abstract): ROC AUC per induction day on an "
           "independent test set; the abstract gives neither the number of images nor how the "
           "test set was separated (donors). Control vs induced and OsScore = P(induced) are "
           "this tool's definitions",
), "OsteoNet: AUC 0.94 at day 0, 0.98 at day 5")
_add(PublishedResult(
    name="nsc-resnet50-binary", task="nsc_fate", n_classes=2, evaluated_on="test",
    metrics={"accuracy": 0.997},
    source="neural stem cell fate study (summary): binary ResNet-50 testing accuracy; the "
           "summary gives neither the data size nor the split. Neuron vs glia is this tool's "
           "class set",
), "neural fate neuron vs glia: accuracy 99.7 %")
_add(PublishedResult(
    name="nsc-resnet50-multiclass", task="nsc_fate", n_classes=3, evaluated_on="test",
    metrics={"accuracy": 0.933},
    source="neural stem cell fate study (summary): multiclass ResNet-50 testing accuracy; the "
           "summary gives neither the data size, the split nor the classes. Neuron / astrocyte "
           "/ oligodendrocyte is this tool's class set",
), "neural fate, three classes: accuracy 93.3 %")


def published_for(task: str, class_names=None, recipe: str | None = None
                  ) -> PublishedResult | None:
    """The published result beside a model: its recipe's, else its task's (by class count), or ``None``."""
    if recipe and recipe in PUBLISHED:
        return PUBLISHED.get(recipe)
    n = len(class_names) if class_names is not None else None
    matches = [PUBLISHED.get(name) for name in PUBLISHED.names()
               if PUBLISHED.get(name).task == task]
    if len(matches) > 1 and n is not None:
        matches = [m for m in matches if m.n_classes == n] or matches[:1]
    return matches[0] if matches else None
