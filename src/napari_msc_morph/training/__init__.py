"""Training and evaluation on a lab's own images.

Entry points (what ``msc-morph train``/``evaluate``, the Train widget and the
demo call):

- :func:`train_model` (:mod:`.trainer`): manifest -> model bundle + test report;
- :func:`evaluate_model` (:mod:`.evaluate`): bundle + manifest -> metrics + report.

Modules, lowest first (no module imports one above it): ``_json``, ``optim``
(optimiser and schedule registries), ``augment``, ``data`` (manifests),
``splits``, ``bootstrap`` (donor cluster bootstrap), ``metrics``, ``plots``,
``published`` (the papers' test figures), ``_inputs`` (fields -> network inputs, as
prediction does), ``report`` (n per group, warnings, report.md), ``evaluate``,
``calibration`` (temperature scaling after training), ``config`` (:class:`TrainConfig`,
:class:`TrainResult`), ``pipeline`` (split table, fields, crop batches), ``epoch`` (one epoch,
validation), ``checkpoint`` (save/load/resume checks), ``bundle_record``
(what the bundle records), ``distributed`` (torchrun/DDP hooks), ``trainer``
(the driver), ``crossval`` (donor-grouped K-fold cross-validation over the driver).
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
