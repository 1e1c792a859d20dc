"""Classification metrics of the studies, on per-image probabilities.

Everything takes integer class indices ``y_true`` (shape ``(n,)``) and class
probabilities ``probs`` (shape ``(n, k)``, rows summing to 1), and returns
plain numbers or arrays, so the numbers can be checked by hand and against
scikit-learn (the tests do both).

Within-interval accuracy follows the passage study's Eq. 2: the predicted
interval of ``m`` consecutive classes is the one with the largest summed
probability (:func:`napari_msc_morph.inference.ordinal.interval_probabilities`);
an image counts as correct when its true class lies inside it.
"""

from __future__ import annotations

import numpy as np

from ..inference.ordinal import interval_probabilities

__all__ = [
    "accuracy",
    "top_k_accuracy",
    "within_interval_accuracy",
    "confusion_matrix",
    "macro_f1",
    "roc_curve",
    "roc_auc",
    "bootstrap_auc_ci",
    "sensitivity_specificity",
    "reliability_table",
    "expected_calibration_error",
    "mean_absolute_class_error",
]


def _check(y_true, probs=None):
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ValueError(f"y_true must be one class index per image (1D), got shape {y.shape}.")
    if not np.issubdtype(y.dtype, np.integer):
        if y.size and not np.all(np.equal(np.mod(y, 1), 0)):
            raise ValueError("y_true must hold integer class indices.")
        y = y.astype(np.int64)
    if probs is None:
        return y
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] != y.shape[0]:
        raise ValueError(
            f"probs must have shape (n_images, n_classes) with n_images={y.shape[0]}, got {p.shape}."
        )
    if y.size and (y.min() < 0 or y.max() >= p.shape[1]):
        raise ValueError(f"class indices must be in 0..{p.shape[1] - 1}.")
    return y, p


def accuracy(y_true, y_pred) -> float:
    """Fraction of images whose predicted class is the true class."""
    y = _check(y_true)
    y_pred = _check(y_pred)
    if y.size == 0:
        return float("nan")
    return float(np.mean(y == y_pred))


def top_k_accuracy(y_true, probs, k: int) -> float:
    """Fraction of images whose true class is among the ``k`` most probable.

    Ties are broken towards the lower class index (a stable sort), like
    ``sklearn.metrics.top_k_accuracy_score`` on untied scores.
    """
    y, p = _check(y_true, probs)
    if y.size == 0:
        return float("nan")
    k = int(k)
    if k >= p.shape[1]:
        return 1.0
    top = np.argsort(-p, axis=1, kind="stable")[:, :k]
    return float(np.mean((top == y[:, None]).any(axis=1)))


def within_interval_accuracy(y_true, probs, m: int) -> float:
    """Fraction of images whose true class lies in the predicted ``m``-class interval (Eq. 2)."""
    y, p = _check(y_true, probs)
    if y.size == 0:
        return float("nan")
    sums = interval_probabilities(p, m)
    start = np.argmax(sums, axis=1)  # ties: lowest start, as predicted_interval
    return float(np.mean((y >= start) & (y <= start + int(m) - 1)))


def mean_absolute_class_error(y_true, probs, values=None) -> float:
    """Mean |predicted - true| class value of the argmax (e.g. passages off)."""
    y, p = _check(y_true, probs)
    values = np.arange(p.shape[1], dtype=float) if values is None else np.asarray(values, float)
    if y.size == 0:
        return float("nan")
    return float(np.mean(np.abs(values[p.argmax(1)] - values[y])))


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """Counts ``C[i, j]`` of images of true class ``i`` predicted as ``j``."""
    y = _check(y_true)
    y_pred = _check(y_pred)
    out = np.zeros((int(n_classes), int(n_classes)), dtype=np.int64)
    np.add.at(out, (y, y_pred), 1)
    return out


def macro_f1(y_true, y_pred, n_classes: int | None = None) -> float:
    """Unweighted mean of per-class F1 over the classes that occur in ``y_true`` or ``y_pred``.

    A class with no true and no predicted images is left out (as
    ``sklearn.metrics.f1_score(average="macro")`` does without ``labels``);
    a class with F1's denominator 0 counts as 0.
    """
    y = _check(y_true)
    y_pred = _check(y_pred)
    if y.size == 0:
        return float("nan")
    n = int(n_classes) if n_classes is not None else int(max(y.max(), y_pred.max()) + 1)
    cm = confusion_matrix(y, y_pred, n)
    present = np.union1d(np.unique(y), np.unique(y_pred))
    tp = np.diag(cm).astype(float)
    denom = cm.sum(0) + cm.sum(1)  # 2tp + fp + fn
    f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
    return float(np.mean(f1[present]))


# --------------------------------------------------------------------------- binary
def _binary(y_true, scores):
    y = np.asarray(y_true).astype(np.int64).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"{y.size} labels but {s.size} scores.")
    if y.size and not np.isin(y, (0, 1)).all():
        raise ValueError("binary labels must be 0 (negative) or 1 (positive).")
    return y, s


def roc_auc(y_true, scores) -> float:
    """Area under the ROC curve (the Mann-Whitney U statistic, ties count 1/2).

    ``nan`` when only one class is present.
    """
    from scipy.stats import rankdata

    y, s = _binary(y_true, scores)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(s)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_curve(y_true, scores):
    """False and true positive rates at every distinct threshold (descending).

    Returns ``(fpr, tpr, thresholds)``, starting at ``(0, 0, inf)``.
    """
    y, s = _binary(y_true, scores)
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    distinct = np.where(np.diff(s_sorted))[0]
    idx = np.r_[distinct, y.size - 1]
    tps = np.cumsum(y_sorted)[idx]
    fps = (idx + 1) - tps
    n_pos, n_neg = max(y.sum(), 1), max(y.size - y.sum(), 1)
    fpr = np.r_[0.0, fps / n_neg]
    tpr = np.r_[0.0, tps / n_pos]
    return fpr, tpr, np.r_[np.inf, s_sorted[idx]]


def bootstrap_auc_ci(
    y_true, scores, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0, groups=None
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the ROC AUC.

    Parameters
    ----------
    y_true, scores : array_like
        Binary labels (1 = positive) and scores.
    n_boot : int
        Resamples; those with only one class are left out.
    alpha : float
        0.05 gives a 95 % interval.
    seed : int
        Fixed seed: the interval is reproducible.
    groups : array_like, optional
        Resample whole groups (e.g. donors) instead of images: wider, and
        honest when images of one donor are correlated
        (:mod:`~napari_msc_morph.training.bootstrap`).

    Returns
    -------
    (low, high) : tuple of float
        ``(nan, nan)`` when only one class is present.
    """
    from .bootstrap import bootstrap_intervals, weighted_auc

    y, s = _binary(y_true, scores)
    if y.sum() == 0 or y.sum() == y.size:
        return float("nan"), float("nan")
    found = bootstrap_intervals({"auc": lambda W: weighted_auc(W, y, s)}, groups, y.size,
                                n_boot, seed, alpha)
    return found["auc"]


def sensitivity_specificity(y_true, scores, threshold: float = 0.5) -> tuple[float, float]:
    """Sensitivity (true positive rate) and specificity at ``score >= threshold``."""
    y, s = _binary(y_true, scores)
    pred = s >= float(threshold)
    pos, neg = y == 1, y == 0
    sens = float(pred[pos].mean()) if pos.any() else float("nan")
    spec = float((~pred[neg]).mean()) if neg.any() else float("nan")
    return sens, spec


# --------------------------------------------------------------------------- calibration
def reliability_table(y_true, probs, n_bins: int = 15) -> dict:
    """Top-label confidence vs accuracy in ``n_bins`` equal-width bins.

    Returns a dict of arrays ``bin_lower``, ``bin_upper``, ``count``,
    ``mean_confidence``, ``accuracy`` (``nan`` for empty bins). A confidence
    exactly on an edge goes to the lower bin (bins are ``(lo, hi]``, the first
    one ``[0, hi]``).
    """
    y, p = _check(y_true, probs)
    conf = p.max(1)
    correct = (p.argmax(1) == y).astype(float)
    edges = np.linspace(0.0, 1.0, int(n_bins) + 1)
    which = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, int(n_bins) - 1)
    count = np.bincount(which, minlength=n_bins).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(which, weights=conf, minlength=n_bins) / count
        acc = np.bincount(which, weights=correct, minlength=n_bins) / count
    return {
        "bin_lower": edges[:-1],
        "bin_upper": edges[1:],
        "count": count.astype(np.int64),
        "mean_confidence": mean_conf,
        "accuracy": acc,
    }


def expected_calibration_error(y_true, probs, n_bins: int = 15) -> float:
    """ECE: ``sum_b (n_b / n) * |accuracy_b - confidence_b|`` over top-label bins."""
    table = reliability_table(y_true, probs, n_bins)
    n = table["count"].sum()
    if n == 0:
        return float("nan")
    keep = table["count"] > 0
    gap = np.abs(table["accuracy"][keep] - table["mean_confidence"][keep])
    return float(np.sum(table["count"][keep] / n * gap))


# --------------------------------------------------------------------------- per task
def positive_index(task) -> int:
    """Index of the positive class of a two-class task (its ``positive_class``, else 1)."""
    names = list(task.class_names)
    if getattr(task, "positive_class", None) in names:
        return names.index(task.positive_class)
    return 1


def task_metrics(
    task,
    y_true,
    probs,
    days=None,
    groups=None,
    threshold: float = 0.5,
    n_boot: int = 1000,
    seed: int = 0,
    n_bins: int = 15,
) -> dict:
    """All metrics that apply to ``task`` as a flat JSON-ready dict, each with a 95 % CI.

    Every task: ``n_images``, ``accuracy``, ``top2_accuracy`` (and ``top3``
    for more than three classes), ``macro_f1``, ``ece`` (``n_bins`` top-label
    bins), ``confusion_matrix``. Ordinal tasks: ``within3_accuracy``,
    ``within5_accuracy`` (Eq. 2; widths up to the number of classes) and
    ``mean_abs_class_error``. Two-class tasks: ``auc``, ``sensitivity`` and
    ``specificity`` at ``threshold`` on P(positive), and ``auc_day_<d>`` for
    each ``day`` that has both classes.

    Every number metric ``<m>`` comes with ``<m>_ci95_low`` and
    ``<m>_ci95_high``: a percentile bootstrap over ``groups`` (whole donors,
    :mod:`~napari_msc_morph.training.bootstrap`), or over images when
    ``groups`` is ``None``; all metrics share the same ``n_boot`` resamples
    (``n_boot=0``: no intervals).
    """
    from ..inference.ordinal import ordinal_class_values
    from .bootstrap import (
        bootstrap_intervals,
        interval_hits,
        weighted_auc,
        weighted_ece,
        weighted_macro_f1,
        weighted_mean,
    )

    y, p = _check(y_true, probs)
    n_classes = p.shape[1]
    pred = p.argmax(1)
    out: dict = {"n_images": int(y.size)}
    stats: dict = {}  # metric -> its value per resample from weights W (n_boot, n_images)
    correct = (pred == y).astype(float)
    out["accuracy"] = accuracy(y, pred)
    stats["accuracy"] = lambda W: weighted_mean(W, correct)
    for k in (2, 3):
        if k < n_classes and (k == 2 or n_classes > 3):
            out[f"top{k}_accuracy"] = top_k_accuracy(y, p, k)
            top = np.argsort(-p, axis=1, kind="stable")[:, :k]
            hits = (top == y[:, None]).any(axis=1).astype(float)
            stats[f"top{k}_accuracy"] = lambda W, hits=hits: weighted_mean(W, hits)
    out["macro_f1"] = macro_f1(y, pred, n_classes) if y.size else float("nan")
    stats["macro_f1"] = lambda W: weighted_macro_f1(W, y, pred, n_classes)
    if task.ordinal:
        for m in (3, 5):
            if m < n_classes:
                out[f"within{m}_accuracy"] = within_interval_accuracy(y, p, m)
                hits = interval_hits(y, p, m)
                stats[f"within{m}_accuracy"] = lambda W, hits=hits: weighted_mean(W, hits)
        values = ordinal_class_values(task.class_names)
        out["mean_abs_class_error"] = mean_absolute_class_error(y, p, values)
        errors = np.abs(values[pred] - values[y])
        stats["mean_abs_class_error"] = lambda W: weighted_mean(W, errors)
    if n_classes == 2:
        pos = positive_index(task)
        yb = (y == pos).astype(int)
        score = p[:, pos]
        called = (score >= float(threshold)).astype(float)
        out["positive_class"] = task.class_names[pos]
        out["auc"] = roc_auc(yb, score)
        stats["auc"] = lambda W: weighted_auc(W, yb, score)
        out["threshold"] = float(threshold)
        out["sensitivity"], out["specificity"] = sensitivity_specificity(yb, score, threshold)
        stats["sensitivity"] = lambda W: weighted_mean(W, called, mask=yb == 1)
        stats["specificity"] = lambda W: weighted_mean(W, 1.0 - called, mask=yb == 0)
        if days is not None:
            days = np.asarray(days)
            for day in sorted({d for d in days if _is_value(d)}, key=_day_key):
                sel = days == day
                if sel.sum() and 0 < yb[sel].sum() < sel.sum():
                    key = f"auc_day_{_day_label(day)}"
                    out[key] = roc_auc(yb[sel], score[sel])
                    stats[key] = lambda W, sel=sel: weighted_auc(W[:, sel], yb[sel], score[sel])
    out["ece"] = expected_calibration_error(y, p, n_bins) if y.size else float("nan")
    out["ece_bins"] = int(n_bins)
    stats["ece"] = lambda W: weighted_ece(W, y, p, n_bins)
    intervals = bootstrap_intervals(stats, groups, int(y.size), n_boot, seed)
    for name, (low, high) in intervals.items():
        out[f"{name}_ci95_low"], out[f"{name}_ci95_high"] = low, high
    out["bootstrap_resamples"] = int(n_boot)
    out["confusion_matrix"] = confusion_matrix(y, pred, n_classes).tolist()
    return out


def _is_value(d) -> bool:
    if d is None:
        return False
    if isinstance(d, float) and np.isnan(d):
        return False
    return str(d) != ""


def _day_key(d):
    try:
        return (0, float(d), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(d))


def _day_label(d) -> str:
    try:
        f = float(d)
        return str(int(f)) if f.is_integer() else str(f)
    except (TypeError, ValueError):
        return str(d)
