"""Evaluation of a model on a manifest split, with the studies' protocols.

Each image is predicted exactly as ``msc-morph predict`` predicts it (same
preprocessing, same tiling, six-region averaging by default), then the task's
metrics are computed (:func:`napari_msc_morph.training.metrics.task_metrics`):
accuracy, top-k, within-interval accuracy (m = 3, 5; Eq. 2), confusion
matrix, macro F1 and calibration (ECE) for all tasks; ROC AUC with a 95 %
bootstrap interval, sensitivity/specificity at a threshold and AUC per day
for two-class tasks.

A report folder holds ``metrics.json``, ``predictions.csv`` (one row per
image) and PNG plots: ``learning_curves.png`` (from the bundle's training
history), ``confusion_matrix.png``, ``roc.png`` (two-class tasks, with one
curve per day when there are days) and ``reliability.png``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..io import write_json, write_table
from .data import load_field, load_manifest, validate_manifest

__all__ = ["Evaluation", "evaluate", "predict_fields", "write_report", "predictions_table"]


@dataclass
class Evaluation:
    """Result of :func:`evaluate`.

    Attributes
    ----------
    predictions : DataFrame
        One row per image: ``path``, ``label``, ``predicted``, ``correct``,
        ``p_<class>`` per class, the task's score, interval columns for
        ordinal tasks, and the manifest's donor/day/passage/condition/split.
    metrics : dict
        JSON-ready numbers (see :func:`~napari_msc_morph.training.metrics.task_metrics`).
    probabilities : ndarray, shape (n_images, n_classes)
    targets : ndarray of int
    task : TaskSpec
    history : dict or None
        The bundle's training curves, if it has them.
    """

    predictions: pd.DataFrame
    metrics: dict
    probabilities: np.ndarray
    targets: np.ndarray
    task: object
    history: dict | None = None
    extra: dict = field(default_factory=dict)


def predict_fields(model, config, fields, device: str = "cpu", tiling: str | None = None,
                   batch_size: int | None = None, precision: str | None = None,
                   progress=None) -> np.ndarray:
    """Probabilities ``(n_fields, n_classes)`` of raw fields, tiled as at prediction.

    Parameters
    ----------
    model : torch.nn.Module
    config : BundleConfig
        Preprocessing and default tiling.
    fields : iterable of ndarray
        Raw images at the model's resolution (2D gray or ``(H, W, 3)``); a
        generator keeps only one in memory.
    tiling : {"six", "grid", "center"}, optional
        Default: ``config.tiling``.
    precision : str, optional
        Float32 on a CPU by default; see :class:`~napari_msc_morph.inference.Predictor`.
    """
    from ._inputs import predict_probabilities

    was_training = model.training
    model.eval()
    try:
        return predict_probabilities(model, config, fields, device=device, tiling=tiling,
                                     batch_size=batch_size, precision=precision, progress=progress)
    finally:
        model.train(was_training)


def evaluate(
    model,
    manifest,
    split: str | None = "test",
    tiling: str | None = None,
    device: str = "auto",
    downscale: int | None = None,
    threshold: float = 0.5,
    n_boot: int = 2000,
    seed: int = 0,
    bootstrap_by: str | None = None,
    precision: str | None = None,
    progress: Callable[[dict], None] | None = None,
) -> Evaluation:
    """Predict every image of a manifest split and compute the task's metrics.

    Parameters
    ----------
    model : path or ModelBundle
        A bundle folder/``.zip`` or a loaded :class:`~napari_msc_morph.models.ModelBundle`.
    manifest : path or DataFrame
        A manifest, or the training run's ``split.csv``.
    split : {"test", "val", "train", "all"} or None
        Rows to evaluate; needs a ``split`` column unless ``"all"``/``None``.
    tiling : str, optional
        Override the bundle's tiling (``six``, ``grid``, ``center``).
    device : str
    downscale : int, optional
        Read images at ``1/downscale`` resolution; default: what the model was
        trained with (``metrics["downscale"]`` in ``model.json``, else 1).
    threshold : float
        Decision threshold on P(positive) for sensitivity/specificity.
    n_boot : int
        Bootstrap resamples for the AUC interval.
    seed : int
        Bootstrap seed.
    bootstrap_by : str, optional
        Manifest column to resample by (e.g. ``donor``) instead of images.
    precision : str, optional
        Inference precision; float32 on a CPU by default so that metrics are
        reproducible (``"auto"`` is what ``msc-morph predict`` uses).
    progress : callable, optional
        Called with ``{"kind": "predict", "done", "total"}``.

    Returns
    -------
    Evaluation
    """
    from ..models import ModelBundle, load_bundle, resolve_device
    from .metrics import task_metrics

    device = resolve_device(device)
    bundle = model if isinstance(model, ModelBundle) else load_bundle(model, device=device)
    config = bundle.config
    task = config.task_spec
    table = load_manifest(manifest)
    if split not in (None, "all"):
        if "split" not in table.columns or (table["split"] == "").all():
            raise ValueError(
                f"The manifest has no split column, so split {split!r} cannot be chosen; pass "
                "the training run's split.csv, add a split column, or evaluate split 'all'."
            )
        if split not in set(table["split"]):
            raise ValueError(
                f"The manifest has no images in split {split!r} (splits: "
                f"{', '.join(sorted(set(table['split']) - {''}))})."
            )
        table = table[table["split"] == split].reset_index(drop=True)
    validate_manifest(table, config.class_names, group_column=None, require_train_classes=False,
                      source=manifest if not isinstance(manifest, pd.DataFrame) else "manifest table")
    if downscale is None:
        downscale = int(config.metrics.get("downscale", 1) or 1)
    emit = progress or (lambda event: None)
    images = (load_field(path, downscale).data for path in table["path"])
    probs = predict_fields(
        bundle.model, config, images, device=device, tiling=tiling, precision=precision,
        progress=lambda done: emit({"kind": "predict", "done": done, "total": len(table)}),
    )
    index = {c: i for i, c in enumerate(config.class_names)}
    targets = np.array([index[c] for c in table["label"]], dtype=np.int64)
    days = table["day"].to_numpy() if "day" in table.columns else None
    groups = table[bootstrap_by].to_numpy() if bootstrap_by else None
    metrics = task_metrics(task, targets, probs, days=days, groups=groups, threshold=threshold,
                           n_boot=n_boot, seed=seed)
    metrics = {
        "split": split or "all",
        "tiling": tiling or config.tiling,
        "model_id": config.model_id,
        "task": config.task,
        "class_names": list(config.class_names),
        "downscale": downscale,
        **metrics,
    }
    if bootstrap_by:
        metrics["bootstrap_by"] = bootstrap_by
    predictions = predictions_table(table, task, probs)
    history = config.metrics.get("history") if isinstance(config.metrics.get("history"), dict) else None
    return Evaluation(predictions, metrics, probs, targets, task, history)


def predictions_table(table: pd.DataFrame, task, probs: np.ndarray) -> pd.DataFrame:
    """Per-image predictions with probabilities, score and intervals."""
    from ..inference.ordinal import interval_columns, task_score

    names = list(task.class_names)
    pred = probs.argmax(1)
    out = pd.DataFrame({
        "path": table["path"].to_numpy(),
        "label": table["label"].to_numpy(),
        "predicted": [names[i] for i in pred],
    })
    out["correct"] = out["label"] == out["predicted"]
    out["confidence"] = probs.max(1)
    for i, name in enumerate(names):
        out[f"p_{name}"] = probs[:, i]
    score = task_score(task, probs)
    if score is not None:
        out[task.score] = score
    if task.ordinal:
        rows = [interval_columns(task, p) for p in probs]
        for key in (rows[0] if rows else {}):
            out[key] = [r[key] for r in rows]
    for col in ("donor", "day", "passage", "condition", "split"):
        if col in table.columns:
            out[col] = table[col].to_numpy()
    return out


def write_report(evaluation: Evaluation, out_dir: str | os.PathLike, history=None) -> dict:
    """Write ``metrics.json``, ``predictions.csv`` and the PNG plots; return their paths."""
    from .metrics import positive_index, reliability_table, roc_curve
    from .plots import (
        plot_confusion_matrix,
        plot_learning_curves,
        plot_reliability,
        plot_roc,
        save_figure,
    )

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict = {}
    metrics = _json_safe(evaluation.metrics)
    paths["metrics"] = write_json(metrics, out_dir / "metrics.json")
    paths["predictions"] = write_table(evaluation.predictions, out_dir / "predictions.csv")
    task = evaluation.task
    history = history if history is not None else evaluation.history
    if history:
        paths["learning_curves"] = save_figure(plot_learning_curves(history), out_dir / "learning_curves.png")
    if len(evaluation.targets):
        cm = np.asarray(evaluation.metrics["confusion_matrix"])
        paths["confusion_matrix"] = save_figure(
            plot_confusion_matrix(cm, list(task.class_names)), out_dir / "confusion_matrix.png")
        table = reliability_table(evaluation.targets, evaluation.probabilities)
        paths["reliability"] = save_figure(
            plot_reliability(table, evaluation.metrics.get("ece")), out_dir / "reliability.png")
    if task.num_classes == 2 and np.isfinite(evaluation.metrics.get("auc", np.nan)):
        pos = positive_index(task)
        y = (evaluation.targets == pos).astype(int)
        s = evaluation.probabilities[:, pos]
        m = evaluation.metrics
        label = f"all (AUC {m['auc']:.3f}"
        if np.isfinite(m.get("auc_ci95_low", np.nan)):
            label += f", 95% CI {m['auc_ci95_low']:.2f}-{m['auc_ci95_high']:.2f}"
        curves = {label + ")": roc_curve(y, s)[:2]}
        if "day" in evaluation.predictions.columns:
            days = evaluation.predictions["day"].to_numpy()
            for key, value in m.items():
                if key.startswith("auc_day_"):
                    day = key[len("auc_day_"):]
                    sel = np.array([_same_day(d, day) for d in days])
                    curves[f"day {day} (AUC {value:.3f})"] = roc_curve(y[sel], s[sel])[:2]
        paths["roc"] = save_figure(plot_roc(curves, f"ROC: {task.class_names[pos]} vs rest"), out_dir / "roc.png")
    return paths


def _same_day(value, day: str) -> bool:
    try:
        return float(value) == float(day)
    except (TypeError, ValueError):
        return str(value) == day


def _json_safe(obj):
    from .loop import _json_safe as safe

    return safe(obj)
