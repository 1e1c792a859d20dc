"""Classification metrics of the studies, on per-image probabilities.

Each number of :func:`task_metrics` is a weighted statistic of :mod:`.bootstrap`
(unit weights for the estimate, resampled donors' weights for its interval); the tests
check each against :mod:`sklearn.metrics`, whose input checks cost more per epoch than
the whole vectorised set. Owned because scikit-learn's differ: top-k breaks ties towards
the lower class (as argmax does), within-interval accuracy is the passage study's Eq. 2,
and the reliability table bins ``(lo, hi]`` with counts for any number of classes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .bootstrap import (
    MAX_DROPPED_SHARE,
    bootstrap_intervals,
    class_strata,
    ece_bins,
    interval_hits,
    weighted_auc,
    weighted_ece,
    weighted_macro_f1,
    weighted_mean,
)

__all__ = [
    "top_k_hits",
    "reliability_table",
    "expected_calibration_error",
    "positive_index",
    "task_metrics",
]


def top_k_hits(y_true, probs, k: int) -> np.ndarray:
    """1.0 where the true class is among the ``k`` most probable (ties: lower index first)."""
    top = np.argsort(-np.asarray(probs), axis=1, kind="stable")[:, :int(k)]
    return (top == np.asarray(y_true)[:, None]).any(axis=1).astype(np.float64)


def reliability_table(y_true, probs, n_bins: int = 15) -> dict:
    """Top-label confidence vs accuracy in ``n_bins`` equal-width bins ``(lo, hi]`` (empty bins: ``nan``)."""
    p = np.asarray(probs, dtype=np.float64)
    conf = p.max(1)
    correct = (p.argmax(1) == np.asarray(y_true)).astype(float)
    which = ece_bins(p, n_bins)
    count = np.bincount(which, minlength=n_bins).astype(float)
    edges = np.linspace(0.0, 1.0, int(n_bins) + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"bin_lower": edges[:-1], "bin_upper": edges[1:], "count": count.astype(np.int64),
                "mean_confidence": np.bincount(which, weights=conf, minlength=n_bins) / count,
                "accuracy": np.bincount(which, weights=correct, minlength=n_bins) / count}


def expected_calibration_error(y_true, probs, n_bins: int = 15) -> float:
    """ECE: ``sum_b (n_b / n) * |accuracy_b - confidence_b|`` over top-label bins (NaN: no images)."""
    return float(weighted_ece(np.ones((1, len(y_true))), y_true, probs, n_bins)[0])


def positive_index(task) -> int:
    """Index of the positive class of a two-class task (its ``positive_class``, else 1)."""
    names = list(task.class_names)
    if getattr(task, "positive_class", None) in names:
        return names.index(task.positive_class)
    return 1


def task_metrics(task, y_true, probs, days=None, groups=None, threshold: float = 0.5,
                 n_boot: int = 1000, seed: int = 0, n_bins: int = 15) -> dict:
    """All metrics that apply to ``task`` as a flat JSON-ready dict, each with a 95 % CI.

    Every task: ``n_images``, ``accuracy``, ``top2_accuracy`` (``top3`` beyond three classes),
    ``macro_f1``, ``ece``, ``confusion_matrix``. Ordinal: ``within3_accuracy``,
    ``within5_accuracy`` (Eq. 2), ``mean_abs_class_error``. Two classes: ``auc``,
    ``sensitivity``, ``specificity`` at ``threshold``, ``auc_day_<d>``.

    Each number ``<m>`` gets ``<m>_ci95_low``/``_high`` from one set of ``n_boot`` resamples
    of ``groups`` (images when ``None``; stratified by class when donors are class-pure);
    ``resamples_used`` and ``warnings`` say what each interval rests on.
    """
    from ..inference.ordinal import ordinal_class_values

    y = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(probs, dtype=np.float64)
    n_classes = p.shape[1]
    pred = p.argmax(1)
    out: dict = {"n_images": int(y.size)}
    stats: dict = {}  # metric -> its value per resample from weights W (n_boot, n_images)

    def add(name, statistic):  # point estimate: the statistic at unit weights
        stats[name] = statistic
        out[name] = float(statistic(unit)[0]) if y.size else float("nan")

    unit = np.ones((1, y.size))
    add("accuracy", lambda W: weighted_mean(W, pred == y))
    for k in (2, 3):
        if k < n_classes and (k == 2 or n_classes > 3):
            hits = top_k_hits(y, p, k)
            add(f"top{k}_accuracy", lambda W, hits=hits: weighted_mean(W, hits))
    add("macro_f1", lambda W: weighted_macro_f1(W, y, pred, n_classes))
    if task.ordinal:
        for m in (3, 5):
            if m < n_classes:
                hits = interval_hits(y, p, m)
                add(f"within{m}_accuracy", lambda W, hits=hits: weighted_mean(W, hits))
        values = ordinal_class_values(task.class_names)
        errors = np.abs(values[pred] - values[y])
        add("mean_abs_class_error", lambda W: weighted_mean(W, errors))
    if n_classes == 2:
        pos = positive_index(task)
        yb = (y == pos).astype(int)
        score = p[:, pos]
        called = (score >= float(threshold)).astype(float)
        out["positive_class"] = task.class_names[pos]
        add("auc", lambda W: weighted_auc(W, yb, score))
        out["threshold"] = float(threshold)
        add("sensitivity", lambda W: weighted_mean(W, called, mask=yb == 1))
        add("specificity", lambda W: weighted_mean(W, 1.0 - called, mask=yb == 0))
        if days is not None:
            days = np.asarray(days)
            for day in sorted({d for d in days if pd.notna(d) and str(d) != ""}, key=day_order):
                sel = days == day
                if sel.sum() and 0 < yb[sel].sum() < sel.sum():
                    add(f"auc_day_{day_label(day)}",
                        lambda W, sel=sel: weighted_auc(W[:, sel], yb[sel], score[sel]))
    add("ece", lambda W: weighted_ece(W, y, p, n_bins))
    out["ece_bins"] = int(n_bins)
    strata = class_strata(groups, y)
    intervals = bootstrap_intervals(stats, groups, int(y.size), n_boot, seed, strata=strata)
    warnings = []
    for name, interval in intervals.items():
        out[f"{name}_ci95_low"], out[f"{name}_ci95_high"] = interval
        if not n_boot:
            continue
        out.setdefault("resamples_used", {})[name] = interval.used
        dropped = int(n_boot) - interval.used
        if dropped > MAX_DROPPED_SHARE * int(n_boot):
            warnings.append(
                f"the 95 % interval of {name} rests on {interval.used} of {int(n_boot)} "
                f"bootstrap resamples: {dropped} ({100 * dropped / int(n_boot):.0f} %) drew "
                "images without both classes (or without any image of a group it needs), so the "
                "metric did not exist there; the interval is narrower than it should be.")
    out["bootstrap_resamples"] = int(n_boot)
    if n_boot:
        out["bootstrap_stratified"] = strata is not None
    out["warnings"] = warnings
    # sklearn.metrics.confusion_matrix gives the same counts (tested) but its input checks
    # take longer than every other metric together (0.9 ms at 2,000 predictions)
    out["confusion_matrix"] = np.bincount(y * n_classes + pred, minlength=n_classes ** 2).reshape(
        n_classes, n_classes).tolist()
    return out


def day_order(d):
    """Sort key of a day: numbers in order, then other labels."""
    try:
        return (0, float(d), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(d))


def day_label(d) -> str:
    """A day as its report and metric names show it (``5.0`` -> ``"5"``)."""
    try:
        f = float(d)
        return str(int(f)) if f.is_integer() else str(f)
    except (TypeError, ValueError):
        return str(d)
