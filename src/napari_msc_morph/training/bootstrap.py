"""Confidence intervals from a cluster bootstrap that resamples donors, not images.

A resample is a row of per-image weights (how often the image's donor was drawn);
every metric is a function of the weight matrix ``W`` (``n_boot`` x ``n_images``)
and its point estimate is the same function at unit weights. With class-pure
donors the draws are stratified by class (:func:`class_strata`).

Owned code: no library resamples clusters with weights like this
(``scipy.stats.bootstrap`` resamples observations). Its speed against a loop
over resamples: ``python benchmarks/bench_bootstrap.py``.
"""

from __future__ import annotations

import numpy as np

from ..errors import BadInputError
from ..memory import check_fits

__all__ = [
    "Interval",
    "MAX_DROPPED_SHARE",
    "bootstrap_memory_bytes",
    "check_bootstrap_memory",
    "check_n_boot",
    "class_strata",
    "donor_weights",
    "percentile_interval",
    "weighted_mean",
    "weighted_auc",
    "weighted_macro_f1",
    "weighted_ece",
    "ece_bins",
    "interval_hits",
]

#: Bootstrap resamples by default (``--n-boot``).
DEFAULT_N_BOOT = 1000
#: Largest weight matrix (entries) built at once; more resamples are done in chunks.
_CHUNK_ENTRIES = 4_000_000
#: A metric whose interval lost more than this share of its resamples (a resample
#: without both classes has no AUC) gets a warning.
MAX_DROPPED_SHARE = 0.05


class Interval(tuple):
    """``(low, high)`` of a percentile interval, with ``used``: the resamples it rests on."""

    used: int

    def __new__(cls, low: float, high: float, used: int = 0):
        interval = super().__new__(cls, (float(low), float(high)))
        interval.used = int(used)
        return interval


def bootstrap_memory_bytes(n_boot: int, n_clusters: int, n_statistics: int) -> float:
    """Peak bytes of :func:`bootstrap_intervals`: the draw matrices and each statistic's values."""
    # draws, their counts and bincount's buffer: three 8-byte numbers per resample and cluster;
    # each statistic keeps 8 bytes per resample, twice while its chunks are joined
    return float(n_boot) * (24.0 * max(n_clusters, 1) + 16.0 * max(n_statistics, 1)) \
        + 8.0 * _CHUNK_ENTRIES * 4


def check_bootstrap_memory(n_boot: int, n_clusters: int, n_statistics: int) -> None:
    """Refuse, naming ``--n-boot``, a bootstrap whose resamples cannot fit in memory."""
    check_fits(bootstrap_memory_bytes(n_boot, n_clusters, n_statistics),
               f"the bootstrap with --n-boot {n_boot} ({n_clusters} clusters, {n_statistics} "
               "metrics)",
               f"lower --n-boot: {DEFAULT_N_BOOT} (the default) to 10000 resamples give stable "
               "95 % intervals.")


def check_n_boot(n_boot) -> int:
    """``n_boot`` as an int >= 0 (0: no intervals), else a BadInputError naming ``--n-boot``."""
    if (isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer))
            or n_boot < 0):
        raise BadInputError(
            f"n_boot (--n-boot) must be a whole number of bootstrap resamples, 0 for no "
            f"confidence intervals, got {n_boot!r}; {DEFAULT_N_BOOT} is the default."
        )
    return int(n_boot)


def _cluster_index(groups, n: int) -> tuple[np.ndarray, int]:
    if groups is None:  # every image its own cluster: the ordinary bootstrap
        return np.arange(n), n
    groups = np.asarray(groups, dtype=object).ravel()
    if groups.size != n:
        raise ValueError(f"{groups.size} group labels for {n} images.")
    _, inverse = np.unique(groups.astype(str), return_inverse=True)
    return inverse.ravel(), int(inverse.max()) + 1 if n else 0


def class_strata(groups, y, n_images: int | None = None) -> np.ndarray | None:
    """Each image's class when there are two or more and every cluster holds one, else ``None``."""
    y = np.asarray(y).ravel()
    if np.unique(y).size < 2:
        return None
    inverse, n_clusters = _cluster_index(groups, y.size if n_images is None else n_images)
    classes_per_cluster = np.array([np.unique(y[inverse == c]).size for c in range(n_clusters)])
    return y if (classes_per_cluster == 1).all() else None


def cluster_draws(groups, n_images: int, n_boot: int, seed: int = 0,
                  strata=None) -> tuple[np.ndarray, np.ndarray]:
    """``(counts, inverse)``: draws per resample and cluster ``(n_boot, n_clusters)``, each image's cluster.

    ``strata`` (one label per image, constant within a cluster) draws, in every resample,
    as many clusters from each stratum as it holds.
    """
    inverse, n_clusters = _cluster_index(groups, n_images)
    rng = np.random.default_rng(seed)
    if strata is None:
        draws = rng.integers(0, max(n_clusters, 1), size=(int(n_boot), n_clusters))
    else:
        stratum_of = np.empty(n_clusters, dtype=object)
        stratum_of[inverse] = np.asarray(strata, dtype=object).ravel()
        _, stratum_index = np.unique(stratum_of.astype(str), return_inverse=True)
        draws = np.empty((int(n_boot), n_clusters), dtype=np.int64)
        for stratum in range(int(stratum_index.max()) + 1 if n_clusters else 0):
            members = np.flatnonzero(stratum_index == stratum)
            picks = rng.integers(0, members.size, size=(int(n_boot), members.size))
            draws[:, members] = members[picks]
    offsets = (np.arange(int(n_boot)) * n_clusters)[:, None]
    counts = np.bincount((draws + offsets).ravel(), minlength=int(n_boot) * n_clusters)
    return counts.reshape(int(n_boot), n_clusters).astype(np.float64), inverse


def donor_weights(groups, n_boot: int = DEFAULT_N_BOOT, seed: int = 0,
                  n_images: int | None = None, strata=None) -> np.ndarray:
    """Per-image weights ``(n_boot, n_images)``: how often each image's donor was drawn.

    ``groups=None`` resamples images (then ``n_images`` is required).
    """
    n = len(groups) if groups is not None else int(n_images)
    counts, inverse = cluster_draws(groups, n, n_boot, seed, strata)
    return counts[:, inverse]


def percentile_interval(values, alpha: float = 0.05) -> Interval:
    """``(low, high)`` percentile interval of the finite ``values`` (``nan`` if none).

    ``.used`` counts the finite values: the resamples in which the metric exists.
    """
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return Interval(float("nan"), float("nan"), 0)
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return Interval(low, high, values.size)


# --------------------------------------------------------------------------- weighted metrics
def weighted_mean(W, values, mask=None) -> np.ndarray:
    """Per resample: the weighted mean of ``values`` over the images in ``mask``."""
    W = np.atleast_2d(np.asarray(W, dtype=np.float64))
    v = np.asarray(values, dtype=np.float64)
    if mask is not None:
        W = W * np.asarray(mask, dtype=np.float64)
    total = W.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (W @ v) / np.where(total > 0, total, 1), np.nan)


def weighted_auc(W, y, scores) -> np.ndarray:
    """Per resample: ROC AUC with images counted by weight (Mann-Whitney; ``nan`` with one class)."""
    W = np.atleast_2d(np.asarray(W, dtype=np.float64))
    y = np.asarray(y).astype(bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if s.size == 0:
        return np.full(W.shape[0], np.nan)
    order = np.argsort(s, kind="mergesort")
    s_sorted = s[order]
    starts = np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1]])  # tie groups
    Ws = W[:, order]
    pos = np.add.reduceat(Ws * y[order], starts, axis=1)
    neg = np.add.reduceat(Ws * ~y[order], starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg  # negatives with a strictly lower score
    num = (pos * (below + 0.5 * neg)).sum(1)
    denom = pos.sum(1) * neg.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, num / np.where(denom > 0, denom, 1), np.nan)


def weighted_macro_f1(W, y_true, y_pred, n_classes: int) -> np.ndarray:
    """Per resample: macro F1 over the classes present in the resample's true or predicted labels."""
    W = np.atleast_2d(np.asarray(W, dtype=np.float64))
    eye = np.eye(int(n_classes))
    true_hot, pred_hot = eye[np.asarray(y_true)], eye[np.asarray(y_pred)]
    tp = W @ (true_hot * pred_hot)
    denom = W @ true_hot + W @ pred_hot  # 2tp + fp + fn
    present = denom > 0
    f1 = np.where(present, 2 * tp / np.where(present, denom, 1), 0.0)
    n_present = present.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_present > 0, f1.sum(1) / np.maximum(n_present, 1), np.nan)


def ece_bins(probs, n_bins: int) -> np.ndarray:
    """Bin of each image's top-class confidence (bins ``(lo, hi]``, the first ``[0, hi]``)."""
    conf = np.asarray(probs, dtype=np.float64).max(1)
    edges = np.linspace(0.0, 1.0, int(n_bins) + 1)
    return np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, int(n_bins) - 1)


def weighted_ece(W, y_true, probs, n_bins: int = 15) -> np.ndarray:
    """Per resample: expected calibration error ``sum_b |correct_b - confidence_b| / n``."""
    W = np.atleast_2d(np.asarray(W, dtype=np.float64))
    p = np.asarray(probs, dtype=np.float64)
    conf = p.max(1)
    correct = (p.argmax(1) == np.asarray(y_true)).astype(np.float64)
    hot = np.eye(int(n_bins))[ece_bins(p, n_bins)]
    gap = np.abs(W @ (hot * correct[:, None]) - W @ (hot * conf[:, None])).sum(1)
    total = W.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, gap / np.where(total > 0, total, 1), np.nan)


def interval_hits(y_true, probs, m: int) -> np.ndarray:
    """1.0 where the true class lies in the predicted ``m``-class interval (Eq. 2), else 0.0."""
    from ..inference.ordinal import interval_probabilities

    start = np.argmax(interval_probabilities(np.asarray(probs, dtype=np.float64), m), axis=1)
    y = np.asarray(y_true)
    return ((y >= start) & (y <= start + int(m) - 1)).astype(np.float64)


def bootstrap_intervals(statistics: dict, groups, n_images: int, n_boot: int, seed: int = 0,
                        alpha: float = 0.05, strata=None) -> dict:
    """``{name: Interval(low, high, used)}`` for every ``name -> fn(W) -> values per resample``.

    All statistics share the same resamples; ``used`` counts those in which it exists.
    """
    n_boot = check_n_boot(n_boot)
    if n_boot == 0 or n_images == 0 or not statistics:
        return {name: Interval(float("nan"), float("nan"), 0) for name in statistics}
    check_bootstrap_memory(n_boot, _cluster_index(groups, n_images)[1], len(statistics))
    values: dict = {name: [] for name in statistics}
    counts, inverse = cluster_draws(groups, n_images, n_boot, seed, strata)
    step = max(1, _CHUNK_ENTRIES // max(n_images, 1))  # weight matrices of ~4 M entries at most
    for start in range(0, n_boot, step):
        W = counts[start:start + step][:, inverse]
        for name, fn in statistics.items():
            values[name].append(fn(W))
    return {name: percentile_interval(np.concatenate(v), alpha) for name, v in values.items()}
