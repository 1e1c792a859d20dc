"""Optimisers and learning-rate schedules, each defined once in a registry."""

from __future__ import annotations

import math

from ..registry import Registry

__all__ = [
    "CLASS_WEIGHTS",
    "MONITOR_MODES",
    "OPTIMIZERS",
    "SCHEDULERS",
    "build_optimizer",
    "build_scheduler",
    "class_weight_values",
    "monitor_mode",
    "schedule_warnings",
    "step_scheduler",
]

OPTIMIZERS: Registry = Registry("optimizer")
SCHEDULERS: Registry = Registry("scheduler")

#: How a monitored metric improves, by a word in its name (ReduceLROnPlateau's
#: ``mode``); a metric named by none of them (a loss, an error) improves by
#: getting smaller.
MONITOR_MODES = {"accuracy": "max", "auc": "max", "f1": "max"}


def monitor_mode(monitor: str) -> str:
    """``"max"`` if a larger ``monitor`` (``val_auc``) is better, ``"min"`` if smaller (``val_loss``)."""
    return next((mode for word, mode in MONITOR_MODES.items() if word in monitor), "min")


# --------------------------------------------------------------------------- optimisers
@OPTIMIZERS.register("adam", help="Adam, lr 1e-5 (the tissue-source study)", lr=1e-5,
                     scheduler="none")
def _adam(params, config):
    import torch

    return torch.optim.Adam(params, lr=config.learning_rate, weight_decay=config.weight_decay)


@OPTIMIZERS.register("sgd", help="SGD with momentum 0.9, lr 1e-3, divided by 10 on a plateau",
                     lr=1e-3, scheduler="plateau", momentum=0.9)
def _sgd(params, config):
    import torch

    return torch.optim.SGD(params, lr=config.learning_rate, momentum=config.resolved_momentum,
                           weight_decay=config.weight_decay)


# --------------------------------------------------------------------------- schedules
@SCHEDULERS.register("none", help="constant learning rate", steps_on="epoch")
def _constant(optimizer, config):
    return None


@SCHEDULERS.register("plateau", steps_on="metric",
                     help="divide the learning rate by 10 after `plateau_patience` epochs "
                          "without a better monitored metric")
def _plateau(optimizer, config):
    import torch

    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode=monitor_mode(config.monitor), factor=0.1,
        patience=config.plateau_patience)


@SCHEDULERS.register("cosine", help="cosine decay to 0 over the run's epochs", steps_on="epoch")
def _cosine(optimizer, config):
    import torch

    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)


def schedule_warnings(config) -> list[str]:
    """Why a plateau schedule of ``config`` could never lower the rate (early stop or epoch cap first)."""
    if config.scheduler != "plateau":
        return []
    patience = config.plateau_patience
    found = []
    if config.early_stopping is not None and config.early_stopping <= patience:
        found.append(
            f"early stopping after {config.early_stopping} epochs without a better "
            f"{config.monitor} (--patience) ends the run before the plateau schedule lowers the "
            f"rate (after {patience} such epochs, --plateau-patience): the schedule never acts. "
            "Give --patience above --plateau-patience, or 0 to turn early stopping off.")
    if config.epochs <= patience:
        found.append(
            f"{config.epochs} epochs (--epochs) are too few for the plateau schedule to lower the "
            f"rate even once (after {patience} epochs without improvement, --plateau-patience).")
    return found


def build_optimizer(config, params):
    """The optimiser :class:`~napari_msc_morph.training.config.TrainConfig` names."""
    return OPTIMIZERS.get(config.optimizer)(params, config)


def build_scheduler(config, optimizer):
    """The schedule ``config.scheduler`` names, or ``None`` for a constant rate."""
    return SCHEDULERS.get(config.scheduler)(optimizer, config)


def step_scheduler(config, scheduler, monitored: float | None) -> None:
    """Advance ``scheduler`` at the end of an epoch (metric-driven ones need a finite value)."""
    if scheduler is None:
        return
    if SCHEDULERS.entry(config.scheduler).extra.get("steps_on") == "metric":
        if monitored is not None and math.isfinite(monitored):
            scheduler.step(monitored)
    else:
        scheduler.step()


# --------------------------------------------------------------------------- class weights
#: How the cross-entropy loss weighs the classes (``--class-weights``): an
#: entry returns per-class weights in ``class_names`` order from the training
#: labels, or ``None`` (all weights 1).
CLASS_WEIGHTS: Registry = Registry("class weighting")


@CLASS_WEIGHTS.register("none", help="every image counts the same")
def _unweighted(labels, class_names) -> None:
    return None


@CLASS_WEIGHTS.register("balanced", help="every class counts the same, whatever its frequency")
def _balanced(labels, class_names) -> list[float]:
    # n / (k * n_c), scikit-learn's "balanced", except that a class without
    # training images gets 0 (compute_class_weight refuses such a class)
    labels = [str(v) for v in labels]
    counts = [labels.count(str(c)) for c in class_names]
    n, k = len(labels), len(class_names)
    return [n / (k * c) if c else 0.0 for c in counts]


def class_weight_values(labels, class_names, mode: str = "none") -> list[float] | None:
    """Per-class loss weights: ``"balanced"``: ``n / (k * n_c)`` (0 without images); ``"none"``: ``None``.

    Examples
    --------
    >>> class_weight_values(["a", "a", "a", "b"], ["a", "b"], "balanced")
    [0.6666666666666666, 2.0]
    """
    return CLASS_WEIGHTS.get(mode or "none")(labels, class_names)
