"""What defines a training run (:class:`TrainConfig`) and what it returns (:class:`TrainResult`).

The config is plain data: it is saved as ``train_config.json`` beside the
checkpoints, compared on ``--resume``, and validated here once, so the loop
runs on clean settings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..errors import BadInputError
from .augment import CROPS, AugmentConfig
from .optim import CLASS_WEIGHTS, OPTIMIZERS, SCHEDULERS

if TYPE_CHECKING:  # only for annotations: evaluate.py does not import this module
    from .evaluate import Evaluation

__all__ = ["TrainConfig", "TrainResult", "default_work_dir"]


def _whole(value, minimum: int) -> bool:
    """Whether ``value`` is a whole number of at least ``minimum`` (a bool is not)."""
    return not isinstance(value, bool) and int(value) == value and int(value) >= minimum


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved as ``train_config.json``).

    Parameters
    ----------
    task : str
        ``passage``, ``source``, ``osteogenic``, ``nsc_fate`` or ``strain``.
    backbone : str
        Any timm model (``test_resnet`` for tests).
    input_size : int
        Side of the square crops in pixels.
    epochs : int
        Maximum number of epochs (early stopping may end sooner).
    batch_size : int
        Per process under ``torchrun`` (the global batch is ``world_size * batch_size``).
    optimizer, scheduler : str
        Names in :data:`~.optim.OPTIMIZERS` and :data:`~.optim.SCHEDULERS`; the
        optimiser brings its default rate, momentum and schedule.
    lr, momentum : float, optional
        Override the optimiser's defaults (momentum: SGD only).
    weight_decay : float
    crops_per_field : int
        Random crops drawn from every training field per epoch.
    pretrained : bool
        Start from ImageNet weights: ``weights`` if given, else timm's.
    weights : str, optional
        A local ``.safetensors`` file (or a folder with ``model.safetensors``);
        implies ``pretrained``.
    crop : {"random", "center"}
        Crops anywhere in the field, or around its centre (tissue-source study).
    recipe : str, optional
        The :data:`~.recipes.RECIPES` entry the run started from.
    device : str
        A name of :data:`~napari_msc_morph.models.backbones.DEVICES` (``cuda:1`` picks a GPU).
    seed : int
    num_workers : int
        DataLoader worker processes (0 = in the main process).
    amp, channels_last : bool
        Mixed precision and channels-last memory format, used on CUDA only.
    in_chans : int
        1 (grayscale network) or 3 (gray images are repeated).
    downscale : int
        Read fields at ``1/downscale`` resolution (block average).
    split_by : str or None
        Manifest column whose groups never straddle splits (``None``: single images).
    val, test : float or int
        Share (``< 1``) or number (``>= 1``) of groups for validation and test.
    class_names : tuple of str, optional
        Model classes; default: the task's classes present in the manifest.
    tiling : {"six", "grid", "center"}
        Tiling for validation (and the bundle's default at prediction).
    intensity : str
        How raw pixels are scaled to [0, 1] (the bundle's ``intensity``).
    monitor : str
        Metric that picks the best epoch and drives early stopping and the plateau schedule.
    early_stopping : int or None
        Stop after this many epochs without improvement (``None``: never).
    plateau_patience : int
        Epochs without improvement before the plateau schedule divides the rate by 10.
    augment : AugmentConfig
    max_train_batches : int, optional
        Limit batches per epoch (quick checks and benchmarks).
    class_weights : {"none", "balanced"}
        ``balanced`` weighs each class's loss by ``n_train / (n_classes * n_class)``.
    """

    task: str
    backbone: str = "resnext50_32x4d"
    input_size: int = 448
    epochs: int = 30
    batch_size: int = 16
    optimizer: str = "adam"
    scheduler: str | None = None
    lr: float | None = None
    momentum: float | None = None
    weight_decay: float = 0.0
    crops_per_field: int = 16
    pretrained: bool = False
    weights: str | None = None
    crop: str = "random"
    recipe: str | None = None
    device: str = "auto"
    seed: int = 0
    num_workers: int = 0
    amp: bool = True
    channels_last: bool = True
    in_chans: int = 3
    downscale: int = 1
    split_by: str | None = "donor"
    val: float = 0.15
    test: float = 0.15
    class_names: tuple[str, ...] | None = None
    tiling: str = "six"
    intensity: str = "auto"
    monitor: str = "val_loss"
    early_stopping: int | None = 10
    plateau_patience: int = 3
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    max_train_batches: int | None = None
    class_weights: str = "none"

    def __post_init__(self):
        from ..models import DEVICES, get_task
        from ..models.backbones import check_backbone_name

        get_task(self.task)
        check_backbone_name(self.backbone)
        if isinstance(self.augment, dict):
            self.augment = AugmentConfig(**self.augment)
        if self.class_names is not None:
            self.class_names = tuple(str(c) for c in self.class_names)
        self.optimizer = str(self.optimizer).lower()
        OPTIMIZERS.entry(self.optimizer)  # unknown name -> BadInputError listing the choices
        if self.scheduler is None:
            self.scheduler = OPTIMIZERS.entry(self.optimizer).extra["scheduler"]
        self.scheduler = str(self.scheduler).lower()
        SCHEDULERS.entry(self.scheduler)
        if str(self.device).split(":")[0].lower() not in DEVICES:
            raise BadInputError(
                f"Unknown device {self.device!r}; use one of {', '.join(DEVICES.names())}."
            )
        for name in ("input_size", "epochs", "batch_size", "crops_per_field", "downscale"):
            if not _whole(getattr(self, name), 1):
                raise BadInputError(f"{name} must be a positive integer, got {getattr(self, name)!r}.")
            setattr(self, name, int(getattr(self, name)))
        if self.early_stopping == 0 and not isinstance(self.early_stopping, bool):
            self.early_stopping = None  # 0 = off, as on the command line
        if self.early_stopping is not None and not _whole(self.early_stopping, 1):
            raise BadInputError(
                f"early_stopping (--patience) must be a positive number of epochs, or 0/None "
                f"for no early stopping, got {self.early_stopping!r}.")
        if not _whole(self.plateau_patience, 0):
            raise BadInputError(
                f"plateau_patience (--plateau-patience) must be 0 or a positive number of "
                f"epochs, got {self.plateau_patience!r}.")
        self.plateau_patience = int(self.plateau_patience)
        if self.input_size < 16:
            raise BadInputError(f"input_size must be at least 16 px, got {self.input_size}.")
        if self.in_chans not in (1, 3):
            raise BadInputError(f"in_chans must be 1 or 3, got {self.in_chans}.")
        if self.lr is not None and not (float(self.lr) > 0):
            raise BadInputError(f"lr must be positive, got {self.lr}.")
        if self.num_workers < 0:
            raise BadInputError(f"num_workers must be 0 or more, got {self.num_workers}.")
        if not self.monitor.startswith(("val_", "train_")):
            raise BadInputError(
                f"monitor must name a val_ or train_ metric, got {self.monitor!r}."
            )
        if self.momentum is not None and not (0 <= float(self.momentum) < 1):
            raise BadInputError(f"momentum must be in [0, 1), got {self.momentum}.")
        self.crop = str(self.crop).lower()
        if self.crop not in CROPS:
            raise BadInputError(f"crop must be one of {', '.join(CROPS.names())}, got "
                                f"{self.crop!r}.")
        self.class_weights = str(self.class_weights or "none").lower()
        if self.class_weights not in CLASS_WEIGHTS:
            raise BadInputError(f"class_weights (--class-weights) must be one of "
                                f"{', '.join(CLASS_WEIGHTS.names())}, got {self.class_weights!r}.")
        if self.weights is not None:
            self.weights = str(self.weights)
            self.pretrained = True
        if self.split_by in ("", "none", "image"):
            self.split_by = None

    @property
    def learning_rate(self) -> float:
        """``lr``, or the optimiser's default rate."""
        if self.lr is not None:
            return float(self.lr)
        return float(OPTIMIZERS.entry(self.optimizer).extra["lr"])

    @property
    def resolved_momentum(self) -> float | None:
        """``momentum``, or the optimiser's default (``None`` where it has none)."""
        if self.momentum is not None:
            return float(self.momentum)
        return OPTIMIZERS.entry(self.optimizer).extra.get("momentum")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["class_names"] = None if self.class_names is None else list(self.class_names)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class TrainResult:
    """What :func:`~napari_msc_morph.training.trainer.train_model` returns.

    Attributes
    ----------
    bundle_path : Path or None
        The written bundle (``None`` if no epoch finished).
    work_dir : Path
    history : DataFrame
        One row per finished epoch.
    metrics : dict
        The metrics stored in ``model.json`` (with ``test_*`` after the test report).
    split : DataFrame
        The manifest with its ``split`` column.
    best_epoch : int or None
    cancelled : bool
        Stopped by its cancel token (the result travels on the ``Cancelled`` error).
    test_evaluation : Evaluation or None
        The best epoch evaluated on the held-out test split.
    report_files : dict
        Paths of the test report's files.
    """

    bundle_path: Path | None
    work_dir: Path
    history: pd.DataFrame
    metrics: dict
    split: pd.DataFrame
    best_epoch: int | None
    cancelled: bool = False
    test_evaluation: Evaluation | None = None
    report_files: dict = field(default_factory=dict)


def default_work_dir(bundle_path, suffix: str = ".train") -> Path:
    """``MODEL_DIR.train`` beside the bundle (``model.zip`` -> ``model.train``), or another suffix."""
    bundle_path = Path(bundle_path)
    stem = bundle_path.stem if bundle_path.suffix.lower() == ".zip" else bundle_path.name
    return bundle_path.parent / f"{stem}{suffix}"
