"""Per-image summary of a per-cell table: counts, density, medians, % positive."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import BadInputError

__all__ = ["SUMMARY_FEATURES", "marker_names", "summarize_cells"]

SUMMARY_FEATURES = (
    "area",
    "perimeter",
    "equivalent_diameter",
    "major_axis",
    "minor_axis",
    "feret_max",
    "aspect_ratio",
    "eccentricity",
    "solidity",
    "extent",
    "circularity",
    "compactness",
    "nc_ratio",
)


def _summary_column(table: pd.DataFrame, feature: str) -> str | None:
    for suffix in ("_um2", "_um", "_px", ""):
        if feature + suffix in table.columns:
            return feature + suffix
    return None


def marker_names(table: pd.DataFrame) -> list[str]:
    """Channel names measured in ``table`` (those with a ``NAME_integrated`` column)."""
    return [c[: -len("_integrated")] for c in table.columns if c.endswith("_integrated")]


def summarize_cells(
    table: pd.DataFrame,
    *,
    pixel_size_um: float | None = None,
    image_shape: tuple[int, int] | None = None,
    thresholds: Mapping[str, float] | None = None,
    marker_columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Per-image summary of a :func:`measure_cells` table.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`measure_cells`; with a ``frame`` column one row per
        frame is returned.
    pixel_size_um, image_shape : optional
        Field size for the cell density; default from ``table.attrs``.
    thresholds : mapping of str to float, optional
        Positive-cell thresholds per marker; markers not given use Otsu's
        threshold over all cells of the table (pooled over frames, so frames
        stay comparable).
    marker_columns : mapping of str to str, optional
        Column judged per marker (default ``NAME_mean``; e.g.
        ``{"RUNX2": "RUNX2_nuc_mean"}`` for a nuclear marker).

    Returns
    -------
    pandas.DataFrame
        ``n_cells``, ``field_area_mm2`` and ``cell_density_per_mm2`` (when the
        field size in µm is known), ``FEATURE_median``/``_mean``/``_iqr`` for
        area and shape features (in µm when measured in µm), and per marker
        ``NAME_threshold`` and ``NAME_fraction_positive``.
    """
    from skimage.filters import threshold_otsu

    pixel_size = pixel_size_um if pixel_size_um is not None else table.attrs.get("pixel_size_um")
    shape = image_shape if image_shape is not None else table.attrs.get("image_shape")
    thresholds = dict(thresholds or {})
    markers = dict(marker_columns or {})
    for name in marker_names(table):
        markers.setdefault(name, f"{name}_mean")
    for name, column in markers.items():
        if column not in table.columns:
            raise BadInputError(f"marker {name!r}: column {column!r} is not in the table.")
    cutoffs: dict[str, float] = {}
    for name, column in markers.items():
        if name in thresholds and thresholds[name] is not None:
            cutoffs[name] = float(thresholds[name])
            continue
        values = table[column].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        cutoffs[name] = float(threshold_otsu(values)) if np.unique(values).size > 1 else np.nan

    field_mm2 = None
    if pixel_size is not None and shape is not None:
        field_mm2 = float(shape[0] * shape[1] * pixel_size**2 / 1e6)

    groups = table.groupby("frame", sort=True) if "frame" in table.columns else [(None, table)]
    rows = []
    for frame, part in groups:
        row: dict[str, float] = {}
        if frame is not None:
            row["frame"] = frame
        row["n_cells"] = len(part)
        if field_mm2 is not None:
            row["field_area_mm2"] = field_mm2
            row["cell_density_per_mm2"] = len(part) / field_mm2
        for feature in SUMMARY_FEATURES:
            column = _summary_column(part, feature)
            if column is None:
                continue
            values = part[column].to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            if values.size:
                q1, q2, q3 = np.percentile(values, [25, 50, 75])
                row[f"{column}_median"] = q2
                row[f"{column}_mean"] = float(values.mean())
                row[f"{column}_iqr"] = q3 - q1
            else:
                row[f"{column}_median"] = row[f"{column}_mean"] = row[f"{column}_iqr"] = np.nan
        for name, column in markers.items():
            cutoff = cutoffs[name]
            values = part[column].to_numpy(dtype=float)
            row[f"{name}_threshold"] = cutoff
            row[f"{name}_fraction_positive"] = (
                float(np.mean(values > cutoff)) if values.size and np.isfinite(cutoff) else np.nan
            )
        rows.append(row)
    if not rows:
        rows.append({"n_cells": 0})
    return pd.DataFrame(rows)
