"""The training loop: manifest in, model bundle out.

:func:`train` reads and validates the manifest, splits it by donor, trains a
timm backbone on random augmented crops of the training fields, validates
every epoch with the prediction engine's tiling (six-region averaging by
default), keeps a full checkpoint every epoch (``--resume`` continues from
it), and writes the best epoch as a model bundle that ``msc-morph predict``
and the Predict widget load, with the training metrics in ``model.json``.

Files (``work_dir`` defaults to ``<bundle>.train`` beside the bundle)::

    MODEL_DIR/                 the bundle: model.json + weights.safetensors
    MODEL_DIR.train/
        split.csv              path, label, donor, ..., split
        train_config.json      the TrainConfig of the run
        history.csv            one row per epoch (loss, accuracy, val metrics, lr, samples/s)
        checkpoint.safetensors model + optimizer tensors of the last finished epoch
        checkpoint.json        epoch, optimizer/scheduler/early-stopping state, sha256

Checkpoints hold no pickle: tensors go into safetensors, the rest into JSON.

Determinism: the network is initialised from ``seed``; every epoch reseeds
torch from ``(seed, epoch)`` and draws its sample order and each crop's
augmentation from ``(seed, epoch, sample)``. On CPU a run therefore gives the
same weights every time, whether or not it was interrupted and resumed, and
whatever the number of DataLoader workers.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..io import atomic_path, write_json, write_table
from .augment import AugmentConfig, sample_rng
from .data import (
    Field,
    ManifestError,
    load_field,
    load_manifest,
    missing_class_problems,
    resolve_class_names,
    validate_manifest,
)
from .splits import assign_splits, write_split

__all__ = [
    "TrainConfig",
    "TrainResult",
    "OPTIMIZER_PRESETS",
    "train",
    "default_work_dir",
    "TrainingCancelled",
]

#: The studies' optimiser settings: Adam at 1e-5 (passage study), SGD at 1e-3
#: with momentum, divided by 10 when validation stops improving.
OPTIMIZER_PRESETS = {
    "adam": {"lr": 1e-5},
    "sgd": {"lr": 1e-3, "momentum": 0.9, "plateau_factor": 0.1},
}
CHECKPOINT_WEIGHTS = "checkpoint.safetensors"
CHECKPOINT_JSON = "checkpoint.json"
#: Monitored metrics where larger is better (anything else: smaller is better).
_HIGHER_IS_BETTER = ("accuracy", "auc", "f1")


class TrainingCancelled(Exception):
    """Raised inside the loop when the cancel callback asks to stop."""


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved as ``train_config.json``).

    Parameters
    ----------
    task : str
        ``passage``, ``source``, ``osteogenic`` or ``nsc_fate``.
    backbone : str
        Any timm model; ``resnext50_32x4d`` (passage study) by default,
        ``resnet50`` as in the neural-fate study; ``resnet10t`` for tests.
    input_size : int
        Side of the square crops in pixels (448 in the passage study).
    epochs : int
        Maximum number of epochs (early stopping may end sooner).
    batch_size : int
    optimizer : {"adam", "sgd"}
        Preset (see :data:`OPTIMIZER_PRESETS`); SGD also reduces its learning
        rate 10x when the monitored metric stops improving.
    lr : float, optional
        Overrides the preset's learning rate.
    weight_decay : float
    crops_per_field : int
        Random crops drawn from every training field per epoch.
    pretrained : bool
        Start from timm's ImageNet weights (downloaded by timm; needs internet).
    device : str
        ``auto``, ``cpu``, ``cuda`` or ``mps``.
    seed : int
    num_workers : int
        DataLoader worker processes (0 = in the main process).
    amp, channels_last : bool
        Mixed precision and channels-last memory format, used on CUDA only.
    in_chans : int
        1 (grayscale network) or 3 (ImageNet-style; gray images are repeated).
    downscale : int
        Read fields at ``1/downscale`` resolution (block average). Speeds up
        CPU training; the bundle's ``pixel_size_um`` records the coarser pixel.
    split_by : str or None
        Manifest column whose groups never straddle splits (``donor``);
        ``None`` splits single images.
    val, test : float or int
        Share (``< 1``) or number (``>= 1``) of groups for validation and test.
    class_names : tuple of str, optional
        Model classes; default: the task's classes present in the manifest.
    tiling : {"six", "grid", "center"}
        Tiling for validation (and the bundle's default at prediction).
    intensity : str
        How raw pixels are scaled to [0, 1] (the bundle's ``intensity``).
    monitor : str
        Validation metric that picks the best epoch and drives early stopping
        and the SGD plateau schedule: ``val_loss`` (default), or e.g.
        ``val_accuracy``, ``val_auc``, ``val_within3_accuracy``.
    early_stopping : int or None
        Stop after this many epochs without improvement (``None``: never).
    plateau_patience : int
        Epochs without improvement before SGD divides its learning rate.
    augment : AugmentConfig
    max_train_batches : int, optional
        Limit batches per epoch (quick checks and benchmarks).
    """

    task: str
    backbone: str = "resnext50_32x4d"
    input_size: int = 448
    epochs: int = 30
    batch_size: int = 16
    optimizer: str = "adam"
    lr: float | None = None
    weight_decay: float = 0.0
    crops_per_field: int = 16
    pretrained: bool = False
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

    def __post_init__(self):
        from ..models import get_task
        from ..models.backbones import check_backbone_name

        get_task(self.task)
        check_backbone_name(self.backbone)
        if isinstance(self.augment, dict):
            self.augment = AugmentConfig(**self.augment)
        if self.class_names is not None:
            self.class_names = tuple(str(c) for c in self.class_names)
        self.optimizer = str(self.optimizer).lower()
        if self.optimizer not in OPTIMIZER_PRESETS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZER_PRESETS)}, got {self.optimizer!r}.")
        for name in ("input_size", "epochs", "batch_size", "crops_per_field", "downscale"):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or int(value) < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
            setattr(self, name, int(value))
        if self.input_size < 16:
            raise ValueError(f"input_size must be at least 16 px, got {self.input_size}.")
        if self.in_chans not in (1, 3):
            raise ValueError(f"in_chans must be 1 or 3, got {self.in_chans}.")
        if self.lr is not None and not (float(self.lr) > 0):
            raise ValueError(f"lr must be positive, got {self.lr}.")
        if self.num_workers < 0:
            raise ValueError(f"num_workers must be 0 or more, got {self.num_workers}.")
        if not self.monitor.startswith(("val_", "train_")):
            raise ValueError(f"monitor must name a val_ or train_ metric, got {self.monitor!r}.")
        if self.split_by in ("", "none", "image"):
            self.split_by = None

    @property
    def learning_rate(self) -> float:
        return float(self.lr) if self.lr is not None else OPTIMIZER_PRESETS[self.optimizer]["lr"]

    def to_dict(self) -> dict:
        data = asdict(self)
        data["class_names"] = None if self.class_names is None else list(self.class_names)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    bundle_path : Path or None
        The written bundle (``None`` if no epoch finished).
    work_dir : Path
    history : DataFrame
        One row per finished epoch.
    metrics : dict
        The metrics stored in ``model.json``.
    split : DataFrame
        The manifest with its ``split`` column.
    best_epoch : int or None
    cancelled : bool
    """

    bundle_path: Path | None
    work_dir: Path
    history: pd.DataFrame
    metrics: dict
    split: pd.DataFrame
    best_epoch: int | None
    cancelled: bool = False


def default_work_dir(bundle_path) -> Path:
    """``MODEL_DIR.train`` beside the bundle (``model.zip`` -> ``model.train``)."""
    bundle_path = Path(bundle_path)
    stem = bundle_path.stem if bundle_path.suffix.lower() == ".zip" else bundle_path.name
    return bundle_path.parent / f"{stem}.train"


# --------------------------------------------------------------------------- data
class CropDataset:
    """Random augmented crops of in-memory fields; ``len = fields * crops_per_field``.

    Fields stay raw (their dtype, at training resolution); each has the
    prediction engine's normalizer, fitted on the whole field. Items are
    requested by key ``epoch * len + index`` (see :class:`EpochSampler`) so the
    augmentation of every sample depends only on the seed, the epoch and its
    index, never on worker scheduling.
    """

    def __init__(self, fields: list[np.ndarray], normalizers: list, targets, config: TrainConfig):
        self.fields = fields
        self.normalizers = normalizers
        self.targets = np.asarray(targets, dtype=np.int64)
        self.config = config
        self.per_field = config.crops_per_field

    def __len__(self) -> int:
        return len(self.fields) * self.per_field

    def __getitem__(self, key):
        import torch

        from ._inputs import jittered_input
        from .augment import color_jitter, random_crop

        n = len(self)
        epoch, index = divmod(int(key), n)
        i_field = index // self.per_field
        rng = sample_rng(self.config.seed, epoch, index)
        augment = self.config.augment
        crop = random_crop(self.fields[i_field], self.config.input_size, rng, augment)
        x = jittered_input(crop, self.normalizers[i_field], lambda u: color_jitter(u, rng, augment))
        return torch.from_numpy(x), torch.tensor(self.targets[i_field])


class EpochSampler:
    """Yields ``epoch * n + i`` for a seeded permutation ``i`` of the samples."""

    def __init__(self, n: int, seed: int, max_samples: int | None = None):
        self.n = n
        self.seed = seed
        self.epoch = 0
        self.max_samples = max_samples

    def __len__(self):
        return self.n if self.max_samples is None else min(self.n, self.max_samples)

    def __iter__(self):
        rng = np.random.default_rng(np.random.SeedSequence([int(self.seed) & 0xFFFFFFFF, self.epoch, 0x5A7]))
        order = rng.permutation(self.n)[: len(self)]
        return iter((self.epoch * self.n + order).tolist())


def _load_fields(table: pd.DataFrame, config: TrainConfig, progress=None, to_unit=None) -> tuple[list, list]:
    """Fields of ``table`` at training resolution (optionally scaled to [0, 1] by ``to_unit``)."""
    out, sizes = [], []
    for k, path in enumerate(table["path"]):
        loaded: Field = load_field(path, config.downscale)
        out.append(loaded.data if to_unit is None else to_unit(loaded.data))
        sizes.append(loaded.pixel_size_um)
        if progress is not None:
            progress({"kind": "load", "done": k + 1, "total": len(table)})
    return out, sizes


def _pixel_size(sizes: list) -> float | None:
    known = [s for s in sizes if s is not None]
    if not known:
        return None
    if len(known) < len(sizes):
        warnings.warn(
            f"{len(sizes) - len(known)} of {len(sizes)} training images carry no pixel size; "
            "the bundle records the others' median.",
            stacklevel=3,
        )
    med = float(np.median(known))
    if max(abs(s / med - 1) for s in known) > 0.05:
        warnings.warn(
            f"Training images have different pixel sizes ({min(known):.3g}-{max(known):.3g} µm); "
            f"the bundle records the median {med:.3g} µm.",
            stacklevel=3,
        )
    return med


# --------------------------------------------------------------------------- checkpoints
def _save_checkpoint(work_dir: Path, model, optimizer, state: dict) -> None:
    from safetensors.torch import save as save_safetensors

    tensors = {f"model.{k}": v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    opt_state = optimizer.state_dict()
    scalars: dict = {}
    for idx, slot in opt_state["state"].items():
        for key, value in slot.items():
            if hasattr(value, "detach"):
                tensors[f"optimizer.{idx}.{key}"] = value.detach().to("cpu").contiguous().clone()
            else:
                scalars.setdefault(str(idx), {})[key] = value
    blob = save_safetensors(tensors, metadata={"format": "pt"})
    with atomic_path(work_dir / CHECKPOINT_WEIGHTS) as tmp:
        tmp.write_bytes(blob)
    state = dict(state)
    state["optimizer_param_groups"] = opt_state["param_groups"]
    state["optimizer_scalars"] = scalars
    state["weights_sha256"] = hashlib.sha256(blob).hexdigest()
    write_json(_json_safe(state), work_dir / CHECKPOINT_JSON)


def _load_checkpoint(work_dir: Path, model, optimizer) -> dict:
    import torch
    from safetensors.torch import load as load_safetensors

    json_path, weights_path = work_dir / CHECKPOINT_JSON, work_dir / CHECKPOINT_WEIGHTS
    if not json_path.is_file() or not weights_path.is_file():
        raise FileNotFoundError(
            f"Nothing to resume in {work_dir}: no {CHECKPOINT_JSON}/{CHECKPOINT_WEIGHTS}. "
            "Start without --resume."
        )
    state = json.loads(json_path.read_text())
    blob = weights_path.read_bytes()
    if hashlib.sha256(blob).hexdigest() != state.get("weights_sha256"):
        raise ValueError(
            f"{weights_path} does not match {json_path.name} (sha256 differs): the checkpoint was "
            "interrupted while being written or changed since; start without --resume."
        )
    tensors = load_safetensors(blob)
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, strict=True)
    slots: dict = {}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, idx, name = key.split(".", 2)
            slots.setdefault(int(idx), {})[name] = value
    for idx, extra in state.get("optimizer_scalars", {}).items():
        slots.setdefault(int(idx), {}).update(extra)
    optimizer.load_state_dict({"state": slots, "param_groups": state["optimizer_param_groups"]})
    # Optimizer tensors must sit beside their parameters (a CUDA run resumed on CUDA).
    device = next(model.parameters()).device
    for slot in optimizer.state.values():
        for key, value in slot.items():
            if torch.is_tensor(value) and key != "step":
                slot[key] = value.to(device)
    return state


def _json_safe(obj):
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    return obj


# --------------------------------------------------------------------------- helpers
def _better(monitor: str, new: float | None, best: float | None) -> bool:
    if new is None or not math.isfinite(new):
        return False
    if best is None:
        return True
    if any(key in monitor for key in _HIGHER_IS_BETTER):
        return new > best + 1e-12
    return new < best - 1e-12


def _epoch_seed(seed: int, epoch: int) -> int:
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(epoch), 0xE90C]).generate_state(1)[0])


def _bundle_config(config: TrainConfig, class_names, pixel_size_um, metrics=None):
    from ..models import BundleConfig

    return BundleConfig(
        task=config.task,
        backbone=config.backbone,
        input_size=config.input_size,
        class_names=tuple(class_names),
        in_chans=config.in_chans,
        pixel_size_um=pixel_size_um,
        tiling=config.tiling,
        intensity=config.intensity,
        metrics=dict(metrics or {}),
        description=(
            f"Trained by napari-msc-morph on {config.task} ({config.backbone}, {config.input_size} px"
            + (f", fields read at 1/{config.downscale} resolution" if config.downscale > 1 else "")
            + ")."
        ),
    )


def prepare_table(manifest, config: TrainConfig, check_readable: bool = True) -> tuple[pd.DataFrame, tuple]:
    """Load and validate ``manifest`` for ``config`` and give it a ``split`` column.

    Returns ``(table, class_names)``. Raises :class:`ManifestError` listing
    every offending row, including classes absent from the training split.
    """
    from ..models import get_task

    task = get_task(config.task)
    source = manifest if not isinstance(manifest, pd.DataFrame) else "manifest table"
    table = load_manifest(manifest)
    class_names = resolve_class_names(table, task, config.class_names)
    validate_manifest(
        table, class_names, group_column=config.split_by, check_readable=check_readable,
        source=source,
    )
    table = assign_splits(table, split_by=config.split_by, val=config.val, test=config.test, seed=config.seed)
    problems = missing_class_problems(table, class_names)
    if problems:
        raise ManifestError(source, problems)
    return table, tuple(class_names)


# --------------------------------------------------------------------------- train
def train(
    manifest,
    config: TrainConfig,
    bundle_path,
    work_dir=None,
    resume: bool = False,
    progress: Callable[[dict], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train a model on a manifest and write it as a bundle.

    Parameters
    ----------
    manifest : path or DataFrame
        Manifest CSV/TSV/XLSX, folder-per-class root, or a table with
        ``path``, ``label``, ``donor`` (see :mod:`napari_msc_morph.training.data`).
    config : TrainConfig
    bundle_path : path
        Where the bundle goes (a folder, or a ``.zip``); rewritten whenever the
        monitored validation metric improves, so an interrupted run leaves the
        best epoch so far.
    work_dir : path, optional
        Checkpoints, ``split.csv``, ``history.csv``; default ``<bundle>.train``.
    resume : bool
        Continue from ``work_dir``'s checkpoint (same manifest, task, backbone,
        classes and split; more ``epochs`` may be given).
    progress : callable, optional
        Called with event dicts: ``{"kind": "load", "done", "total"}``,
        ``{"kind": "batch", "epoch", "batch", "batches", "loss"}`` and
        ``{"kind": "epoch", "epoch", "epochs", **history row}``.
    cancel : callable, optional
        Polled after every batch and epoch; when it returns True the run stops,
        keeping the last checkpoint and the best bundle so far.

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> config = TrainConfig(task="osteogenic", backbone="resnet10t", input_size=64, epochs=2)
    >>> result = train("manifest.csv", config, "osteo-model")  # doctest: +SKIP
    >>> result.metrics["val_auc"]  # doctest: +SKIP
    0.93
    """
    import torch

    from ..models import create_backbone, resolve_device, save_bundle

    bundle_path = Path(bundle_path)
    work_dir = Path(work_dir) if work_dir is not None else default_work_dir(bundle_path)
    emit = progress or (lambda event: None)
    should_stop = cancel or (lambda: False)

    # -- data and split ---------------------------------------------------------
    if resume:
        saved = _read_saved_config(work_dir)
        _check_resume_compatible(saved, config)
    table, class_names = prepare_table(manifest, config)
    split_file = work_dir / "split.csv"
    if resume and split_file.is_file():
        table = _apply_saved_split(table, split_file)
    work_dir.mkdir(parents=True, exist_ok=True)
    write_split(table, split_file, split_by=config.split_by)
    write_json(config.to_dict(), work_dir / "train_config.json")

    class_index = {c: i for i, c in enumerate(class_names)}
    train_rows = table[table["split"] == "train"].reset_index(drop=True)
    val_rows = table[table["split"] == "val"].reset_index(drop=True)

    device = resolve_device(config.device)
    on_cuda = device.startswith("cuda")
    probe = _bundle_config(config, class_names, None)
    from ._inputs import prepare_training_field

    # Training crops are cut from raw fields and scaled with limits fitted on the
    # whole field, as prediction does; validation fields go through the
    # prediction engine itself.
    prepared, sizes = _load_fields(train_rows, config, emit, lambda d: prepare_training_field(d, probe))
    train_fields = [f for f, _ in prepared]
    normalizers = [n for _, n in prepared]
    val_fields, val_sizes = _load_fields(val_rows, config, emit)
    pixel_size = _pixel_size(sizes + val_sizes)
    small = [p for p, f in zip(train_rows["path"], train_fields) if min(f.shape[:2]) < config.input_size]
    if small:
        warnings.warn(
            f"{len(small)} training field(s) (e.g. {Path(small[0]).name}) are smaller than the "
            f"{config.input_size} px crop at this resolution; their crops are mirrored at the edges. "
            "Use a smaller --input-size or a lower downscale.",
            stacklevel=2,
        )

    # -- network and optimiser --------------------------------------------------
    torch.manual_seed(int(config.seed))
    model = create_backbone(config.backbone, len(class_names), in_chans=config.in_chans,
                            pretrained=config.pretrained)
    model.to(device)
    if on_cuda and config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    preset = OPTIMIZER_PRESETS[config.optimizer]
    if config.optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
        scheduler = None
    else:
        optimizer = torch.optim.SGD(
            model.parameters(), lr=config.learning_rate, momentum=preset["momentum"],
            weight_decay=config.weight_decay,
        )
        mode = "max" if any(k in config.monitor for k in _HIGHER_IS_BETTER) else "min"
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode=mode, factor=preset["plateau_factor"], patience=config.plateau_patience
        )
    use_amp = bool(config.amp and on_cuda)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    loss_fn = torch.nn.CrossEntropyLoss()

    history: list[dict] = []
    best_value, best_epoch, stale = None, None, 0
    start_epoch = 0
    if resume:
        state = _load_checkpoint(work_dir, model, optimizer)
        start_epoch = int(state["epoch"]) + 1
        history = list(state.get("history", []))
        best_value, best_epoch = state.get("best_value"), state.get("best_epoch")
        stale = int(state.get("stale", 0))
        if scheduler is not None and state.get("scheduler"):
            scheduler.load_state_dict(state["scheduler"])
        if use_amp and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])

    dataset = CropDataset(train_fields, normalizers, [class_index[c] for c in train_rows["label"]], config)
    max_samples = None if config.max_train_batches is None else config.max_train_batches * config.batch_size
    sampler = EpochSampler(len(dataset), config.seed, max_samples)
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=config.batch_size,
        sampler=sampler,
        num_workers=config.num_workers,
        persistent_workers=config.num_workers > 0,
        pin_memory=on_cuda,
        drop_last=len(sampler) > config.batch_size,
    )
    val_targets = np.array([class_index[c] for c in val_rows["label"]], dtype=np.int64)
    val_days = val_rows["day"].to_numpy() if "day" in val_rows.columns else None

    cancelled = False
    bundle_written = Path(bundle_path).exists() and resume
    epoch = start_epoch
    try:
        for epoch in range(start_epoch, config.epochs):
            if config.early_stopping is not None and stale >= config.early_stopping:
                break
            torch.manual_seed(_epoch_seed(config.seed, epoch))
            sampler.epoch = epoch
            model.train()
            t0 = time.perf_counter()
            n_seen, loss_sum, correct = 0, 0.0, 0
            n_batches = len(loader)
            for b, (x, y) in enumerate(loader):
                x = x.to(device, non_blocking=True)
                y = y.to(device, non_blocking=True)
                if on_cuda and config.channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                optimizer.zero_grad(set_to_none=True)
                with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=use_amp):
                    logits = model(x)
                    loss = loss_fn(logits, y)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                n_seen += int(y.shape[0])
                loss_sum += float(loss.detach()) * int(y.shape[0])
                correct += int((logits.detach().argmax(1) == y).sum())
                emit({"kind": "batch", "epoch": epoch + 1, "batch": b + 1, "batches": n_batches,
                      "loss": float(loss.detach())})
                if should_stop():
                    raise TrainingCancelled
            seconds = time.perf_counter() - t0
            row = {
                "epoch": epoch + 1,
                "train_loss": loss_sum / max(n_seen, 1),
                "train_accuracy": correct / max(n_seen, 1),
                "lr": float(optimizer.param_groups[0]["lr"]),
                "train_seconds": seconds,
                "samples_per_s": n_seen / seconds if seconds > 0 else float("nan"),
            }
            if len(val_rows):
                from .evaluate import predict_fields

                probs = predict_fields(model, probe, val_fields, device=device)
                row.update(_val_metrics(probe.task_spec, val_targets, probs, val_days))
            history.append(row)
            monitor = config.monitor if len(val_rows) or not config.monitor.startswith("val_") else "train_loss"
            value = row.get(monitor)
            if monitor not in row:
                raise ValueError(
                    f"monitor {config.monitor!r} is not a metric of this task; choose one of "
                    f"{', '.join(k for k in row if k.startswith(('val_', 'train_')))}."
                )
            if scheduler is not None and value is not None and math.isfinite(value):
                scheduler.step(value)
            if _better(monitor, value, best_value):
                best_value, best_epoch, stale = value, epoch + 1, 0
                metrics = _bundle_metrics(row, history, table, config, best_epoch, monitor)
                save_bundle(model, _bundle_config(config, class_names, pixel_size, metrics), bundle_path)
                bundle_written = True
            else:
                stale += 1
            _save_checkpoint(work_dir, model, optimizer, {
                "epoch": epoch,
                "history": history,
                "best_value": best_value,
                "best_epoch": best_epoch,
                "stale": stale,
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "scaler": scaler.state_dict() if use_amp else None,
                "config": config.to_dict(),
            })
            write_table(pd.DataFrame(history), work_dir / "history.csv")
            emit({"kind": "epoch", "epochs": config.epochs, **row})
            if should_stop():
                raise TrainingCancelled
    except TrainingCancelled:
        cancelled = True

    history_table = pd.DataFrame(history)
    metrics: dict = {}
    if bundle_written:
        from ..models import read_bundle_config

        metrics = read_bundle_config(bundle_path).metrics
        # The history grows after the best epoch: keep model.json's curves complete.
        if history and metrics.get("epochs_trained") != len(history):
            _update_bundle_metrics(bundle_path, {"history": _history_lists(history),
                                                 "epochs_trained": len(history)})
            metrics = read_bundle_config(bundle_path).metrics
    return TrainResult(
        bundle_path=bundle_path if bundle_written else None,
        work_dir=work_dir,
        history=history_table,
        metrics=metrics,
        split=table,
        best_epoch=best_epoch,
        cancelled=cancelled,
    )


def _val_metrics(task, targets, probs, days) -> dict:
    from .metrics import task_metrics

    eps = 1e-7
    nll = float(-np.mean(np.log(np.clip(probs[np.arange(len(targets)), targets], eps, 1.0))))
    found = task_metrics(task, targets, probs, days=days, n_boot=0)
    out = {"val_loss": nll}
    for key, value in found.items():
        if isinstance(value, (int, float)) and key not in ("n_images", "threshold") and not key.startswith("auc_ci95"):
            out[f"val_{key}"] = float(value)
    return out


def _history_lists(history: list[dict]) -> dict:
    keys = [k for k in history[0] if k not in ("train_seconds",)]
    return {k: [_json_safe(r.get(k)) for r in history] for k in keys}


def _bundle_metrics(row, history, table, config, best_epoch, monitor) -> dict:
    """model.json ``metrics``: the best epoch's numbers, the split, the curves."""
    metrics = {k: v for k, v in row.items() if k not in ("epoch", "train_seconds")}
    metrics.update({
        "best_epoch": best_epoch,
        "epochs_trained": len(history),
        "monitor": monitor,
        "split_by": config.split_by or "image",
        "n_images": {s: int((table["split"] == s).sum()) for s in ("train", "val", "test")},
        "history": _history_lists(history),
        "seed": config.seed,
        "optimizer": config.optimizer,
        "learning_rate": config.learning_rate,
        "downscale": config.downscale,
        "crops_per_field": config.crops_per_field,
    })
    if config.split_by and config.split_by in table.columns:
        metrics["n_groups"] = {
            s: int(table.loc[table["split"] == s, config.split_by].nunique()) for s in ("train", "val", "test")
        }
    return _json_safe(metrics)


def _update_bundle_metrics(bundle_path, extra: dict) -> None:
    """Merge ``extra`` into a bundle's ``model.json`` metrics (weights untouched)."""
    from ..models import load_bundle, save_bundle

    bundle = load_bundle(bundle_path)
    config = bundle.config
    config.metrics = {**config.metrics, **_json_safe(extra)}
    config.model_id = config.model_id  # keep the id
    save_bundle(bundle.model, config, bundle_path)


def _read_saved_config(work_dir: Path) -> dict:
    path = work_dir / "train_config.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"Nothing to resume in {work_dir}: no train_config.json. Start without --resume."
        )
    return json.loads(path.read_text())


def _check_resume_compatible(saved: dict, config: TrainConfig) -> None:
    keys = ("task", "backbone", "input_size", "in_chans", "downscale", "seed", "optimizer",
            "batch_size", "crops_per_field", "split_by")
    now = config.to_dict()
    differ = [f"{k} ({saved.get(k)!r} -> {now.get(k)!r})" for k in keys if saved.get(k) != now.get(k)]
    if differ:
        raise ValueError(
            "--resume needs the same settings as the interrupted run; these differ: "
            + ", ".join(differ) + ". Change them back, or start a new run without --resume."
        )


def _apply_saved_split(table: pd.DataFrame, split_file: Path) -> pd.DataFrame:
    saved = pd.read_csv(split_file)
    mapping = dict(zip(saved["path"].astype(str), saved["split"].astype(str)))
    missing = [p for p in table["path"] if p not in mapping]
    if missing:
        raise ValueError(
            f"--resume: {len(missing)} manifest image(s) (e.g. {missing[0]}) are not in the "
            f"interrupted run's {split_file.name}; resume with the same manifest."
        )
    table = table.copy()
    table["split"] = [mapping[p] for p in table["path"]]
    return table
