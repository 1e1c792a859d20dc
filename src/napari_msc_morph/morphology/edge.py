"""Cell size without edge bias: Miles–Lantuéjoul weights and weighted statistics.

A cell of bounding box ``h × w`` px fits wholly inside an ``H × W`` px field in
``(H − 1 − h)(W − 1 − w)`` places; its weight is ``H·W`` over that (Miles 1974,
Lantuéjoul 1980; docs/morphometry.md, "Cell size without edge bias").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import BadInputError

__all__ = ["BBOX_COLUMNS", "edge_weights", "edge_weights_from_boxes", "weighted_mean",
           "weighted_quantile"]

#: The per-cell bounding-box columns the weights are computed from (max exclusive).
BBOX_COLUMNS = ("bbox_min_y_px", "bbox_min_x_px", "bbox_max_y_px", "bbox_max_x_px")


def edge_weights_from_boxes(min_y, min_x, max_y, max_x, shape) -> np.ndarray:
    """Miles–Lantuéjoul weight of each object from its bounding box (pixels, max exclusive).

    ``shape`` is the field's ``(H, W)``; an object touching the border weighs 0.

    Examples
    --------
    >>> edge_weights_from_boxes([1, 0], [1, 5], [11, 10], [11, 15], (100, 100)).round(4).tolist()
    [1.2625, 0.0]
    """
    height, width = (int(s) for s in shape)
    min_y, min_x, max_y, max_x = (np.asarray(v, dtype=float) for v in (min_y, min_x, max_y, max_x))
    interior = (min_y >= 1) & (min_x >= 1) & (max_y <= height - 1) & (max_x <= width - 1)
    room_y = height - 1 - (max_y - min_y)
    room_x = width - 1 - (max_x - min_x)
    with np.errstate(divide="ignore", invalid="ignore"):
        weights = height * width / (room_y * room_x)
    return np.where(interior & (room_y > 0) & (room_x > 0), weights, 0.0)


def edge_weights(table: pd.DataFrame, image_shape=None) -> np.ndarray | None:
    """The weights of a per-cell table: its ``edge_weight`` column, else from its boxes and
    ``image_shape`` (default ``table.attrs["image_shape"]``); ``None`` without either."""
    if "edge_weight" in table.columns:
        weights = pd.to_numeric(table["edge_weight"], errors="coerce").to_numpy(dtype=float)
        if np.any(weights < 0):
            raise BadInputError("column 'edge_weight' holds negative values; a weight is 0 or "
                                "more (measure the cells again to get it right).")
        return weights
    shape = image_shape if image_shape is not None else table.attrs.get("image_shape")
    if shape is None or not all(c in table.columns for c in BBOX_COLUMNS):
        return None
    return edge_weights_from_boxes(*(table[c].to_numpy() for c in BBOX_COLUMNS), shape[-2:])


def _clean(values, weights) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(values, dtype=float).ravel()
    weights = np.asarray(weights, dtype=float).ravel()
    if values.shape != weights.shape:
        raise ValueError(f"{values.size} values but {weights.size} weights")
    keep = np.isfinite(values) & np.isfinite(weights) & (weights > 0)
    return values[keep], weights[keep]


def weighted_mean(values, weights) -> float:
    """Mean of the finite values with positive weight (NaN without any)."""
    values, weights = _clean(values, weights)
    return float(np.average(values, weights=weights)) if values.size else np.nan


def weighted_quantile(values, weights, q) -> np.ndarray | float:
    """Quantiles of weighted values: the averaged inverted distribution function.

    Quantile ``q`` is the smallest value whose cumulative weight reaches ``q`` of
    the total, averaged with the next where it equals it exactly (Hyndman & Fan
    1996, definition 2): with integer weights, the quantile of the values repeated
    ``weight`` times. Non-finite values and non-positive weights are left out; NaN
    without any.

    Examples
    --------
    >>> float(weighted_quantile([1, 2, 3, 4], [1, 1, 1, 1], 0.5))
    2.5
    >>> float(weighted_quantile([1, 2, 3], [1, 1, 4], 0.5))
    3.0
    """
    values, weights = _clean(values, weights)
    qs = np.atleast_1d(np.asarray(q, dtype=float))
    if np.any((qs < 0) | (qs > 1)):
        raise ValueError(f"quantiles must lie in [0, 1], got {q}")
    if not values.size:
        out = np.full(qs.shape, np.nan)
        return out if np.ndim(q) else float(out[0])
    order = np.argsort(values, kind="stable")
    values, weights = values[order], weights[order]
    cumulative = np.cumsum(weights)
    total = cumulative[-1]
    target = qs * total
    # relative tolerance: the running sum of float weights is not exact
    tol = 1e-10 * total
    first = np.searchsorted(cumulative, target - tol, side="left")
    first = np.clip(first, 0, values.size - 1)
    on_step = np.abs(cumulative[first] - target) <= tol
    second = np.clip(first + 1, 0, values.size - 1)
    out = np.where(on_step & (qs > 0) & (qs < 1), (values[first] + values[second]) / 2,
                   values[first])
    out = np.where(qs <= 0, values[0], out)
    return out if np.ndim(q) else float(out[0])
