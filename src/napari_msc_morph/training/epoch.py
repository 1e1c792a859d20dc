"""One epoch: a pass of optimisation over the crop batches, then validation."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..jobs import CancelToken, check_cancelled
from ._inputs import predict_fields
from .metrics import task_metrics
from .optim import monitor_mode

__all__ = ["Optimisation", "epoch_seed", "is_better", "train_one_epoch", "validation_metrics"]


@dataclass
class Optimisation:
    """What one training step needs: the network and how it is updated.

    ``step_model`` is what the steps run through (the DDP wrapper under torchrun, else
    ``model``); ``sum_over_processes`` adds the epoch's totals over processes.
    """

    model: object
    optimizer: object
    scheduler: object
    scaler: object
    loss_fn: object
    device: str
    use_amp: bool = False
    channels_last: bool = False
    step_model: object = None
    sum_over_processes: Callable[[list], list] = list


def epoch_seed(seed: int, epoch: int) -> int:
    """Torch's seed for ``epoch``: a resumed run draws what an uninterrupted one draws."""
    entropy = [int(seed) & 0xFFFFFFFF, int(epoch), 0xE90C]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def train_one_epoch(
    opt: Optimisation,
    loader,
    *,
    on_batch: Callable[[int, int, float], None] | None = None,
    cancel: CancelToken | None = None,
) -> dict:
    """One pass over ``loader``; ``on_batch(batch, batches, loss)`` after every batch.

    Returns the history row's training part (``train_loss``, ``train_accuracy``,
    ``train_samples``, ``lr``, ``train_seconds``, ``samples_per_s``).
    """
    import torch

    model, device = opt.step_model or opt.model, opt.device
    model.train()
    started = time.perf_counter()
    n_seen, loss_sum, correct = 0, 0.0, 0
    n_batches = len(loader)
    for b, (x, y) in enumerate(loader):
        x = x.to(device, non_blocking=True)
        y = y.to(device, non_blocking=True)
        if opt.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        opt.optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=opt.use_amp):
            logits = model(x)
            loss = opt.loss_fn(logits, y)
        opt.scaler.scale(loss).backward()
        opt.scaler.step(opt.optimizer)
        opt.scaler.update()
        batch_loss = float(loss.detach())
        n_seen += int(y.shape[0])
        loss_sum += batch_loss * int(y.shape[0])
        correct += int((logits.detach().argmax(1) == y).sum())
        if on_batch is not None:
            on_batch(b + 1, n_batches, batch_loss)
        check_cancelled(cancel, "Training cancelled.")
    seconds = time.perf_counter() - started
    # all processes' crops: the global epoch
    loss_sum, correct, n_seen = opt.sum_over_processes([loss_sum, correct, n_seen])
    return {
        "train_loss": loss_sum / max(n_seen, 1),
        "train_accuracy": correct / max(n_seen, 1),
        "train_samples": int(n_seen),
        "lr": float(opt.optimizer.param_groups[0]["lr"]),
        "train_seconds": seconds,
        "samples_per_s": n_seen / seconds if seconds > 0 else float("nan"),
    }


def validation_metrics(model, bundle_config, fields, targets, days, device: str) -> dict:
    """``val_loss`` (mean NLL) and the task's metrics as ``val_*``, on whole fields as at prediction."""
    probs = predict_fields(model, bundle_config, fields, device=device)
    eps = 1e-7
    picked = probs[np.arange(len(targets)), targets]
    out = {"val_loss": float(-np.mean(np.log(np.clip(picked, eps, 1.0))))}
    found = task_metrics(bundle_config.task_spec, targets, probs, days=days, n_boot=0)
    out.update({f"val_{key}": float(value) for key, value in found.items()
                if isinstance(value, (int, float)) and key not in ("n_images", "threshold")
                and not key.startswith("auc_ci95")})
    return out


def is_better(monitor: str, new: float | None, best: float | None) -> bool:
    """Whether ``new`` beats ``best`` on ``monitor`` (a finite value beats none)."""
    if new is None or not math.isfinite(new):
        return False
    if best is None:
        return True
    if monitor_mode(monitor) == "max":
        return new > best + 1e-12
    return new < best - 1e-12
