"""Optimisers and learning-rate schedules, each defined once in a registry.

:data:`OPTIMIZERS` and :data:`SCHEDULERS` feed ``msc-morph train``'s
``--optimizer``/``--scheduler`` choices, the Train widget's combo boxes and the
docs table, so adding an optimiser is one ``@OPTIMIZERS.register`` here.

An optimiser entry builds ``torch.optim`` from ``(params, lr, weight_decay)``
and carries its default learning rate (``lr``) and schedule (``scheduler``)
as data: the studies used Adam at 1e-5 (passage study) and SGD at 1e-3 with
momentum, divided by 10 when validation stops improving.

A scheduler entry builds a schedule from ``(optimizer, config)`` and says
whether it steps on the monitored metric (``steps_on="metric"``) or once per
epoch (``steps_on="epoch"``).
"""

from __future__ import annotations

import math

from ..registry import Registry

__all__ = [
    "OPTIMIZERS",
    "SCHEDULERS",
    "build_optimizer",
    "build_scheduler",
    "class_weight_values",
    "higher_is_better",
    "step_scheduler",
]

OPTIMIZERS: Registry = Registry("optimizer")
SCHEDULERS: Registry = Registry("scheduler")

#: Monitored metrics where larger is better (anything else: smaller is better).
_HIGHER_IS_BETTER = ("accuracy", "auc", "f1")


def higher_is_better(monitor: str) -> bool:
    """Whether a larger value of ``monitor`` (``val_auc``, ``val_loss`` ...) is better."""
    return any(key in monitor for key in _HIGHER_IS_BETTER)


# --------------------------------------------------------------------------- optimisers
@OPTIMIZERS.register("adam", help="Adam, lr 1e-5 (the tissue-source study)", lr=1e-5,
                     scheduler="none")
def _adam(params, lr: float, weight_decay: float, momentum: float | None = None):
    import torch

    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


@OPTIMIZERS.register("sgd", help="SGD with momentum 0.9, lr 1e-3, divided by 10 on a plateau",
                     lr=1e-3, scheduler="plateau", momentum=0.9)
def _sgd(params, lr: float, weight_decay: float, momentum: float | None = None):
    import torch

    return torch.optim.SGD(params, lr=lr, momentum=0.9 if momentum is None else momentum,
                           weight_decay=weight_decay)


# --------------------------------------------------------------------------- schedules
@SCHEDULERS.register("none", help="constant learning rate", steps_on="epoch")
def _constant(optimizer, config):
    return None


@SCHEDULERS.register("plateau", steps_on="metric",
                     help="divide the learning rate by 10 after `plateau_patience` epochs "
                          "without a better monitored metric")
def _plateau(optimizer, config):
    import torch

    mode = "max" if higher_is_better(config.monitor) else "min"
    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode=mode, factor=0.1, patience=config.plateau_patience
    )


@SCHEDULERS.register("cosine", help="cosine decay to 0 over the run's epochs", steps_on="epoch")
def _cosine(optimizer, config):
    import torch

    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)


def build_optimizer(config, params):
    """The optimiser :class:`~napari_msc_morph.training.config.TrainConfig` names."""
    return OPTIMIZERS.get(config.optimizer)(params, config.learning_rate, config.weight_decay,
                                            momentum=config.resolved_momentum)


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


def class_weight_values(labels, class_names, mode: str = "none") -> list[float] | None:
    """Per-class weights of the cross-entropy loss, in ``class_names`` order.

    ``mode="balanced"``: ``n / (k * n_c)`` for ``n`` training images, ``k``
    classes and ``n_c`` images of class ``c`` (scikit-learn's "balanced"), so
    every class contributes equally to the loss whatever its frequency; a class
    without training images gets 0. ``"none"``: ``None`` (all weights 1).

    Examples
    --------
    >>> class_weight_values(["a", "a", "a", "b"], ["a", "b"], "balanced")
    [0.6666666666666666, 2.0]
    """
    if mode in (None, "none"):
        return None
    if mode != "balanced":
        raise ValueError(f"unknown class weighting {mode!r}")
    labels = [str(v) for v in labels]
    counts = [labels.count(str(c)) for c in class_names]
    n, k = len(labels), len(class_names)
    return [n / (k * c) if c else 0.0 for c in counts]
