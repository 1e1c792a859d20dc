"""Evaluation of a model on a manifest split, with the studies' protocols.

Images are predicted as ``msc-morph predict`` predicts them; the task's metrics get
donor-bootstrap intervals and sit beside the published figures in the report
(``report.md``, ``metrics.json``, ``predictions.csv``, PNG plots).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import BadInputError
from ..io import write_json, write_table
from ..jobs import CancelToken, ProgressFn
from ..models.calibration import apply_temperature, bundle_temperature
from ._inputs import predict_fields
from ._json import json_safe
from .bootstrap import check_bootstrap_memory, check_n_boot
from .data import load_field, load_manifest, validate_manifest
from .report import report_context, write_summary
from .splits import apply_recorded_split, apply_split_file

__all__ = ["Evaluation", "evaluate_model", "predictions_table", "write_report"]

logger = logging.getLogger(__name__)


@dataclass
class Evaluation:
    """Result of :func:`evaluate_model`.

    Attributes
    ----------
    predictions : DataFrame
        One row per image (:func:`predictions_table`).
    metrics : dict
        JSON-ready numbers (:func:`~.metrics.task_metrics` and the report context).
    probabilities : ndarray, shape (n_images, n_classes)
        As prediction gives them (the bundle's temperature applied).
    targets : ndarray of int
    task : TaskSpec
    history : dict or None
        The bundle's training curves, if it has them.
    files : dict
        The report's files (name -> path) when one was written.
    uncalibrated_probabilities : ndarray or None
        The same at temperature 1 (before calibration).
    """

    predictions: pd.DataFrame
    metrics: dict
    probabilities: np.ndarray
    targets: np.ndarray
    task: object
    history: dict | None = None
    files: dict = field(default_factory=dict)
    uncalibrated_probabilities: np.ndarray | None = None


def evaluate_model(
    bundle,
    manifest,
    *,
    out_dir: str | os.PathLike | None = None,
    split: str | None = "test",
    tiling: str | None = None,
    device: str = "auto",
    downscale: int | None = None,
    threshold: float = 0.5,
    n_boot: int = 1000,
    seed: int = 0,
    bootstrap_by: str | None = None,
    precision: str | None = None,
    split_file: str | os.PathLike | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> Evaluation:
    """Predict every image of a manifest split, compute the task's metrics, write the report.

    Parameters
    ----------
    bundle : path or ModelBundle
        A bundle folder/``.zip`` or a loaded :class:`~napari_msc_morph.models.ModelBundle`.
    manifest : path or DataFrame
        A manifest, or the training run's ``split.csv``.
    out_dir : path, optional
        Write the report there (:func:`write_report`).
    split : {"test", "val", "train", "all"} or None
        Rows to evaluate; the split comes from ``split_file``, else the manifest's
        ``split`` column, else the split recorded in the bundle.
    tiling : str, optional
        Override the bundle's tiling (``six``, ``grid``, ``center``).
    device : str
    downscale : int, optional
        Read images at ``1/downscale`` resolution; default: as the model was trained.
    threshold : float
        Decision threshold on P(positive) for sensitivity/specificity.
    n_boot : int
        Bootstrap resamples for the 95 % intervals (0: none).
    seed : int
        Bootstrap seed.
    bootstrap_by : str, optional
        Column whose groups the bootstrap resamples; default ``donor`` when present,
        ``"image"`` resamples images.
    precision : str, optional
        Inference precision; float32 on a CPU by default, for reproducible metrics.
    split_file : path, optional
        A training run's ``split.csv`` whose split overrides the manifest's.
    progress : callable, optional
        ``progress(done, total, message)`` after every image.
    cancel : CancelToken, optional
        Checked before every image (raises ``Cancelled``; no report is written).

    Returns
    -------
    Evaluation
    """
    from ..models import ModelBundle, load_bundle, resolve_device
    from .metrics import task_metrics

    n_boot = check_n_boot(n_boot)
    threshold = check_threshold(threshold)
    device = resolve_device(device)
    if not isinstance(bundle, ModelBundle):
        bundle = load_bundle(bundle, device=device)
    config = bundle.config
    task = config.task_spec
    table = load_manifest(manifest)
    split_note = "split column of the manifest"
    if split_file is not None:
        table = apply_split_file(table, split_file)
        split_note = f"split from {split_file}"
    if split not in (None, "all"):
        if "split" not in table.columns or (table["split"] == "").all():
            source = manifest if not isinstance(manifest, pd.DataFrame) else "the manifest"
            table, split_note = apply_recorded_split(
                table, config.metrics.get("split_assignment"), str(source))
        if split not in set(table["split"]):
            raise BadInputError(
                f"The manifest has no images in split {split!r} (splits: "
                f"{', '.join(sorted(set(table['split']) - {''}))})."
            )
        table = table[table["split"] == split].reset_index(drop=True)
    validate_manifest(table, config.class_names, group_column=None, require_train_classes=False,
                      source=manifest if not isinstance(manifest, pd.DataFrame)
                      else "manifest table")
    if downscale is None:
        downscale = int(config.metrics.get("downscale", 1) or 1)
    group_column, bootstrap_notes = _bootstrap_column(table, bootstrap_by)
    # before hours of prediction: the resamples of every metric must fit in memory
    n_days = table["day"].nunique() if "day" in table.columns else 0
    check_bootstrap_memory(n_boot, table[group_column].nunique() if group_column else len(table),
                           _METRICS_PER_RUN + n_days)
    images = (load_field(path, downscale).data for path in table["path"])
    # tiles at T = 1, then the bundle's temperature: both sides of the calibration
    raw, tiles = predict_fields(
        bundle.model, replace(config, calibration=None), images, device=device, tiling=tiling,
        precision=precision, total=len(table), progress=progress, cancel=cancel, tiles=True,
    )
    temperature = bundle_temperature(config)
    probs = (np.array([apply_temperature(t, temperature).mean(0) for t in tiles])
             .reshape(raw.shape) if temperature != 1.0 else raw)
    index = {c: i for i, c in enumerate(config.class_names)}
    targets = np.array([index[c] for c in table["label"]], dtype=np.int64)
    days = table["day"].to_numpy() if "day" in table.columns else None
    groups = table[group_column].to_numpy() if group_column else None
    metrics = task_metrics(task, targets, probs, days=days, groups=groups, threshold=threshold,
                           n_boot=n_boot, seed=seed)
    bootstrap_warnings = [*bootstrap_notes, *metrics.pop("warnings")]
    metrics = {
        "split": split or "all",
        "tiling": tiling or config.tiling,
        "model_id": config.model_id,
        "task": config.task,
        "class_names": list(config.class_names),
        "downscale": downscale,
        **metrics,
        **report_context(table, config, targets, raw, group_column),
    }
    metrics["warnings"] = [*metrics["warnings"], *bootstrap_warnings]
    if split not in (None, "all"):
        metrics["split_source"] = split_note
    if split in ("val", "all", None) and (config.calibration or {}).get("fitted_on") == "validation":
        metrics["warnings"].append("the calibration temperature was fitted on the validation "
                                   "images, which this evaluation includes: its ECE is optimistic.")
    predictions = predictions_table(table, task, probs)
    history = config.metrics.get("history")
    evaluation = Evaluation(predictions, metrics, probs, targets, task,
                            history if isinstance(history, dict) else None,
                            uncalibrated_probabilities=raw)
    if out_dir is not None:
        evaluation.files = write_report(evaluation, out_dir)
        logger.info("evaluation report (%d files) -> %s", len(evaluation.files), out_dir)
    return evaluation


#: Metrics of one evaluation besides one AUC per day (an upper bound, for the memory check).
_METRICS_PER_RUN = 12


def check_threshold(threshold) -> float:
    """``threshold`` as a probability in [0, 1], else a BadInputError naming ``--threshold``."""
    number = isinstance(threshold, (int, float, np.integer, np.floating))
    value = float(threshold) if number else float("nan")
    if isinstance(threshold, bool) or not (0.0 <= value <= 1.0):
        raise BadInputError(
            f"--threshold {threshold!r}: the decision threshold is a probability of the positive "
            "class between 0 and 1 (default 0.5).")
    return value


def _bootstrap_column(table: pd.DataFrame, bootstrap_by: str | None) -> tuple[str | None, list]:
    """The column whose groups the bootstrap resamples (``None``: images), and notes.

    An empty cell is no group: by default it makes the bootstrap resample images
    with a warning; a column named with ``--bootstrap-by`` must be filled in.
    """
    if bootstrap_by == "image":
        return None, []
    column = "donor" if bootstrap_by is None else bootstrap_by
    if column not in table.columns:
        if bootstrap_by is None:
            return None, []
        raise BadInputError(
            f"--bootstrap-by {bootstrap_by!r}: the manifest has no such column (columns: "
            f"{', '.join(map(str, table.columns))}); name the donor column, or 'image' to "
            "resample images."
        )
    empty = table[column].isna() | (table[column].astype(str).str.strip() == "")
    if empty.all():
        if bootstrap_by is None:
            return None, []  # no donors at all: report_context says the images are resampled
        raise BadInputError(
            f"--bootstrap-by {column}: the column is empty in every row of the evaluated split, "
            "so it names no group to resample; fill it in, name another column, or use "
            "--bootstrap-by image to resample images.")
    if not empty.any():
        return column, []
    lines = table.loc[empty, "line"].astype(int).tolist()
    where = (f"manifest lines {lines[:20]}{' ...' if len(lines) > 20 else ''} have no {column} "
             f"({int(empty.sum())} of {len(table)} images of the evaluated split)")
    if bootstrap_by is not None:
        raise BadInputError(
            f"{where}: the bootstrap resamples whole {column}s, and an empty cell is no "
            f"{column}. Fill them in, or use --bootstrap-by image to resample images.")
    return None, [f"{where}, so the intervals resample images instead of donors (an empty "
                  "cell is no donor): they are too narrow when images of one donor are alike. "
                  "Fill in the donors for donor-level intervals."]


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
    if task.ordinal and len(probs):
        out = out.join(pd.DataFrame([interval_columns(task, p) for p in probs]))
    for col in ("donor", "day", "passage", "condition", "split"):
        if col in table.columns:
            out[col] = table[col].to_numpy()
    return out


def write_report(evaluation: Evaluation, out_dir: str | os.PathLike) -> dict:
    """Write ``report.md``, ``metrics.json``, ``predictions.csv`` and the PNG plots; return paths."""
    from sklearn.metrics import roc_curve

    from .metrics import day_label, positive_index, reliability_table
    from .plots import (
        plot_confusion_matrix,
        plot_learning_curves,
        plot_reliability_before_after,
        plot_roc,
        save_figure,
    )

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict = {}
    metrics = json_safe(evaluation.metrics)
    paths["metrics"] = write_json(metrics, out_dir / "metrics.json")
    paths["summary"] = write_summary(metrics, out_dir / "report.md")
    paths["predictions"] = write_table(evaluation.predictions, out_dir / "predictions.csv",
                                       path_columns=("path",))
    task, m = evaluation.task, evaluation.metrics
    if evaluation.history:
        paths["learning_curves"] = save_figure(plot_learning_curves(evaluation.history),
                                               out_dir / "learning_curves.png")
    if len(evaluation.targets):
        cm = np.asarray(m["confusion_matrix"])
        paths["confusion_matrix"] = save_figure(
            plot_confusion_matrix(cm, list(task.class_names)), out_dir / "confusion_matrix.png")
        bins = int(m.get("ece_bins", 15))
        after = reliability_table(evaluation.targets, evaluation.probabilities, bins)
        raw = evaluation.uncalibrated_probabilities
        before = reliability_table(evaluation.targets, raw, bins) if raw is not None else None
        paths["reliability"] = save_figure(
            plot_reliability_before_after(before, after, m.get("ece_uncalibrated"), m.get("ece"),
                                          float(m.get("temperature", 1.0))),
            out_dir / "reliability.png")
    if task.num_classes == 2 and np.isfinite(m.get("auc", np.nan)):
        pos = positive_index(task)
        y = (evaluation.targets == pos).astype(int)
        s = evaluation.probabilities[:, pos]

        def ci(key):
            low, high = m.get(f"{key}_ci95_low"), m.get(f"{key}_ci95_high")
            finite = low is not None and np.isfinite(low) and np.isfinite(high)
            return f", 95% CI {low:.2f}-{high:.2f}" if finite else ""

        curves = {f"all (AUC {m['auc']:.3f}{ci('auc')})": roc_curve(y, s)[:2]}
        if "day" in evaluation.predictions.columns:
            days = np.array([day_label(d) for d in evaluation.predictions["day"]])
            for key, value in m.items():
                if key.startswith("auc_day_") and not key.endswith(("_ci95_low", "_ci95_high")):
                    day = key[len("auc_day_"):]
                    sel = days == day
                    curves[f"day {day} (AUC {value:.3f}{ci(key)})"] = roc_curve(y[sel], s[sel])[:2]
        title = f"ROC: {task.class_names[pos]} vs rest"
        paths["roc"] = save_figure(plot_roc(curves, title), out_dir / "roc.png")
    return paths

