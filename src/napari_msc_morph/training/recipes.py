"""The studies' training setups as data: one :data:`RECIPES` registry.

A recipe is a frozen set of hyperparameters plus the citation it comes from.
``msc-morph train --recipe NAME`` and the Train widget's Recipe box start a
:class:`~napari_msc_morph.training.config.TrainConfig` from it; every option
given explicitly overrides the recipe's value. ``msc-morph recipes`` lists
them, and ``model.json`` records the recipe name with every resolved value.

Values a paper does not state are marked as assumed in the recipe's ``source``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from ..registry import Registry
from .augment import AugmentConfig

__all__ = ["RECIPES", "Recipe", "recipe_values"]


@dataclass(frozen=True)
class Recipe:
    """One published training setup (the :class:`TrainConfig` values it sets).

    ``augment`` holds :class:`~napari_msc_morph.training.augment.AugmentConfig`
    values (as pairs, so the recipe stays immutable); ``source`` cites where
    the values come from and says which ones are assumed.
    """

    task: str
    backbone: str
    input_size: int
    optimizer: str
    lr: float
    batch_size: int
    scheduler: str
    monitor: str
    epochs: int
    tiling: str
    source: str
    momentum: float | None = None
    crop: str = "random"
    pretrained: bool = True
    class_names: tuple[str, ...] | None = None
    early_stopping: int | None = 10
    augment: tuple[tuple[str, object], ...] = field(default_factory=tuple)

    def config_values(self) -> dict:
        """The ``TrainConfig`` keyword arguments this recipe sets."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "source"}
        values["augment"] = AugmentConfig(**dict(self.augment))
        return values


#: The studies' training setups: name -> :class:`Recipe`.
RECIPES: Registry = Registry("recipe")

_PASSAGE_STUDY = ("MSC passage (senescence) study: ResNeXt-50 32x4d fine-tuned from ImageNet on "
                  "448 px crops, SGD momentum 0.9, initial lr 1e-3, batch 8, lr x0.1 when "
                  "validation accuracy stops rising; six-crop averaged evaluation with interval "
                  "(within-3/within-5) accuracy")
RECIPES.add("passage-resnext", Recipe(
    task="passage", backbone="resnext50_32x4d", input_size=448, optimizer="sgd", lr=1e-3,
    momentum=0.9, batch_size=8, scheduler="plateau", monitor="val_accuracy", epochs=30,
    tiling="six",
    source=_PASSAGE_STUDY + ". Assumed: at most 30 epochs, early stop after 10 without a "
                            "better validation accuracy, the package's crop augmentations.",
), help="passage P1-P10 (ordinal): ResNeXt-50, SGD 1e-3 on a val-accuracy plateau, six crops")

RECIPES.add("source-resnext", Recipe(
    task="source", backbone="resnext50_32x4d", input_size=448, optimizer="adam", lr=1e-5,
    batch_size=8, scheduler="none", monitor="val_accuracy", epochs=150, tiling="center",
    crop="center",
    augment=(("hflip", True), ("vflip", True), ("rotation_deg", 180.0), ("translate", 0.1),
             ("brightness", 0.2), ("contrast", 0.2), ("saturation", 0.2)),
    source="Tissue-source (umbilical cord vs bone marrow MSC) model of the passage study: "
           "ResNeXt-50 32x4d ImageNet-pretrained, Adam lr 1e-5, batch 8, up to 150 epochs, "
           "colour jitter, flips, rotation and translation, 448 px centre crop at training and "
           "test. Assumed: jitter strengths 0.2, translation up to 10% of the crop, best epoch "
           "and early stop (10 epochs) on validation accuracy.",
), help="UC vs BM MSC: ResNeXt-50, Adam 1e-5, batch 8, 150 epochs, 448 px centre crops")

RECIPES.add("osteonet", Recipe(
    task="osteogenic", backbone="resnet50", input_size=448, optimizer="sgd", lr=1e-3,
    momentum=0.9, batch_size=8, scheduler="plateau", monitor="val_auc", epochs=30,
    tiling="six", class_names=("control", "induced"),
    source="OsteoNet: control vs osteogenically induced MSCs over induction days, "
           "OsScore = P(induced), evaluated per induction day (AUC 0.94 at day 0, 0.98 at "
           "day 5). Assumed (not encoded from the paper): an ImageNet-pretrained ResNet-50-class "
           "backbone (resnet50) at 448 px with the passage study's SGD setup (momentum 0.9, "
           "lr 1e-3, batch 8, x0.1 on a plateau) monitoring validation AUC, six-crop "
           "evaluation, at most 30 epochs.",
), help="osteogenic control vs induced (OsScore = P(induced)), ResNet-50, per-day AUC")

_NSC_STUDY = ("Neural stem cell fate study: ImageNet-pretrained ResNet-50 fine-tuned on "
              "bright-field images ({classes}). Assumed (not encoded from the paper): 448 px "
              "crops, Adam lr 1e-4, batch 8, at most 30 epochs, best epoch on validation "
              "accuracy, six-crop evaluation.")
_NSC_SETUP = Recipe(task="nsc_fate", backbone="resnet50", input_size=448, optimizer="adam", lr=1e-4,
                    batch_size=8, scheduler="none", monitor="val_accuracy", epochs=30, tiling="six",
                    source=_NSC_STUDY)
RECIPES.add("nsc-resnet50-binary", replace(
    _NSC_SETUP, class_names=("neuron", "glia"),
    source=_NSC_STUDY.format(classes="neuron vs glia; 99.7% test accuracy"),
), help="neural fate neuron vs glia: ResNet-50 pretrained")

RECIPES.add("nsc-resnet50-multiclass", replace(
    _NSC_SETUP, class_names=("neuron", "astrocyte", "oligodendrocyte"),
    source=_NSC_STUDY.format(classes="neuron / astrocyte / oligodendrocyte; 93.3% test accuracy"),
), help="neural fate neuron / astrocyte / oligodendrocyte: ResNet-50 pretrained")


def recipe_values(name: str) -> dict:
    """The ``TrainConfig`` keyword arguments of recipe ``name`` (plus ``recipe=name``).

    Unknown names raise :class:`~napari_msc_morph.errors.BadInputError` listing the recipes.

    >>> recipe_values("passage-resnext")["optimizer"]
    'sgd'
    """
    return {**RECIPES.get(name).config_values(), "recipe": name}
