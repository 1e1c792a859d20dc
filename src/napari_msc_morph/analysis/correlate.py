"""Pearson/Spearman correlations with CIs and Benjamini-Hochberg q over the pairs tested.

The steps of :func:`~napari_msc_morph.analysis.study.correlate_study`; what is
computed and its limits (``min_n``, ``n_boot``): docs/results-and-correlation.md.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from ..errors import BadInputError
from ..jobs import CancelToken, ProgressFn, check_cancelled, report
from ..registry import Registry
from .aggregate import parse_columns
from .join import join_readouts
from .score_defaults import default_score_columns

RESULT_COLUMNS = ["score", "marker", "assay", "method", "n", "r", "ci_low", "ci_high", "p", "q",
                  "warning"]

#: ``method(x, y, confidence, n_boot, seed) -> (r, p, ci_low, ci_high)`` on clean vectors
#: (finite, at least ``min_n`` long, neither constant); ``symbol`` names the coefficient in
#: plot titles.
CORRELATION_METHODS: Registry[Callable[..., tuple[float, float, float, float]]] = Registry(
    "correlation method")

#: The method choice that runs every registered method.
ALL_METHODS = "both"

#: Smallest ``min_n`` accepted (r from two points is always +-1).
MIN_N_FLOOR = 3
#: Fewest samples for which a p-value is reported (at n = 3 it is not meaningful).
MIN_N_FOR_P = 4
#: Fewest bootstrap resamples for an interval; 0 means "no bootstrap interval".
MIN_N_BOOT = 100


def check_min_n(min_n) -> int:
    """``min_n`` if it is an integer >= :data:`MIN_N_FLOOR`, else a BadInputError naming --min-n."""
    if isinstance(min_n, bool) or not isinstance(min_n, (int, np.integer)) or min_n < MIN_N_FLOOR:
        raise BadInputError(
            f"min_n (--min-n) must be an integer of at least {MIN_N_FLOOR}, got {min_n!r}: a "
            f"correlation of fewer samples is meaningless. Use --min-n {MIN_N_FLOOR} or more "
            f"(p-values are reported from {MIN_N_FOR_P} samples on)."
        )
    return int(min_n)


def check_n_boot(n_boot) -> int:
    """``n_boot`` if it is 0 or an integer >= :data:`MIN_N_BOOT`, else a BadInputError (--n-boot)."""
    if (isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer))
            or (n_boot != 0 and n_boot < MIN_N_BOOT)):
        raise BadInputError(
            f"n_boot (--n-boot) must be 0 (no bootstrap confidence interval) or at least "
            f"{MIN_N_BOOT} resamples, got {n_boot!r}; 2000 is the default."
        )
    return int(n_boot)


def method_choices() -> list[str]:
    """Every accepted ``method=`` value: each registered method, then ``"both"`` (all of them)."""
    return [*CORRELATION_METHODS.names(), ALL_METHODS]


def resolve_methods(method: str) -> tuple[str, ...]:
    """The registered methods one ``method=`` choice stands for (``"both"``: all).

    Examples
    --------
    >>> resolve_methods("both")
    ('pearson', 'spearman')
    >>> resolve_methods("spearman")
    ('spearman',)
    """
    if method == ALL_METHODS:
        return tuple(CORRELATION_METHODS.names())
    if method not in CORRELATION_METHODS:
        raise BadInputError(
            f"unknown correlation method {method!r}; choose one of: {', '.join(method_choices())}."
        )
    return (method,)


def _spearman_rho(x, y, axis=-1) -> np.ndarray:
    """Spearman's rho per bootstrap resample (last axis); NaN where x or y is constant."""
    from scipy import stats  # on use: the Correlation dock opens without scipy.stats

    rx = stats.rankdata(x, axis=-1)
    ry = stats.rankdata(y, axis=-1)
    rx -= rx.mean(axis=-1, keepdims=True)
    ry -= ry.mean(axis=-1, keepdims=True)
    denom = np.sqrt((rx * rx).sum(axis=-1) * (ry * ry).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 1e-12, (rx * ry).sum(axis=-1) / denom, np.nan)


def spearman_bootstrap_ci(x, y, n_boot: int = 2000, seed: int = 0,
                          confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of Spearman's rho, resampling (x, y) pairs.

    Resamples in which x or y is constant have no rho and are left out of the
    percentiles (scipy's own would then be NaN, which small samples hit almost always).
    """
    from scipy import stats  # on use: the Correlation dock opens without scipy.stats

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(x) < 3 or n_boot == 0:
        return float("nan"), float("nan")
    with warnings.catch_warnings():  # degenerate resamples are expected and left out below
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        result = stats.bootstrap((x, y), _spearman_rho, n_resamples=n_boot, paired=True,
                                 vectorized=True, method="percentile",
                                 rng=np.random.default_rng(seed))
    rho = result.bootstrap_distribution
    rho = rho[np.isfinite(rho)]
    if rho.size == 0:
        return float("nan"), float("nan")
    alpha = (1 - confidence) / 2
    low, high = np.quantile(rho, [alpha, 1 - alpha])
    return float(low), float(high)


@CORRELATION_METHODS.register(
    "pearson", help="Pearson r and p (scipy.stats.pearsonr); CI by the Fisher z transform",
    symbol="r")
def pearson(x, y, confidence: float = 0.95, n_boot: int = 2000,
            seed: int = 0) -> tuple[float, float, float, float]:
    """Pearson ``(r, p, ci_low, ci_high)``; ``n_boot``/``seed`` are unused (analytic CI)."""
    from scipy import stats  # on use: the Correlation dock opens without scipy.stats

    result = stats.pearsonr(x, y)
    if len(x) <= 3:  # z = atanh(r) has standard error 1/sqrt(n - 3): no interval
        return float(result.statistic), float(result.pvalue), float("nan"), float("nan")
    interval = result.confidence_interval(confidence)
    return float(result.statistic), float(result.pvalue), float(interval.low), float(interval.high)


@CORRELATION_METHODS.register(
    "spearman", help="Spearman rho and p (scipy.stats.spearmanr); percentile bootstrap CI",
    symbol="rho", bootstrap=True)
def spearman(x, y, confidence: float = 0.95, n_boot: int = 2000,
             seed: int = 0) -> tuple[float, float, float, float]:
    """Spearman ``(rho, p, ci_low, ci_high)`` with a seeded bootstrap interval."""
    from scipy import stats  # on use: the Correlation dock opens without scipy.stats

    result = stats.spearmanr(x, y)
    return (float(result.statistic), float(result.pvalue),
            *spearman_bootstrap_ci(x, y, n_boot=n_boot, seed=seed, confidence=confidence))


def benjamini_hochberg(p) -> np.ndarray:
    """Benjamini-Hochberg q (``scipy.stats.false_discovery_control``); NaN p are not in the family.

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.2]).round(3).tolist()
    [0.04, 0.053, 0.053, 0.2]
    """
    from scipy import stats  # on use: the Correlation dock opens without scipy.stats

    p = np.asarray(p, dtype=float)
    q = np.full_like(p, np.nan)
    finite = np.isfinite(p)
    if finite.any():
        q[finite] = stats.false_discovery_control(p[finite])
    return q


def correlation(x, y, method: str = "pearson", min_n: int = 4, confidence: float = 0.95,
                n_boot: int = 2000, seed: int = 0) -> dict:
    """r, p, CI and n for one pair of vectors (NaN pairs dropped).

    Returns
    -------
    dict
        ``n, r, ci_low, ci_high, p, warning``; what is missing (few samples, a
        constant vector, ``n_boot=0``) is NaN and ``warning`` says why.
    """
    compute = CORRELATION_METHODS.get(method)
    min_n, n_boot = check_min_n(min_n), check_n_boot(n_boot)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    n = int(x.size)
    out = {"n": n, "r": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p": np.nan, "warning": ""}
    if n < min_n:
        out["warning"] = f"only {n} sample(s): r is not reported below {min_n}"
        return out
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        which = "score" if np.ptp(x) == 0 else "marker"
        out["warning"] = f"the {which} is constant over the {n} samples"
        return out
    r, p, low, high = compute(x, y, confidence=confidence, n_boot=n_boot, seed=seed)
    no_boot = n_boot == 0 and CORRELATION_METHODS.entry(method).extra.get("bootstrap", False)
    notes = []
    if n < MIN_N_FOR_P:
        p = np.nan
        notes.append(f"p is not reported below {MIN_N_FOR_P} samples (n = {n})")
        if not no_boot and not (np.isfinite(low) and np.isfinite(high)):
            notes.append(f"no confidence interval below {MIN_N_FOR_P} samples")
    if no_boot:
        low = high = np.nan
        notes.append("no confidence interval: n_boot = 0 (--n-boot 0) turns the bootstrap off")
    out.update(r=r, p=p, ci_low=low, ci_high=high, warning="; ".join(notes))
    return out


def correlate(samples: pd.DataFrame, readouts: pd.DataFrame,
              on: str | Sequence[str] = "sample_id", method: str = ALL_METHODS,
              scores: Sequence[str] | None = None, min_n: int = 4,
              confidence: float = 0.95, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Correlate every score with every marker and assay (:func:`join_readouts`, then
    :func:`correlate_joined`); the arguments are those of
    :func:`~napari_msc_morph.analysis.study.correlate_study`.

    Returns
    -------
    DataFrame
        Columns :data:`RESULT_COLUMNS`.
    """
    methods = resolve_methods(method)
    on = parse_columns(on)
    scores = resolve_score_columns(samples, scores, on)
    joined = join_readouts(samples, readouts, on=on, scores=scores)
    return correlate_joined(joined, scores, methods, min_n=min_n, confidence=confidence,
                            n_boot=n_boot, seed=seed)


def resolve_score_columns(samples: pd.DataFrame, scores: Sequence[str] | None,
                          on: Sequence[str] = ()) -> list[str]:
    """``scores`` as a list, or the default scores of ``samples`` besides ``on``."""
    scores = list(scores) if scores is not None else default_score_columns(samples, exclude=on)
    if not scores:
        raise BadInputError(
            f"The scores table has no numeric score columns; its columns are "
            f"{list(samples.columns)}. Run a prediction or measurement first."
        )
    return scores


def count_tests(joined: pd.DataFrame, scores: Sequence[str], methods: Sequence[str]) -> int:
    """How many correlations :func:`correlate_joined` computes (for progress bars)."""
    pairs = joined[["marker", "assay"]].drop_duplicates()
    return len(pairs) * len(scores) * len(methods)


def correlate_joined(joined: pd.DataFrame, scores: Sequence[str],
                     methods: Sequence[str], min_n: int = 4,
                     confidence: float = 0.95, n_boot: int = 2000, seed: int = 0,
                     progress: ProgressFn | None = None,
                     cancel: CancelToken | None = None) -> pd.DataFrame:
    """Correlate each score with each marker and assay of :func:`join_readouts`' table.

    ``methods`` are :data:`CORRELATION_METHODS` names; ``q`` is Benjamini-Hochberg within
    each method; one progress step per correlation.
    """
    total = count_tests(joined, scores, methods)
    records = []
    for (marker, assay), block in joined.groupby(["marker", "assay"], sort=True):
        for score in scores:
            for method in methods:
                check_cancelled(cancel, "Correlation cancelled.")
                result = correlation(block[score], block["value"], method=method, min_n=min_n,
                                     confidence=confidence, n_boot=n_boot, seed=seed)
                records.append({"score": score, "marker": marker, "assay": assay,
                                "method": method, **result})
                report(progress, len(records), total, f"{score} vs {marker} ({assay}), {method}")
    table = pd.DataFrame.from_records(records, columns=[c for c in RESULT_COLUMNS if c != "q"])
    table["q"] = table.groupby("method")["p"].transform(benjamini_hochberg)
    return table[RESULT_COLUMNS]
