"""The studies' training setups as data: one :data:`RECIPES` registry.

Every value a recipe sets carries a :class:`Provenance`: stated by the paper, Assumed,
or defined by this tool; a recipe missing one cannot be built.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from ..registry import Registry
from .augment import AugmentConfig

__all__ = ["ASSUMED", "GIVEN", "RECIPES", "STATED", "STATUSES", "TOOL", "Provenance", "Recipe",
           "assumed", "config_provenance", "recipe_values", "stated", "tool_definition"]

STATED = "stated"
ASSUMED = "Assumed"
TOOL = "defined by this tool"
#: a value the user set for this run instead of the recipe's (``model.json`` only)
GIVEN = "set for this run"
STATUSES = (STATED, ASSUMED, TOOL)


@dataclass(frozen=True)
class Provenance:
    """Where one recipe value comes from: ``status`` (one of :data:`STATUSES`) and a ``note``."""

    status: str
    note: str

    def __post_init__(self):
        if self.status not in (*STATUSES, GIVEN):
            raise ValueError(f"unknown provenance status {self.status!r}")
        if not self.note:
            raise ValueError("a provenance needs a note (the paper's words, or why)")

    def to_dict(self) -> dict:
        return {"status": self.status, "note": self.note}


def stated(note: str) -> Provenance:
    """A value the paper states (``note``: section and its words)."""
    return Provenance(STATED, note)


def assumed(note: str) -> Provenance:
    """A value the paper does not state, or states ambiguously (``note``: what and why)."""
    return Provenance(ASSUMED, note)


def tool_definition(note: str) -> Provenance:
    """A quantity the paper does not define; the definition is this tool's."""
    return Provenance(TOOL, note)


#: Recipe attributes that are descriptions, not TrainConfig values.
_NOT_VALUES = ("source", "provenance")


@dataclass(frozen=True)
class Recipe:
    """One published training setup (the :class:`TrainConfig` values it sets).

    ``augment`` holds AugmentConfig values as pairs (immutable); ``provenance`` maps every
    value (``augment``, or ``augment.<name>`` for each pair) to where it comes from.
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
    provenance: tuple[tuple[str, Provenance], ...]
    momentum: float | None = None
    crop: str = "random"
    pretrained: bool = True
    class_names: tuple[str, ...] | None = None
    early_stopping: int | None = 10
    plateau_patience: int = 3
    weight_decay: float = 0.0
    crops_per_field: int = 16
    split_by: str | None = "donor"
    val: float = 0.15
    test: float = 0.15
    augment: tuple[tuple[str, object], ...] = field(default_factory=tuple)

    def __post_init__(self):
        known = set(dict(self.provenance))
        wanted = {f.name for f in fields(self) if f.name not in (*_NOT_VALUES, "augment")}
        wanted |= {f"augment.{k}" for k, _ in self.augment} if self.augment else {"augment"}
        if wanted - known or known - wanted:
            raise ValueError(f"recipe for {self.task!r}: provenance missing for "
                             f"{sorted(wanted - known)}, unknown {sorted(known - wanted)}")

    def config_values(self) -> dict:
        """The ``TrainConfig`` keyword arguments this recipe sets."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _NOT_VALUES}
        values["augment"] = AugmentConfig(**dict(self.augment))
        return values

    def provenance_dict(self) -> dict:
        """``{value name: {"status", "note"}}``, JSON-ready (``model.json``, docs)."""
        return {name: p.to_dict() for name, p in self.provenance}


#: The studies' training setups: name -> :class:`Recipe`.
RECIPES: Registry = Registry("recipe")

PASSAGE_STUDY = ("Wang L. et al. (2025) Biomed. Signal Process. Control 104:107549 (MSC passage "
                 "and tissue-source study)")

#: What every recipe assumes where its paper is silent (no paper states them).
_UNSTATED_DEFAULTS = (
    ("weight_decay", assumed("no weight decay: none is stated")),
    ("crops_per_field", assumed("16 random crops per training image per epoch: the passage "
                                "study cuts its images into smaller pieces for training (§4) "
                                "without saying how many")),
)
_DONOR_SPLIT = (
    ("split_by", tool_definition("donor-grouped split (this tool's default): the paper does not "
                                 "say whether its test images came from other donors")),
    ("val", assumed("15 % of the donors for validation: not stated")),
    ("test", assumed("15 % of the donors for test: not stated")),
)

# ---------------------------------------------------------------- the passage study, model 1
_RESNEXT_DEPTH = assumed("ResNeXt-50 32x4d: the paper names ResNeXt with 32 groups per block "
                         "(§2.6, Fig. 1) but not its depth or width")
_IMAGENET = assumed("ImageNet weights: the abstract says 'pre-trained ResNeXt' without naming "
                    "the data it was pre-trained on")
_PLATEAU_100 = assumed(
    "100 epochs: the paper lowers the rate when validation accuracy has not risen 'within 100 "
    "times' (§3.4.2). Read as 100 validation checks, Keras's ReduceLROnPlateau unit (the paper "
    "used Keras, §3.4.1); this tool validates once per epoch, so 100 epochs")
_PASSAGE_PROVENANCE = (
    ("task", stated("ten classes, one per passage P1-P10 (§3.4.2)")),
    ("backbone", _RESNEXT_DEPTH),
    ("input_size", assumed("448 px: stated for the tissue-source model only (§3.4.3), not for "
                           "the passage model")),
    ("optimizer", stated("stochastic gradient descent (§3.4.2)")),
    ("lr", stated("initial learning rate 0.001 (§3.4.2)")),
    ("momentum", assumed("0.9: the paper gives no momentum for SGD")),
    ("batch_size", stated("batch size 8 (§3.4.2)")),
    ("scheduler", stated("rate multiplied by 0.1 when validation accuracy stops rising "
                         "(§3.4.2, Fig. 5C)")),
    ("monitor", stated("validation accuracy drives the schedule (§3.4.2)")),
    ("plateau_patience", _PLATEAU_100),
    ("epochs", assumed("300 epochs: the paper gives no epoch count; 300 leaves room for the "
                       "100-epoch plateau to lower the rate twice")),
    ("early_stopping", assumed("off: the paper describes no early stop, and one would cut the "
                               "100-epoch schedule short")),
    ("tiling", assumed("six 448 px crops at the corners and edge middles ('six'): the paper "
                       "averages six regions, upper/lower x left/middle/right (§3.4.2), without "
                       "their size; 'six-regions' is the other reading (the field cut into six)")),
    ("crop", assumed("random crops anywhere in the field: the paper says only that images were "
                     "divided into smaller pieces for training (§4)")),
    ("pretrained", _IMAGENET),
    ("class_names", stated("the passages P1-P10 (§3.4.2, Table 1) found in your manifest")),
    ("split_by", stated("whole strains per split (the manifest's donor column holds the "
                        "strain): 10 training, 2 validation and 2 test strains (§3.4.2)")),
    ("val", stated("2 validation strains (§3.4.2)")),
    ("test", stated("2 test strains (§3.4.2)")),
    ("augment", assumed("this tool's default augmentations (any rotation, flips, brightness/"
                        "contrast/saturation 0.2, channel gain 0.05): none are stated for the "
                        "passage model")),
    *_UNSTATED_DEFAULTS,
)
RECIPES.add("passage-resnext", Recipe(
    task="passage", backbone="resnext50_32x4d", input_size=448, optimizer="sgd", lr=1e-3,
    momentum=0.9, batch_size=8, scheduler="plateau", monitor="val_accuracy", epochs=300,
    plateau_patience=100, early_stopping=None, tiling="six",
    val=2, test=2,
    source=PASSAGE_STUDY + ", passage model (§2.6, §3.4.2)",
    provenance=_PASSAGE_PROVENANCE,
), help="passage P1-P10 (ordinal): ResNeXt, SGD 1e-3 x0.1 after 100 epochs without a better "
        "val accuracy, six crops")

# ------------------------------------------------------- the passage study, model 3: strains
_STRAIN_SAME_AS_PASSAGE = "the passage model's value; the paper gives no separate setup for " \
                          "the strain model"
RECIPES.add("strain-resnext", Recipe(
    task="strain", backbone="resnext50_32x4d", input_size=448, optimizer="sgd", lr=1e-3,
    momentum=0.9, batch_size=8, scheduler="plateau", monitor="val_accuracy", epochs=300,
    plateau_patience=100, early_stopping=None, tiling="six", split_by=None,
    source=PASSAGE_STUDY + ", strain model (§3.4.2, §4: 92.9 % of validation images assigned "
                           "to the right training strain)",
    provenance=(
        ("task", stated("which of the training strains an image comes from (§3.4.2, §4: the "
                        "third of three models)")),
        ("class_names", tool_definition("your manifest's strains (the label column), in "
                                        "natural order: the paper does not name its strains")),
        ("split_by", assumed("single images: the paper assigns validation images to the "
                             "training strains, so the same strains must be in every split; "
                             "held-out images of a strain are not independent of its training "
                             "images")),
        ("val", assumed("15 % of the images for validation: not stated")),
        ("test", assumed("15 % of the images for test: the paper reports validation images "
                         "only")),
        ("backbone", assumed("ResNeXt-50 32x4d: 'three models' were trained with ResNeXt (§4); "
                             "depth and width not stated")),
        *[(name, assumed(_STRAIN_SAME_AS_PASSAGE)) for name in (
            "input_size", "optimizer", "lr", "momentum", "batch_size", "scheduler", "monitor",
            "plateau_patience", "epochs", "early_stopping", "tiling", "crop", "augment")],
        ("pretrained", _IMAGENET),
        *_UNSTATED_DEFAULTS,
    ),
), help="strain identification (the passage study's third model): ResNeXt, the passage "
        "model's setup, single-image split")

# ---------------------------------------------------------- the passage study, model 2: source
RECIPES.add("source-resnext", Recipe(
    task="source", backbone="resnext50_32x4d", input_size=448, optimizer="adam", lr=1e-5,
    batch_size=8, scheduler="none", monitor="val_accuracy", epochs=150, tiling="center",
    crop="center", test=0.3, early_stopping=None,
    augment=(("hflip", True), ("vflip", True), ("rotation_deg", 180.0), ("translate", 0.1),
             ("brightness", 0.2), ("contrast", 0.2), ("saturation", 0.2),
             ("channel_gain", 0.05)),
    source=PASSAGE_STUDY + ", tissue-source model (umbilical cord vs bone marrow, §3.4.3)",
    provenance=(
        ("task", stated("two classes, HUCMSCs vs HBMMSCs (§3.4.3)")),
        ("class_names", stated("umbilical cord vs bone marrow MSCs (§3.4.3)")),
        ("backbone", assumed("ResNeXt-50 32x4d: 'the ResNeXt described' (§3.4.3), depth and "
                             "width not stated")),
        ("pretrained", _IMAGENET),
        ("input_size", stated("448x448 sub-image (§3.4.3)")),
        ("crop", stated("cropped from the centre of the image at training and test (§3.4.3)")),
        ("tiling", stated("one centre crop at test (§3.4.3)")),
        ("optimizer", stated("Adam (§3.4.3)")),
        ("lr", stated("learning rate 0.00001 (§3.4.3)")),
        ("momentum", stated("not used: Adam (§3.4.3) has no momentum setting")),
        ("batch_size", stated("batch size 8 (§3.4.3)")),
        ("scheduler", assumed("constant rate: no schedule is stated")),
        ("plateau_patience", assumed("unused: the rate is constant")),
        ("monitor", assumed("validation accuracy picks the best epoch: not stated")),
        ("epochs", stated("about 150 epochs until the network converged (§3.4.3)")),
        ("early_stopping", assumed("off: the paper trains for about 150 epochs and states no "
                                   "early stop (an early stop after 10 epochs would end most "
                                   "runs long before); the best epoch is kept")),
        ("split_by", tool_definition("donor-grouped: the paper splits 1,000 images 70/30 by "
                                     "image and does not say whether test donors differ")),
        ("val", assumed("15 % of the donors for validation: not stated")),
        ("test", stated("30 % held out for test (§3.4.3: 300 of 1,000 images), here 30 % of "
                        "the donors")),
        ("augment.hflip", stated("random flipping (§3.4.3)")),
        ("augment.vflip", assumed("vertical as well as horizontal flips: 'random flipping' "
                                  "does not say which")),
        ("augment.rotation_deg", assumed("any angle up to ±180°: 'random rotation' gives no "
                                         "range")),
        ("augment.translate", assumed("up to 10 % of the crop: 'translation' gives no range")),
        *[(f"augment.{name}", assumed(f"{name} jitter 0.2: 'colour jitter' (§3.4.3) gives no "
                                      "strength")) for name in ("brightness", "contrast",
                                                                "saturation")],
        ("augment.channel_gain", assumed("per-channel gain 0.05 (white balance): not stated")),
        *_UNSTATED_DEFAULTS,
    ),
), help="UC vs BM MSC: ResNeXt, Adam 1e-5, batch 8, 150 epochs, 448 px centre crops")

# ----------------------------------------------------------------------------- OsteoNet
_OSTEONET = ("Tong C. et al. (2026) OsteoNet, Comput. Struct. Biotechnol. J., "
             "doi:10.1016/j.csbj.2026.01.008 (abstract: AUC 0.94 at day 0, 0.98 at day 5)")
_NOT_IN_ABSTRACT = "not in the abstract, which gives no training setup"
RECIPES.add("osteonet", Recipe(
    task="osteogenic", backbone="resnet50", input_size=448, optimizer="sgd", lr=1e-3,
    momentum=0.9, batch_size=8, scheduler="plateau", monitor="val_auc", epochs=30,
    tiling="six", class_names=("control", "induced"),
    source=_OSTEONET,
    provenance=(
        ("task", stated("osteogenic differentiation from bright-field images, scored over "
                        "induction days (abstract)")),
        ("class_names", tool_definition("control vs osteogenically induced, with OsScore = "
                                        "P(induced): the abstract names an Osteogenic Score "
                                        "but does not define its classes or formula")),
        ("backbone", assumed(f"ResNet-50: {_NOT_IN_ABSTRACT}")),
        ("pretrained", assumed(f"ImageNet weights: {_NOT_IN_ABSTRACT}")),
        *[(name, assumed(f"the passage study's value: {_NOT_IN_ABSTRACT}")) for name in (
            "input_size", "optimizer", "lr", "momentum", "batch_size", "scheduler")],
        ("plateau_patience", assumed(f"3 epochs (this tool's default): {_NOT_IN_ABSTRACT}")),
        ("monitor", assumed("validation AUC, the study's headline metric: the abstract does "
                            "not say what picked the model")),
        *[(name, assumed(f"{_NOT_IN_ABSTRACT}; this tool's value")) for name in (
            "epochs", "early_stopping", "tiling", "crop", "augment")],
        *_DONOR_SPLIT,
        *_UNSTATED_DEFAULTS,
    ),
), help="osteogenic control vs induced (OsScore = P(induced), this tool's definition), "
        "ResNet-50, per-day AUC")

# ------------------------------------------------------------------------ neural fate
_NSC = ("Neural stem cell fate study (Jalihal A. et al. 2023, arXiv:2312.06665; summary: "
        "ResNet-50, {figure})")
_NOT_IN_SUMMARY = "not in the summary, which gives no training setup"
_NSC_SETUP = Recipe(
    task="nsc_fate", backbone="resnet50", input_size=448, optimizer="adam", lr=1e-4,
    batch_size=8, scheduler="none", monitor="val_accuracy", epochs=30, tiling="six",
    source=_NSC,
    provenance=(
        ("task", stated("neuron vs glial fate of neural stem cells from microscopy images "
                        "(summary)")),
        ("backbone", stated("ResNet-50 (summary)")),
        ("pretrained", assumed(f"ImageNet weights: {_NOT_IN_SUMMARY}")),
        ("class_names", tool_definition("the class set is this tool's reading of 'neuron and "
                                        "glial cell differentiation'; the summary does not list "
                                        "the classes")),
        ("plateau_patience", assumed("unused: the rate is constant")),
        *[(name, assumed(f"{_NOT_IN_SUMMARY}; this tool's value")) for name in (
            "input_size", "optimizer", "lr", "momentum", "batch_size", "scheduler", "monitor",
            "epochs", "early_stopping", "tiling", "crop", "augment")],
        *_DONOR_SPLIT,
        *_UNSTATED_DEFAULTS,
    ),
)
RECIPES.add("nsc-resnet50-binary", replace(
    _NSC_SETUP, class_names=("neuron", "glia"),
    source=_NSC.format(figure="99.7 % test accuracy, binary"),
), help="neural fate neuron vs glia: ResNet-50 pretrained")
RECIPES.add("nsc-resnet50-multiclass", replace(
    _NSC_SETUP, class_names=("neuron", "astrocyte", "oligodendrocyte"),
    source=_NSC.format(figure="93.3 % test accuracy, multiclass"),
), help="neural fate neuron / astrocyte / oligodendrocyte: ResNet-50 pretrained")


def recipe_values(name: str) -> dict:
    """The ``TrainConfig`` keyword arguments of recipe ``name`` (plus ``recipe=name``)."""
    return {**RECIPES.get(name).config_values(), "recipe": name}


def config_provenance(config) -> dict:
    """Where each value of a recipe run comes from; a value the run changed is "set for this run"."""
    if config.recipe not in RECIPES:
        return {}
    recipe = RECIPES.get(config.recipe)
    values = recipe.config_values()
    out = {}
    for name, origin in recipe.provenance:
        if name.startswith("augment."):
            key = name.split(".", 1)[1]
            ours, theirs = getattr(config.augment, key), getattr(values["augment"], key)
        else:
            ours, theirs = getattr(config, name), values[name]
        if ours == theirs:  # TrainConfig holds class names as a tuple, as a recipe does
            out[name] = origin.to_dict()
        else:
            out[name] = Provenance(GIVEN, f"the recipe's value was {_show(theirs)}").to_dict()
    return out


def _show(value) -> str:
    return repr(list(value)) if isinstance(value, tuple) else repr(value)
