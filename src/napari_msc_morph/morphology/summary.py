"""Per-image summary of a per-cell table: counts, density, size statistics, % positive.

Size and shape statistics are edge-corrected by default (:data:`SIZE_WEIGHTINGS`,
:mod:`.edge`); a pooled Otsu threshold is learnt only where the pooled cells show
two populations (:func:`two_populations`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import BadInputError
from ..registry import Registry
from .edge import edge_weights, weighted_mean, weighted_quantile

__all__ = ["NO_THRESHOLD", "SIZE_WEIGHTINGS", "SUMMARY_FEATURES", "THRESHOLD_LEARNERS",
           "Modes", "marker_names", "no_threshold_warning", "pooled_thresholds",
           "summarize_cells", "two_populations"]

logger = logging.getLogger(__name__)

#: How a summary says a marker had no threshold (its fraction positive is NaN).
NO_THRESHOLD = (
    "no positive-cell threshold for {names}: fraction_positive is left empty (NaN). A threshold "
    "learnt from one image's own cells calls a share of them positive even when none is; give "
    "one threshold for the whole study: --threshold NAME=VALUE, --thresholds-from a previous "
    "run's cell tables or a --write-thresholds file (CLI), or "
    "summarize_cells(thresholds=pooled_thresholds(tables)) (Python)."
)


def no_threshold_warning(names: Sequence[str]) -> str:
    """The one warning for markers without a positive-cell threshold."""
    return NO_THRESHOLD.format(names=", ".join(names))


#: Quantile of the negative-control cells' values used as the threshold.
CONTROL_QUANTILE = 0.99

#: Size and shape features the summary gives a median, mean and IQR of.
SUMMARY_FEATURES = ("area", "perimeter", "equivalent_diameter", "major_axis", "minor_axis",
                    "feret_max", "aspect_ratio", "eccentricity", "solidity", "extent",
                    "circularity", "compactness", "nc_ratio")


def _equal_weights(table: pd.DataFrame, image_shape=None) -> np.ndarray:
    return np.ones(len(table))


#: How the per-image size and shape statistics weigh the cells: name ->
#: ``f(cell table, image shape) -> weights`` (``None``: the table cannot say).
SIZE_WEIGHTINGS: Registry = Registry("size weighting")
SIZE_WEIGHTINGS.add("miles-lantuejoul", edge_weights,
                    "edge-corrected (Miles 1974, Lantuéjoul 1980): each cell that does not touch "
                    "the border weighs H·W / ((H − 1 − h)(W − 1 − w)) for its h × w px bounding "
                    "box, so large cells, which touch the border more often, are not "
                    "under-counted; cells touching the border are left out")
SIZE_WEIGHTINGS.add("none", _equal_weights, "uncorrected: every cell of the table counts once")


def _size_weights(part: pd.DataFrame, weighting: str, shape) -> tuple[np.ndarray, str]:
    """Each cell's weight in the size statistics and the weighting actually used."""
    weights = SIZE_WEIGHTINGS.get(weighting)(part, shape)
    if weights is not None:
        return weights, weighting
    logger.warning("size statistics are not edge-corrected: the cell table has no "
                   "edge_weight column and no bounding boxes with a field shape; measure "
                   "the cells again to get it (size_weighting is 'none').")
    return _equal_weights(part), "none"


def _summary_column(table: pd.DataFrame, feature: str) -> str | None:
    return next((feature + suffix for suffix in ("_um2", "_um", "_px", "")
                 if feature + suffix in table.columns), None)


def marker_names(table: pd.DataFrame) -> list[str]:
    """Channel names measured in ``table`` (those with a ``NAME_integrated`` column)."""
    return [c[: -len("_integrated")] for c in table.columns if c.endswith("_integrated")]


def _marker_values(table: pd.DataFrame, column: str, where: str) -> np.ndarray:
    if column not in table.columns:
        raise BadInputError(f"{where}: column {column!r} is not in the table; measure the marker "
                            "with the same channel name.")
    values = table[column].to_numpy(dtype=float)
    return values[np.isfinite(values)]


def _exact_otsu(values: np.ndarray) -> float:
    """Otsu's threshold without bins (a 256-bin histogram can cut inside a cluster's tail):
    the midpoint of the adjacent sorted values that maximise the between-class variance."""
    v = np.sort(values.astype(float))
    n = v.size
    cumsum = np.cumsum(v)
    i = np.arange(1, n)                      # class 0 = the first i values
    w0 = i / n
    mu0 = cumsum[:-1] / i
    mu1 = (cumsum[-1] - cumsum[:-1]) / (n - i)
    between = w0 * (1 - w0) * (mu0 - mu1) ** 2
    between[v[1:] == v[:-1]] = -np.inf       # split only between distinct values
    k = int(np.argmax(between))
    return float((v[k] + v[k + 1]) / 2)


def _control_quantile(values: np.ndarray) -> float:
    return float(np.quantile(values, CONTROL_QUANTILE))


#: Ashman's D above which two fitted populations count as separate (Ashman et al. 1994).
MIN_ASHMAN_D = 2.0
#: The fitted density must dip between the two populations to at most this share of its
#: lower peak: D > 2 means two modes only for populations of equal size and spread.
MAX_VALLEY = 0.9
#: The smaller population must hold at least this share of the cells.
MIN_SHARE = 0.01
#: Cells drawn (at random, reproducibly) for the mixture fit of a large run.
_MODES_SAMPLE = 20_000


@dataclass(frozen=True)
class Modes:
    """What :func:`two_populations` found (``valley``: the mixture density's lowest point
    between the means over its lower value at them; 1: no dip)."""

    two: bool
    ashman_d: float
    valley: float
    smaller_share: float
    scale: str
    converged: bool = True

    def describe(self) -> str:
        return (f"Ashman's D = {self.ashman_d:.2f} (two populations need > {MIN_ASHMAN_D:g}), "
                f"the density between the two dips to {self.valley:.0%} of its height at "
                f"the lower centre (two need <= {MAX_VALLEY:.0%}), smaller population "
                f"{self.smaller_share:.1%}, on a {self.scale} scale"
                + ("" if self.converged else "; the mixture fit did not converge"))


def two_populations(values) -> Modes:
    """Whether cell values form two populations: a two-component Gaussian mixture.

    Fitted to the log values (linear when some are ≤ 0: one log-normal population
    is one Gaussian). Two populations need Ashman's D above :data:`MIN_ASHMAN_D`
    (Ashman, Bird & Zepf 1994), a density dip to :data:`MAX_VALLEY`, a smaller
    component of :data:`MIN_SHARE` and a converged fit.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> two_populations(rng.lognormal(5, 0.3, 500)).two
    False
    >>> two_populations(np.r_[rng.lognormal(5, 0.3, 400), rng.lognormal(7, 0.3, 100)]).two
    True
    """
    import warnings

    from scipy.stats import norm
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size > _MODES_SAMPLE:
        values = np.random.default_rng(0).choice(values, _MODES_SAMPLE, replace=False)
    log = values.size and bool(np.all(values > 0))
    x = np.log(values) if log else values
    if values.size < 4 or np.ptp(x) == 0:
        return Modes(False, 0.0, 1.0, 0.0, "log" if log else "linear")
    scaled = (x - x.mean()) / x.std()
    with warnings.catch_warnings():  # a fit that does not converge is reported in Modes
        warnings.simplefilter("ignore", ConvergenceWarning)
        mixture = GaussianMixture(2, n_init=3, random_state=0).fit(scaled.reshape(-1, 1))
    means = mixture.means_.ravel()
    sds = np.sqrt(mixture.covariances_.ravel())
    shares = mixture.weights_
    ashman = float(np.sqrt(2) * abs(means[0] - means[1]) / np.sqrt(np.sum(sds**2)))
    grid = np.linspace(means.min(), means.max(), 512)
    density = sum(w * norm.pdf(grid, m, s) for w, m, s in zip(shares, means, sds, strict=True))
    valley = float(density.min() / min(density[0], density[-1]))
    smaller = float(shares.min())
    converged = bool(mixture.converged_)
    two = (converged and ashman > MIN_ASHMAN_D and valley <= MAX_VALLEY
           and smaller >= MIN_SHARE)
    return Modes(two, ashman, valley, smaller, "log" if log else "linear", converged)


#: Logged when a pooled Otsu threshold is refused (the marker, what was found).
ONE_POPULATION = (
    "marker {name!r}: the pooled cells show one population, not two ({modes}); Otsu's "
    "threshold would cut through that one population and call a large share of negative cells "
    "positive. No threshold is learnt, so {name}_fraction_positive stays empty. Learn it "
    "from negative-control cells instead: method 'control' (the 99th percentile of the "
    "controls; CLI: measure the control images with --write-thresholds --learn control) "
    "or give --threshold {name}=VALUE."
)


#: How :func:`pooled_thresholds` learns one threshold from the pooled cell values:
#: name -> ``f(values) -> float``; ``pool`` says which tables feed it (``all``, or only
#: the ``controls``) and ``distinct`` how many distinct values it needs.
THRESHOLD_LEARNERS: Registry = Registry("threshold learner")
THRESHOLD_LEARNERS.add("otsu", _exact_otsu, "Otsu's threshold over every cell of the run, "
                       "exact (no histogram bins); only where the cells form two populations",
                       pool="all", distinct=2, needs_two_populations=True)
THRESHOLD_LEARNERS.add("control", _control_quantile, f"the {100 * CONTROL_QUANTILE:g}th "
                       "percentile of the negative-control cells", pool="controls", distinct=1)


def pooled_thresholds(
    tables: Sequence[pd.DataFrame],
    markers: Sequence[str] | None = None,
    method: str = "otsu",
    control_mask: Sequence[bool] | None = None,
    marker_columns: Mapping[str, str] | None = None,
    names: Sequence[str] | None = None,
    check_populations: bool = True,
) -> dict[str, float]:
    """One positive-cell threshold per marker for a whole run of images.

    Parameters
    ----------
    tables : sequence of pandas.DataFrame
        Per-cell tables of every image of the run.
    markers : sequence of str, optional
        Markers to threshold (default: those of the first table).
    method : str
        A :data:`THRESHOLD_LEARNERS` name: ``otsu`` pools every cell (a marker
        whose cells form one population, :func:`two_populations`, gets none and
        a warning); ``control`` takes the 99th percentile of the control cells.
    control_mask : sequence of bool, optional
        With ``control``: which tables are controls (default all).
    marker_columns : mapping of str to str, optional
        Column judged per marker (default ``NAME_mean``).
    names : sequence of str, optional
        How messages call the tables (e.g. file paths).
    check_populations : bool
        With ``otsu``, refuse a marker whose cells form one population.

    Returns
    -------
    dict of str to float
        Markers refused for having one population are left out (logged).

    Examples
    --------
    >>> neg = pd.DataFrame({"RUNX2_mean": [10.0, 11, 10, 9, 12], "RUNX2_integrated": 0})
    >>> pos = pd.DataFrame({"RUNX2_mean": [100.0, 110, 95, 10, 9], "RUNX2_integrated": 0})
    >>> cut = pooled_thresholds([neg, pos])["RUNX2"]
    >>> int((neg.RUNX2_mean > cut).sum()), int((pos.RUNX2_mean > cut).sum())
    (0, 3)
    """
    learner = THRESHOLD_LEARNERS.entry(method)  # unknown names: a message listing the choices
    tables = list(tables)
    if not tables:
        raise BadInputError("pooled_thresholds: no tables given; pass the per-cell tables of the run.")
    labels = list(names) if names is not None else [f"table {i + 1}" for i in range(len(tables))]
    if control_mask is not None:
        control_mask = [bool(c) for c in control_mask]
        if len(control_mask) != len(tables):
            raise BadInputError(f"control_mask has {len(control_mask)} entries for {len(tables)} tables.")
    use = ([True] * len(tables) if learner.extra["pool"] == "all" or control_mask is None
           else control_mask)
    if not any(use):
        raise BadInputError("control_mask marks no table as a control; mark the control images.")
    markers = list(markers) if markers is not None else marker_names(tables[0])
    if not markers:
        raise BadInputError(f"{labels[0]}: no marker columns (NAME_integrated); measure with channels.")
    columns = dict(marker_columns or {})
    out: dict[str, float] = {}
    for name in markers:
        column = columns.get(name, f"{name}_mean")
        values = np.concatenate([_marker_values(t, column, f"marker {name!r} in {label}")
                                 for t, label, u in zip(tables, labels, use, strict=True) if u])
        if values.size == 0 or np.unique(values).size < learner.extra["distinct"]:
            raise BadInputError(f"marker {name!r}: too few distinct cell values to learn a threshold "
                                "from; give more images or a threshold.")
        if check_populations and learner.extra.get("needs_two_populations"):
            modes = two_populations(values)
            if not modes.two:
                logger.warning(ONE_POPULATION.format(name=name, modes=modes.describe()))
                continue
        out[name] = learner.value(values)
    return out


def summarize_cells(
    table: pd.DataFrame,
    *,
    pixel_size_um: float | None = None,
    image_shape: tuple[int, int] | None = None,
    thresholds: Mapping[str, float] | None = None,
    marker_columns: Mapping[str, str] | None = None,
    threshold_sources: Mapping[str, str] | None = None,
    n_border_excluded: int | None = None,
    size_weighting: str = "miles-lantuejoul",
    warn: bool = True,
) -> pd.DataFrame:
    """Per-image summary of a :func:`measure_cells` table.

    Parameters
    ----------
    table : pandas.DataFrame
        A per-cell table; with a ``frame`` column, one row per frame.
    pixel_size_um, image_shape : optional
        Field size for the cell density; default from ``table.attrs``.
    thresholds : mapping of str to float, optional
        Positive-cell thresholds per marker, one for the whole study; a marker
        without one gets a NaN fraction positive and a warning.
    marker_columns : mapping of str to str, optional
        Column judged per marker (default ``NAME_mean``).
    threshold_sources : mapping of str to str, optional
        Where each threshold came from (default ``given``; ``none`` without one).
    n_border_excluded : int, optional
        Objects the segmentation dropped at the border (NaN when unknown).
    size_weighting : str
        A :data:`SIZE_WEIGHTINGS` name for the size and shape statistics.
    warn : bool
        Log the missing-threshold warning (off where a result carries it instead).

    Returns
    -------
    pandas.DataFrame
        ``n_cells``, the density when the field size is known,
        ``FEATURE_median``/``_mean``/``_iqr`` (weighted), ``size_weighting``,
        ``n_cells_sized``, and per marker ``NAME_threshold``,
        ``NAME_threshold_source`` and ``NAME_fraction_positive``.
    """
    SIZE_WEIGHTINGS.entry(size_weighting)  # unknown names: a message listing the choices
    pixel_size = pixel_size_um if pixel_size_um is not None else table.attrs.get("pixel_size_um")
    shape = image_shape if image_shape is not None else table.attrs.get("image_shape")
    thresholds = dict(thresholds or {})
    markers = dict(marker_columns or {})
    for name in marker_names(table):
        markers.setdefault(name, f"{name}_mean")
    for name, column in markers.items():
        if column not in table.columns:
            raise BadInputError(f"marker {name!r}: column {column!r} is not in the table.")
    given = {name: thresholds.get(name) for name in markers}
    cutoffs = {name: np.nan if value is None else float(value) for name, value in given.items()}
    sources = {name: "none" if value is None else (threshold_sources or {}).get(name, "given")
               for name, value in given.items()}
    missing = [name for name in markers if not np.isfinite(cutoffs[name])]
    if missing and warn:
        logger.warning(no_threshold_warning(missing))

    field_mm2 = (float(shape[0] * shape[1] * pixel_size**2 / 1e6)
                 if pixel_size is not None and shape is not None else None)
    border = np.nan if n_border_excluded is None else n_border_excluded

    groups = table.groupby("frame", sort=True) if "frame" in table.columns else [(None, table)]
    rows = []
    for frame, part in groups:
        row = {} if frame is None else {"frame": frame}
        row.update(n_cells=len(part), n_border_excluded=border)
        if field_mm2 is not None:
            row["field_area_mm2"] = field_mm2
            row["cell_density_per_mm2"] = len(part) / field_mm2
        weights, used = _size_weights(part, size_weighting, shape)
        row["size_weighting"] = used
        row["n_cells_sized"] = int(np.count_nonzero(weights > 0))
        for feature in SUMMARY_FEATURES:
            column = _summary_column(part, feature)
            if column is None:
                continue
            values = part[column].to_numpy(dtype=float)
            q1, q2, q3 = weighted_quantile(values, weights, [0.25, 0.5, 0.75])
            row[f"{column}_median"] = q2
            row[f"{column}_mean"] = weighted_mean(values, weights)
            row[f"{column}_iqr"] = q3 - q1
        for name, column in markers.items():
            cutoff = cutoffs[name]
            values = part[column].to_numpy(dtype=float)
            row[f"{name}_threshold"] = cutoff
            row[f"{name}_threshold_source"] = sources[name]
            row[f"{name}_fraction_positive"] = (
                float(np.mean(values > cutoff)) if values.size and np.isfinite(cutoff) else np.nan
            )
        rows.append(row)
    if not rows:
        rows.append({"n_cells": 0, "n_border_excluded": border, "size_weighting": size_weighting})
    return pd.DataFrame(rows)
