"""Pixel runs and border pixels of one label plane, built once and read by every family.

Owned code, as :mod:`._hull` and :mod:`._order`: the fast morphometry kernels
(docs/morphometry.md, "Speed"; ``python benchmarks/bench_measure.py``).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Geometry", "compact_labels"]

_PERIMETER_WEIGHTS = np.zeros(50, dtype=np.float64)
_PERIMETER_WEIGHTS[[5, 7, 15, 17, 25, 27]] = 1
_PERIMETER_WEIGHTS[[21, 33]] = math.sqrt(2)
_PERIMETER_WEIGHTS[[13, 23]] = (1 + math.sqrt(2)) / 2


def compact_labels(plane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map label ids to 1..n. Returns (ids in ascending order, int32 image of 0..n)."""
    if plane.size == 0:
        return np.zeros(0, dtype=plane.dtype), np.zeros(plane.shape, np.int32)
    top = int(plane.max())
    if top == 0:
        return np.zeros(0, dtype=plane.dtype), np.zeros(plane.shape, np.int32)
    if top <= 4 * plane.size + 65536 and top < 2**31:
        flat = plane.ravel()
        if flat.dtype.itemsize == 8 and flat.dtype.kind == "u":
            flat = flat.astype(np.intp)  # bincount takes no uint64
        present = np.bincount(flat, minlength=top + 1)
        ids = np.flatnonzero(present[1:]) + 1
        if ids.size == top:  # already 1..n: the labels are their own compact ids
            return ids.astype(plane.dtype), plane.astype(np.int32, copy=False)
        lut = np.zeros(top + 1, dtype=np.int32)
        lut[ids] = np.arange(1, ids.size + 1, dtype=np.int32)
        return ids.astype(plane.dtype), lut[flat].reshape(plane.shape)
    ids, inverse = np.unique(plane.ravel(), return_inverse=True)
    inverse = inverse.astype(np.int32).reshape(plane.shape)
    if ids[0] == 0:
        return ids[1:], inverse
    return ids, inverse + 1


class Geometry:
    """Pixel runs and border pixels of a compact label plane, shared by the features."""

    def __init__(self, compact: np.ndarray, n: int):
        width = compact.shape[1]
        padded = np.pad(compact, 1)
        centre = padded[1:-1, 1:-1]
        fg = centre > 0
        # One comparison per pair of neighbours: a pixel differs from its
        # left neighbour exactly where that neighbour differs from its right one.
        across = padded[1:-1, :-1] != padded[1:-1, 1:]
        left = fg & across[:, :-1]
        right = fg & across[:, 1:]
        del across
        down_up = padded[:-1, 1:-1] != padded[1:, 1:-1]
        self.border = left | right | (fg & (down_up[:-1] | down_up[1:]))
        del down_up
        flat = compact.ravel()
        starts = np.flatnonzero(left)
        ends = np.flatnonzero(right)
        # Raster order pairs the k-th run start with the k-th run end.
        self.run_obj = flat[starts].astype(np.int64) - 1
        self.run_row = starts // width
        self.run_x0 = starts - self.run_row * width
        self.run_x1 = ends - (ends // width) * width
        big, small = np.iinfo(np.int64).max, np.iinfo(np.int64).min
        self.row_min = np.full(n, big)
        self.row_max = np.full(n, small)
        self.col_min = np.full(n, big)
        self.col_max = np.full(n, small)
        np.minimum.at(self.row_min, self.run_obj, self.run_row)
        np.maximum.at(self.row_max, self.run_obj, self.run_row)
        np.minimum.at(self.col_min, self.run_obj, self.run_x0)
        np.maximum.at(self.col_max, self.run_obj, self.run_x1)
        self.n = n
        self.width = width
        self._by_object: np.ndarray | None = None

    def moments(self):
        """Area, centroid and central second moments (per pixel) from the runs."""
        n, obj = self.n, self.run_obj
        r = (self.run_row - self.row_min[obj]).astype(np.int64)
        a = (self.run_x0 - self.col_min[obj]).astype(np.int64)
        b = (self.run_x1 - self.col_min[obj]).astype(np.int64)
        length = b - a + 1
        sum_x = length * (a + b) // 2

        def squares(k):  # sum of c^2 for c = 0..k
            return k * (k + 1) * (2 * k + 1) // 6

        sum_xx = squares(b) - squares(a - 1)
        area = np.bincount(obj, weights=length, minlength=n)
        safe = np.maximum(area, 1)
        my = np.bincount(obj, weights=r * length, minlength=n) / safe
        mx = np.bincount(obj, weights=sum_x, minlength=n) / safe
        mu_yy = np.bincount(obj, weights=r * r * length, minlength=n) / safe - my * my
        mu_xx = np.bincount(obj, weights=sum_xx, minlength=n) / safe - mx * mx
        mu_yx = np.bincount(obj, weights=r * sum_x, minlength=n) / safe - my * mx
        return (
            area.astype(np.int64), my + self.row_min, mx + self.col_min,
            np.clip(mu_yy, 0, None), np.clip(mu_xx, 0, None), mu_yx,
        )

    def _runs_by_object(self) -> np.ndarray:
        """Run indices grouped by object (raster order within each object)."""
        if self._by_object is None:
            obj = self.run_obj
            # uint16 keys sort by radix; wider ids fall back to a merge sort
            key = obj.astype(np.uint16) if self.n <= 2**16 else obj
            self._by_object = np.argsort(key, kind="stable")
        return self._by_object

    def object_runs(self) -> tuple[np.ndarray, np.ndarray]:
        """Flat index of the first pixel and length of every run, grouped by object."""
        order = self._runs_by_object()
        start = self.run_row[order] * self.width + self.run_x0[order]
        return start, (self.run_x1 - self.run_x0)[order] + 1

    def row_extremes(self):
        """Per (object, row), by object then row: first and last pixel column."""
        order = self._runs_by_object()
        obj, row = self.run_obj[order], self.run_row[order]
        new = np.ones(obj.size, bool)
        new[1:] = (obj[1:] != obj[:-1]) | (row[1:] != row[:-1])
        starts = np.flatnonzero(new)
        ends = np.r_[starts[1:], obj.size] - 1
        return obj[starts], row[starts], self.run_x0[order[starts]], self.run_x1[order[ends]]

    def perimeter(self, compact: np.ndarray) -> np.ndarray:
        """scikit-image's ``perimeter(neighborhood=4)`` of every object in one pass.

        Each border pixel's code (1 + 2 per 4-neighbour + 10 per diagonal
        neighbour that is a border pixel of the same object) is scikit-image's
        convolution of the border image, weighted as there.
        """
        height, width = compact.shape
        where = np.flatnonzero(self.border)
        own = compact.ravel()[where]
        padded_width = width + 2
        at = where + 2 * (where // width) + padded_width + 1   # index in the padded image
        border_labels = np.zeros((height + 2) * padded_width, compact.dtype)
        border_labels[at] = own
        edges = np.zeros(where.size, np.uint8)
        corners = np.zeros(where.size, np.uint8)
        for step in (-1, 1, -padded_width, padded_width):
            edges += border_labels[at + step] == own
        for step in (-padded_width - 1, -padded_width + 1, padded_width - 1, padded_width + 1):
            corners += border_labels[at + step] == own
        code = 1 + 2 * edges + 10 * corners
        return np.bincount(own, weights=_PERIMETER_WEIGHTS[code], minlength=self.n + 1)[1:]
