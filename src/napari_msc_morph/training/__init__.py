"""Training and evaluation on a lab's own images.

:func:`train_model` turns a manifest into a model bundle and a test report;
:func:`evaluate_model` scores a bundle on a manifest split.
"""

from .augment import AugmentConfig
from .config import TrainConfig, TrainResult, default_work_dir
from .data import ManifestError
from .evaluate import Evaluation, evaluate_model, write_report
from .optim import OPTIMIZERS, SCHEDULERS
from .trainer import train_model

__all__ = [
    "AugmentConfig",
    "Evaluation",
    "ManifestError",
    "OPTIMIZERS",
    "SCHEDULERS",
    "TrainConfig",
    "TrainResult",
    "default_work_dir",
    "evaluate_model",
    "train_model",
    "write_report",
]
