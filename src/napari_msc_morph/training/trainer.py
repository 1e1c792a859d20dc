"""The training driver: manifest in, model bundle and test report out.

Its files, resume and torchrun behaviour are described in docs/training.md. Every
epoch reseeds torch from ``(seed, epoch)`` and each crop from ``(seed, epoch,
sample)``, so a CPU run gives the same weights whether or not it was resumed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import BadInputError, Cancelled
from ..io import write_json, write_table
from ..jobs import CancelToken, ProgressFn, check_cancelled, report, scaled
from . import distributed
from ._inputs import prepare_training_field
from .bundle_record import bundle_config_for, bundle_metrics, history_lists, update_bundle_metrics
from .calibration import calibrate_bundle
from .checkpoint import (
    apply_saved_split,
    check_resume_compatible,
    load_checkpoint,
    read_saved_config,
    save_checkpoint,
)
from .config import TrainConfig, TrainResult, default_work_dir
from .epoch import Optimisation, epoch_seed, is_better, train_one_epoch, validation_metrics
from .evaluate import evaluate_model
from .integrity import split_warnings
from .network_checks import check_network_takes_crops, check_weights_finite
from .optim import (
    build_optimizer,
    build_scheduler,
    class_weight_values,
    schedule_warnings,
    step_scheduler,
)
from .pipeline import (
    CropDataset,
    consensus_pixel_size,
    load_fields,
    make_loader,
    prepare_table,
    warn_small_fields,
)
from .recipes import config_provenance
from .splits import write_split

__all__ = ["train_model"]

logger = logging.getLogger(__name__)

#: Share of the progress bar the test report takes (the rest: reading and epochs).
_REPORT_SHARE = 0.1


@dataclass
class _RunState:
    """Where the run stands: what the bundle, checkpoints and early stopping need."""

    history: list = field(default_factory=list)
    best_value: float | None = None
    best_epoch: int | None = None
    stale: int = 0
    start_epoch: int = 0
    bundle_written: bool = False
    warnings: list = field(default_factory=list)
    pretrained_source: str = "none (trained from scratch)"
    dist: distributed.DistContext = field(default_factory=distributed.DistContext)
    #: what model.json records about the run beyond bundle_metrics (class weights, processes)
    record: dict = field(default_factory=dict)


@dataclass
class _Data:
    """The run's fields in memory and what is derived from them."""

    loader: object
    val_fields: list
    val_targets: np.ndarray
    val_days: np.ndarray | None
    pixel_size_um: float | None


def train_model(
    manifest,
    config: TrainConfig,
    bundle_path,
    *,
    work_dir=None,
    resume: bool = False,
    test_report: bool = True,
    report_dir=None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    on_epoch: Callable[[dict], None] | None = None,
    dedupe: bool = False,
) -> TrainResult:
    """Train a model on a manifest, write it as a bundle, and report on the test split.

    Parameters
    ----------
    manifest : path or DataFrame
        Manifest CSV/TSV/XLSX, folder-per-class root, or a table (:mod:`.data`).
    config : TrainConfig
    bundle_path : path
        The bundle (folder or ``.zip``), rewritten whenever the monitored metric improves.
    work_dir : path, optional
        Checkpoints, ``split.csv``, ``history.csv``; default ``<bundle>.train``.
    resume : bool
        Continue from ``work_dir``'s checkpoint (same manifest, task, backbone, classes).
    test_report : bool
        Evaluate the best epoch on the test split and add ``test_*`` to ``model.json``.
    report_dir : path, optional
        Where the test report goes; default ``work_dir / "report"``.
    progress : callable, optional
        ``progress(done, total, message)``: reading images, every batch, the test images.
    cancel : CancelToken, optional
        A cancelled run keeps its checkpoint and best bundle, then raises
        ``Cancelled`` whose ``result`` is the :class:`TrainResult` so far.
    on_epoch : callable, optional
        ``on_epoch(row)`` with each finished epoch's history row (plus ``epochs``).
    dedupe : bool
        Keep the first of rows showing the same image instead of refusing them.

    Returns
    -------
    TrainResult
    """
    from ..models import create_backbone, resolve_device
    from ..models.backbones import pretrained_source

    bundle_path = Path(bundle_path)
    work_dir = Path(work_dir) if work_dir is not None else default_work_dir(bundle_path)
    # before any work: pretrained weights wanted but unavailable offline is an error now
    source = pretrained_source(config.backbone, config.pretrained, config.weights)
    # and before any file is written: can this backbone train on these crops and batches?
    probe = create_backbone(config.backbone, 2, in_chans=config.in_chans, pretrained=False)
    check_network_takes_crops(probe, config, "cpu")
    ctx, device = distributed.setup(resolve_device(config.device))
    try:
        table, class_names = _prepare_run(manifest, config, work_dir, resume, dedupe, ctx)
        state = _RunState(bundle_written=resume and bundle_path.exists(),
                          warnings=_run_warnings(table, class_names, config),
                          pretrained_source=source, dist=ctx)
        try:
            _train(table, class_names, config, bundle_path, work_dir, resume, state,
                   progress, cancel, on_epoch, device)
        except Cancelled as err:
            err.result = _finish(state, table, bundle_path, work_dir, cancelled=True)
            logger.info("training cancelled after %d epoch(s)", len(state.history))
            raise
        if not ctx.is_main:  # rank 0 finishes the bundle and writes the report
            ctx.barrier()
            return TrainResult(bundle_path=bundle_path, work_dir=work_dir,
                               history=pd.DataFrame(state.history), metrics={}, split=table,
                               best_epoch=state.best_epoch)
        result = _finish(state, table, bundle_path, work_dir)
        if result.bundle_path is not None:
            try:
                # the temperature T fitted on the validation split
                calibrate_bundle(result.bundle_path, work_dir / "split.csv", device=config.device,
                                 downscale=config.downscale, cancel=cancel)
                if test_report and (table["split"] == "test").any():
                    _report_on_test_split(result, config, report_dir, progress, cancel)
            except Cancelled as err:
                result.cancelled = True
                err.result = result
                raise
        ctx.barrier()
        return result
    finally:
        ctx.close()


# --------------------------------------------------------------------------- steps
def _prepare_run(manifest, config: TrainConfig, work_dir: Path, resume: bool, dedupe: bool,
                 ctx: distributed.DistContext):
    """Validate and split the manifest; write ``split.csv`` and ``train_config.json`` (rank 0)."""
    if resume:
        check_resume_compatible(read_saved_config(work_dir), config)
    table, class_names = prepare_table(manifest, config, dedupe=dedupe)
    split_file = work_dir / "split.csv"
    if resume and split_file.is_file():
        table = apply_saved_split(table, split_file)
    if ctx.is_main:
        work_dir.mkdir(parents=True, exist_ok=True)
        write_split(table, split_file, split_by=config.split_by)
        write_json(config.to_dict(), work_dir / "train_config.json")
    return table, class_names


def _run_warnings(table, class_names, config: TrainConfig) -> list[str]:
    """Logged now, recorded in model.json: what weakens this split's numbers."""
    found = [f"--dedupe: {note}" for note in table.attrs.get("merged", [])]
    found += split_warnings(table, class_names, config.split_by)  # None: split by image
    found += schedule_warnings(config)
    if config.monitor.startswith("val_") and not (table["split"] == "val").any():
        found.append(f"no validation images: the best epoch, early stopping and the learning-rate "
                     f"schedule follow the training loss instead of {config.monitor}, and the "
                     "training loss always improves; give the manifest validation rows "
                     "(split 'val', or --val N donors) for a model chosen on unseen images.")
    for message in found[len(table.attrs.get("merged", [])):]:
        logger.warning("warning: %s", message)
    return found


def _build_optimisation(config: TrainConfig, n_classes: int, class_weights, device: str,
                        ctx: distributed.DistContext) -> Optimisation:
    import torch

    from ..models import create_backbone

    on_cuda = device.startswith("cuda")
    torch.manual_seed(int(config.seed))
    model = create_backbone(config.backbone, n_classes, in_chans=config.in_chans,
                            pretrained=config.pretrained, pretrained_file=config.weights)
    model.to(device)
    channels_last = on_cuda and config.channels_last
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(config, model.parameters())
    use_amp = bool(config.amp and on_cuda)
    weight = None if class_weights is None else torch.tensor(class_weights, dtype=torch.float32,
                                                             device=device)
    return Optimisation(
        model=model, optimizer=optimizer, scheduler=build_scheduler(config, optimizer),
        scaler=torch.amp.GradScaler("cuda", enabled=use_amp),
        loss_fn=torch.nn.CrossEntropyLoss(weight=weight), device=device, use_amp=use_amp,
        channels_last=channels_last, step_model=distributed.wrap(model, ctx, device),
        sum_over_processes=ctx.sum,
    )


def _load_data(table, class_names, config: TrainConfig, probe, pin_memory: bool,
               progress, cancel, ctx: distributed.DistContext) -> _Data:
    """Read the train and validation fields; build the crop loader."""
    train_rows = table[table["split"] == "train"].reset_index(drop=True)
    val_rows = table[table["split"] == "val"].reset_index(drop=True)
    total = len(train_rows) + len(val_rows)
    prepared, sizes = load_fields(
        train_rows["path"], config.downscale, lambda d: prepare_training_field(d, probe),
        progress=progress, cancel=cancel, total=total)
    train_fields = [f for f, _ in prepared]
    val_fields, val_sizes = load_fields(val_rows["path"], config.downscale, progress=progress,
                                        cancel=cancel, done=len(train_rows), total=total)
    warn_small_fields(train_rows["path"], train_fields, config.input_size)
    class_index = {c: i for i, c in enumerate(class_names)}
    dataset = CropDataset(train_fields, [n for _, n in prepared],
                          [class_index[c] for c in train_rows["label"]], config)
    return _Data(
        loader=make_loader(dataset, config, pin_memory, ctx.rank, ctx.world_size),
        val_fields=val_fields,
        val_targets=np.array([class_index[c] for c in val_rows["label"]], dtype=np.int64),
        val_days=val_rows["day"].to_numpy() if "day" in val_rows.columns else None,
        pixel_size_um=consensus_pixel_size(sizes + val_sizes),
    )


def _train(table, class_names, config: TrainConfig, bundle_path: Path, work_dir: Path,
           resume: bool, state: _RunState, progress, cancel, on_epoch, device: str) -> None:
    """Build the network and data, then run the epochs (updates ``state`` as it goes)."""
    import torch

    from ..models import normalization, save_bundle

    ctx = state.dist
    weights = class_weight_values(table.loc[table["split"] == "train", "label"], class_names,
                                  config.class_weights)
    state.record = {
        "class_weights": config.class_weights,
        "class_weight_values": None if weights is None else dict(zip(class_names, weights,
                                                                    strict=True)),
        "world_size": ctx.world_size,
        "global_batch_size": ctx.world_size * config.batch_size,
        # each recipe value: stated by the paper, Assumed, this tool's, or set for this run
        "provenance": config_provenance(config),
    }
    opt = _build_optimisation(config, len(class_names), weights, device, ctx)
    norm = normalization(opt.model, config.in_chans)  # timm's data config of this network
    probe = bundle_config_for(config, class_names, None, norm)
    train_share = 1.0 - _REPORT_SHARE if (table["split"] == "test").any() else 1.0
    span = int(round(1000 * train_share))
    n_fields = int(table["split"].isin(["train", "val"]).sum())
    data = _load_data(table, class_names, config, probe, opt.device.startswith("cuda"),
                      scaled(progress, 0, span // 10, 1000, ""), cancel, ctx)
    if resume:
        _restore(work_dir, opt, state)

    epochs_left = max(config.epochs - state.start_epoch, 1)
    n_batches = max(len(data.loader), 1)
    epochs_progress = scaled(progress, span // 10, span - span // 10, 1000, "")
    logger.info("training %s on %d fields for up to %d epoch(s) on %s", config.backbone,
                n_fields, config.epochs, opt.device)
    for epoch in range(state.start_epoch, config.epochs):
        if config.early_stopping is not None and state.stale >= config.early_stopping:
            logger.info("early stopping: %d epochs without a better %s", state.stale,
                        config.monitor)
            break
        torch.manual_seed(epoch_seed(config.seed, epoch))
        data.loader.sampler.set_epoch(epoch)
        done_before = (epoch - state.start_epoch) * n_batches

        def on_batch(b, n, loss, epoch=epoch, done_before=done_before):
            report(epochs_progress, done_before + b, epochs_left * n_batches,
                   f"epoch {epoch + 1}/{config.epochs}: batch {b}/{n}, loss {loss:.3f}")

        row = {"epoch": epoch + 1,
               **train_one_epoch(opt, data.loader, on_batch=on_batch, cancel=cancel)}
        check_weights_finite(opt.model, config, epoch + 1, opt.device)
        if len(data.val_fields) and ctx.is_main:
            row.update(validation_metrics(opt.model, probe, data.val_fields, data.val_targets,
                                          data.val_days, opt.device))
        row = ctx.share(row)  # every process decides the schedule and stopping alike
        state.history.append(row)
        monitor = _monitor(config, row, has_val=len(data.val_fields) > 0)
        value = row.get(monitor)
        step_scheduler(config, opt.scheduler, value)
        if is_better(monitor, value, state.best_value):
            state.best_value, state.best_epoch, state.stale = value, epoch + 1, 0
            metrics = bundle_metrics(row, state.history, table, config, state.best_epoch,
                                     monitor, pretrained_source=state.pretrained_source)
            metrics.update(warnings=list(state.warnings), **state.record)
            if ctx.is_main:
                save_bundle(opt.model, bundle_config_for(config, class_names, data.pixel_size_um,
                                                         norm, metrics), bundle_path)
            state.bundle_written = True
        else:
            state.stale += 1
        if ctx.is_main:
            _checkpoint(work_dir, opt, state, epoch, config)
        logger.info("epoch %d/%d: %s", epoch + 1, config.epochs, _summary(row))
        report(epochs_progress, (epoch + 1 - state.start_epoch) * n_batches,
               epochs_left * n_batches, f"epoch {epoch + 1}/{config.epochs}: {_summary(row)}")
        if on_epoch is not None:
            on_epoch({**row, "epochs": config.epochs})
        check_cancelled(cancel, f"Training cancelled after epoch {epoch + 1}.")


def _restore(work_dir: Path, opt: Optimisation, state: _RunState) -> None:
    """Continue from the checkpoint: weights, optimiser, schedule, early-stopping state."""
    saved = load_checkpoint(work_dir, opt.model, opt.optimizer)
    state.start_epoch = int(saved["epoch"]) + 1
    state.history = list(saved.get("history", []))
    state.best_value, state.best_epoch = saved.get("best_value"), saved.get("best_epoch")
    state.stale = int(saved.get("stale", 0))
    if opt.scheduler is not None and saved.get("scheduler"):
        opt.scheduler.load_state_dict(saved["scheduler"])
    if opt.use_amp and saved.get("scaler"):
        opt.scaler.load_state_dict(saved["scaler"])


def _checkpoint(work_dir: Path, opt: Optimisation, state: _RunState, epoch: int,
                config: TrainConfig) -> None:
    save_checkpoint(work_dir, opt.model, opt.optimizer, {
        "epoch": epoch,
        "history": state.history,
        "best_value": state.best_value,
        "best_epoch": state.best_epoch,
        "stale": state.stale,
        "scheduler": opt.scheduler.state_dict() if opt.scheduler is not None else None,
        "scaler": opt.scaler.state_dict() if opt.use_amp else None,
        "config": config.to_dict(),
    })
    write_table(pd.DataFrame(state.history), work_dir / "history.csv")


def _monitor(config: TrainConfig, row: dict, has_val: bool) -> str:
    """The metric that picks the best epoch (``train_loss`` without a validation split)."""
    monitor = config.monitor if has_val or not config.monitor.startswith("val_") else "train_loss"
    if monitor not in row:
        choices = ", ".join(k for k in row if k.startswith(("val_", "train_")))
        raise BadInputError(
            f"monitor {config.monitor!r} is not a metric of this task; choose one of {choices}."
        )
    return monitor


def _summary(row: dict) -> str:
    parts = [f"loss {row['train_loss']:.3f}"]
    for key in ("val_loss", "val_accuracy", "val_within3_accuracy", "val_auc"):
        if row.get(key) is not None:
            parts.append(f"{key.replace('_', ' ')} {row[key]:.3f}")
    return ", ".join(parts)


def _finish(state: _RunState, table, bundle_path: Path, work_dir: Path,
            cancelled: bool = False) -> TrainResult:
    """The result; ``model.json``'s curves completed with epochs after the best one."""
    from ..models import read_bundle_config

    metrics: dict = {}
    if state.bundle_written:
        metrics = read_bundle_config(bundle_path).metrics
        if state.history and metrics.get("epochs_trained") != len(state.history):
            metrics = update_bundle_metrics(bundle_path, {
                "history": history_lists(state.history),
                "epochs_trained": len(state.history),
            })
    return TrainResult(
        bundle_path=bundle_path if state.bundle_written else None,
        work_dir=work_dir,
        history=pd.DataFrame(state.history),
        metrics=metrics,
        split=table,
        best_epoch=state.best_epoch,
        cancelled=cancelled,
    )


def _report_on_test_split(result: TrainResult, config: TrainConfig, report_dir,
                          progress, cancel) -> None:
    """Evaluate the best epoch on the test split; report files and ``test_*`` metrics."""
    out_dir = Path(report_dir) if report_dir is not None else result.work_dir / "report"
    start = int(round(1000 * (1.0 - _REPORT_SHARE)))
    evaluation = evaluate_model(
        result.bundle_path, result.work_dir / "split.csv", out_dir=out_dir, split="test",
        device=config.device, downscale=config.downscale, seed=config.seed,
        progress=scaled(progress, start, 1000 - start, 1000, "test split: "), cancel=cancel,
    )
    test = {f"test_{k}": v for k, v in evaluation.metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "downscale"}
    result.metrics = update_bundle_metrics(result.bundle_path, test)
    result.test_evaluation = evaluation
    result.report_files = dict(evaluation.files)
