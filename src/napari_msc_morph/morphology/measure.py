"""Per-object size, shape and intensity measurements as one table.

The engine works on whole label images at once: every feature family is one
vectorised pass over the foreground pixels (``np.bincount``, sorting, shifted
comparisons), not a loop over region objects. The convex hull family (convex
area, solidity, Feret diameters) is computed for all objects together in exact
integer arithmetic (:mod:`._hull`), reproducing scikit-image's convex image.

Definitions follow scikit-image where it has the same feature (area, perimeter
with 4-connected border pixels, inertia-tensor axis lengths, eccentricity,
orientation, solidity, extent, maximum Feret diameter, population standard
deviation); the others are given in :func:`measure_cells`.
"""

from __future__ import annotations

import math
import warnings
from typing import Callable, Generator, Mapping

import numpy as np
import pandas as pd

from ._hull import hull_features

__all__ = [
    "measure_cells",
    "iter_measure_cells",
    "summarize_cells",
    "check_labels",
    "check_channel",
    "LENGTH_FEATURES",
    "AREA_FEATURES",
]

# Features with a length unit: column ``<name>_px`` always, ``<name>_um`` with a pixel size.
LENGTH_FEATURES = (
    "perimeter",
    "equivalent_diameter",
    "major_axis",
    "minor_axis",
    "feret_max",
    "feret_min",
    "centroid_y",
    "centroid_x",
)
# Features with an area unit: ``<name>_px`` always, ``<name>_um2`` with a pixel size.
AREA_FEATURES = ("area", "convex_area")
SHAPE_FEATURES = (
    "aspect_ratio",
    "eccentricity",
    "orientation_deg",
    "solidity",
    "extent",
    "circularity",
    "compactness",
)
BBOX_COLUMNS = ("bbox_min_y_px", "bbox_min_x_px", "bbox_max_y_px", "bbox_max_x_px")
INTENSITY_STATS = ("mean", "median", "min", "max", "std", "integrated")

ProgressStep = tuple[int, int, str]

_PERIMETER_WEIGHTS = np.zeros(50, dtype=np.float64)
_PERIMETER_WEIGHTS[[5, 7, 15, 17, 25, 27]] = 1
_PERIMETER_WEIGHTS[[21, 33]] = math.sqrt(2)
_PERIMETER_WEIGHTS[[13, 23]] = (1 + math.sqrt(2)) / 2


# --------------------------------------------------------------------------- checks
def check_labels(labels, name: str = "labels") -> np.ndarray:
    """Return ``labels`` as an integer array or raise a ValueError that says what to do.

    Parameters
    ----------
    labels : array_like
        Integer label image, 2D or with leading axes. Booleans count as one object.
    name : str
        How to call the array in messages (a layer or file name).
    """
    arr = np.asarray(labels)
    if arr.dtype == bool:
        return arr.astype(np.uint8)
    if arr.ndim < 2:
        raise ValueError(
            f"{name} must be a 2D label image (or a stack of them), got shape {arr.shape}."
        )
    if arr.ndim == 3 and arr.shape[-1] in (3, 4) and arr.dtype == np.uint8:
        raise ValueError(
            f"{name} looks like an RGB(A) image (shape {arr.shape}, uint8), not a label "
            "image; segment it first (Segment cells / `msc-morph segment`) and measure "
            "the resulting labels."
        )
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"{name} has dtype {arr.dtype}; labels must be integers (0 = background, "
            "1, 2, ... = objects). Segment the image first, or convert the layer to "
            "Labels if it already holds whole-number ids."
        )
    if np.issubdtype(arr.dtype, np.signedinteger) and arr.size and arr.min() < 0:
        raise ValueError(
            f"{name} has negative values (min {arr.min()}); labels must be 0 for "
            "background and positive ids for objects."
        )
    return arr


def check_channel(image, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """Return an intensity channel, checking it matches ``shape`` and has no NaN."""
    arr = np.asarray(image)
    if arr.ndim == len(shape) + 1 and arr.shape[-1] in (3, 4) and arr.shape[:-1] == shape:
        raise ValueError(
            f"channel {name!r} is an RGB(A) image (shape {arr.shape}); split it into "
            "single channels (napari: right-click the layer > Split RGB) and choose one."
        )
    if arr.shape != tuple(shape):
        raise ValueError(
            f"channel {name!r} has shape {arr.shape} but the labels have shape "
            f"{tuple(shape)}; use a channel from the same field (same size and number "
            "of frames)."
        )
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"channel {name!r} has dtype {arr.dtype}; it must be numeric.")
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        n_bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ValueError(
            f"channel {name!r} contains {n_bad} NaN/inf pixel(s); fill or mask them "
            "(e.g. np.nan_to_num) before measuring."
        )
    return arr


def _check_pixel_size(pixel_size_um) -> float | None:
    if pixel_size_um is None:
        return None
    values = np.atleast_1d(np.asarray(pixel_size_um, dtype=float))
    if values.size > 1:
        if not np.allclose(values, values[0], rtol=1e-6):
            raise ValueError(
                f"pixel size {tuple(values)} µm is anisotropic; perimeter and shape "
                "features need square pixels: resample the image first."
            )
    value = float(values[0])
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"pixel size must be a positive number of µm, got {pixel_size_um!r}.")
    return value


# --------------------------------------------------------------------------- columns
def _size_shape_columns(pixel_size: bool) -> list[str]:
    cols = ["label"]
    for name in ("area", "convex_area"):
        cols.append(f"{name}_px")
        if pixel_size:
            cols.append(f"{name}_um2")
    for name in LENGTH_FEATURES:
        cols.append(f"{name}_px")
        if pixel_size:
            cols.append(f"{name}_um")
    cols.extend(BBOX_COLUMNS)
    cols.extend(SHAPE_FEATURES)
    return cols


def _intensity_columns(names, with_nuclei: bool) -> list[str]:
    cols = []
    for name in names:
        cols.extend(f"{name}_{stat}" for stat in INTENSITY_STATS)
        if with_nuclei:
            cols.extend([f"{name}_nuc_mean", f"{name}_cyto_mean", f"{name}_nuc_cyto_ratio"])
    return cols


def _linkage_columns(pixel_size: bool) -> list[str]:
    cols = ["nucleus_label", "n_nuclei", "nucleus_area_px"]
    if pixel_size:
        cols.append("nucleus_area_um2")
    cols.append("nc_ratio")
    return cols


# --------------------------------------------------------------------------- engine
def measure_cells(
    labels,
    intensities=None,
    nuclei=None,
    pixel_size_um=None,
    *,
    convex: bool = True,
    progress: Callable[[int, int, str], None] | None = None,
) -> pd.DataFrame:
    """Measure size, shape and marker intensities of every labelled object.

    Parameters
    ----------
    labels : ndarray of int, shape (..., Y, X)
        Label image: 0 is background, each positive id one object (any integer
        dtype, ids need not be contiguous). Leading axes (time, fields) are
        measured plane by plane and numbered in a ``frame`` column (C order).
    intensities : ndarray or mapping of str to ndarray, optional
        Intensity channels with the shape of ``labels``; a mapping gives the
        channel names (``{"RUNX2": img, ...}``), a single array is called
        ``intensity``.
    nuclei : ndarray of int, optional
        Nuclei labels with the shape of ``labels``. Adds nucleus linkage
        (``nucleus_label``, ``n_nuclei``, ``nucleus_area_px``/``_um2``,
        ``nc_ratio``) and per channel ``NAME_nuc_mean``, ``NAME_cyto_mean``,
        ``NAME_nuc_cyto_ratio``.
    pixel_size_um : float, optional
        Pixel size in µm (square pixels). Without it the µm columns are left
        out and a warning says so; 1 µm/px is never assumed.
    convex : bool
        Compute the convex hull family (``convex_area``, ``solidity``, Feret
        diameters); the slowest family, turn off for the fastest table.
    progress : callable, optional
        Called as ``progress(done, total, message)`` between steps.

    Returns
    -------
    pandas.DataFrame
        One row per object, see Notes. An empty label image gives an empty
        table with the same columns. ``table.attrs`` holds ``pixel_size_um``
        and ``image_shape`` (of one plane) for :func:`summarize_cells`.

    Notes
    -----
    Length columns come as ``*_px`` and, with a pixel size, ``*_um``; areas as
    ``*_px`` and ``*_um2``.

    - ``area``: pixel count. ``perimeter``: scikit-image's 4-connected border
      estimate (Benkrid & Crookes). ``equivalent_diameter``: sqrt(4 A / pi).
    - ``major_axis``/``minor_axis``: 4 sqrt(eigenvalues of the inertia tensor)
      (ellipse with the same second moments), ``aspect_ratio`` major/minor
      (NaN for a one-pixel-thin object), ``eccentricity``, ``orientation_deg``
      (angle between the row axis and the major axis, -90..90, as
      scikit-image's ``orientation`` in degrees).
    - ``convex_area`` and ``solidity`` = area / convex area as scikit-image;
      ``feret_max``: largest caliper width (as scikit-image's
      ``feret_diameter_max``), ``feret_min``: smallest caliper width of the
      same hull.
    - ``extent`` = area / bounding-box area; ``circularity`` = 4 pi A / P^2
      (CellProfiler's FormFactor, 1 for a disk); ``compactness`` = 2 pi x mean
      squared distance of the pixels from the centroid / A (CellProfiler's
      Compactness, 1 for a disk, larger for irregular shapes).
    - bounding box ``bbox_min_y_px`` .. ``bbox_max_x_px`` (max exclusive).
    - intensities: ``NAME_mean``, ``_median``, ``_min``, ``_max``, ``_std``
      (population, ddof=0), ``_integrated`` (sum).
    - linkage: each nucleus belongs to the object holding most of its pixels;
      ``n_nuclei`` counts them, ``nucleus_label`` is the largest,
      ``nucleus_area`` the summed area of all of them, ``nc_ratio`` =
      nucleus area / object area.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.zeros((32, 32), np.uint16)
    >>> labels[4:10, 4:14] = 7
    >>> table = measure_cells(labels, pixel_size_um=0.5)
    >>> table[["label", "area_px", "area_um2"]].to_dict("records")
    [{'label': 7, 'area_px': 60, 'area_um2': 15.0}]
    """
    steps = iter_measure_cells(
        labels, intensities, nuclei, pixel_size_um, convex=convex
    )
    while True:
        try:
            step = next(steps)
        except StopIteration as done:
            return done.value
        if progress is not None:
            progress(*step)


def iter_measure_cells(
    labels,
    intensities=None,
    nuclei=None,
    pixel_size_um=None,
    *,
    convex: bool = True,
) -> Generator[ProgressStep, None, pd.DataFrame]:
    """Generator form of :func:`measure_cells` for progress bars and cancelling.

    Yields ``(done, total, message)`` between steps and returns the table
    (``table = yield from iter_measure_cells(...)``). Stopping the generator
    cancels the measurement.
    """
    labels = check_labels(labels)
    shape = labels.shape
    if isinstance(intensities, Mapping):
        channels = {str(k): check_channel(v, str(k), shape) for k, v in intensities.items()}
    elif intensities is None:
        channels = {}
    else:
        channels = {"intensity": check_channel(intensities, "intensity", shape)}
    for name in channels:
        if not name or any(ch in name for ch in ", \t\n"):
            raise ValueError(f"channel name {name!r} must be a non-empty word without spaces or commas.")
    if nuclei is not None:
        nuclei = check_labels(nuclei, "nuclei")
        if nuclei.shape != shape:
            raise ValueError(
                f"nuclei labels have shape {nuclei.shape} but the labels have shape {shape}; "
                "use nuclei segmented from the same field."
            )
    pixel_size = _check_pixel_size(pixel_size_um)
    if pixel_size is None:
        warnings.warn(
            "measure_cells: no pixel size was given (argument, layer scale or file "
            "metadata), so the µm columns (area_um2, perimeter_um, ...) are left out and "
            "only pixel units are reported. Pass pixel_size_um to get them.",
            UserWarning,
            stacklevel=3,
        )

    lead = shape[:-2]
    frames = list(np.ndindex(*lead)) if lead else [()]
    steps_per_frame = 4 + len(channels) + (1 if nuclei is not None else 0)
    total = steps_per_frame * len(frames)
    tables = []
    for f, index in enumerate(frames):
        offset = f * steps_per_frame
        plane_channels = {k: v[index] for k, v in channels.items()}
        plane_nuclei = None if nuclei is None else nuclei[index]
        table = yield from _measure_plane(
            labels[index], plane_channels, plane_nuclei, pixel_size, convex, offset, total
        )
        if lead:
            table.insert(0, "frame", np.full(len(table), f, dtype=np.int64))
        tables.append(table)
    if len(tables) == 1:
        result = tables[0]
    else:
        non_empty = [t for t in tables if len(t)]
        result = pd.concat(non_empty or tables[:1], ignore_index=True)
    result.attrs = {"pixel_size_um": pixel_size, "image_shape": tuple(shape[-2:])}
    yield total, total, "done"
    return result


def _compact_labels(plane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map label ids to 1..n. Returns (ids in ascending order, int32 image of 0..n)."""
    if plane.size == 0:
        return np.zeros(0, dtype=plane.dtype), np.zeros(plane.shape, np.int32)
    top = int(plane.max())
    if top == 0:
        return np.zeros(0, dtype=plane.dtype), np.zeros(plane.shape, np.int32)
    if top <= 4 * plane.size + 65536:
        flat = plane.ravel().astype(np.intp, copy=False)
        present = np.bincount(flat, minlength=top + 1)
        ids = np.flatnonzero(present[1:]) + 1
        lut = np.zeros(top + 1, dtype=np.int32)
        lut[ids] = np.arange(1, ids.size + 1, dtype=np.int32)
        return ids.astype(plane.dtype), lut[flat].reshape(plane.shape)
    ids, inverse = np.unique(plane.ravel(), return_inverse=True)
    inverse = inverse.astype(np.int32).reshape(plane.shape)
    if ids[0] == 0:
        return ids[1:], inverse
    return ids, inverse + 1


class _Geometry:
    """Pixel runs and border pixels of a compact label plane, shared by the features."""

    def __init__(self, compact: np.ndarray, n: int):
        height, width = compact.shape
        padded = np.pad(compact, 1)
        centre = padded[1:-1, 1:-1]
        fg = centre > 0
        left = fg & (padded[1:-1, :-2] != centre)
        right = fg & (padded[1:-1, 2:] != centre)
        up = fg & (padded[:-2, 1:-1] != centre)
        down = fg & (padded[2:, 1:-1] != centre)
        self.border = left | right | up | down
        flat = compact.ravel()
        starts = np.flatnonzero(left)
        ends = np.flatnonzero(right)
        # Raster order pairs the k-th run start with the k-th run end.
        self.run_obj = flat[starts].astype(np.int64) - 1
        self.run_row = starts // width
        self.run_x0 = starts - self.run_row * width
        self.run_x1 = ends - (ends // width) * width
        tops = np.flatnonzero(up)
        bottoms = np.flatnonzero(down)
        self.top_obj = flat[tops].astype(np.int64) - 1
        self.top_row, self.top_col = np.divmod(tops, width)
        self.bottom_obj = flat[bottoms].astype(np.int64) - 1
        self.bottom_row, self.bottom_col = np.divmod(bottoms, width)
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

    def hull_candidates(self):
        """Run-end edge mid-points and one pixel centre per object, doubled."""
        y = np.concatenate([2 * self.run_row, 2 * self.run_row, 2 * self.top_row - 1, 2 * self.bottom_row + 1])
        x = np.concatenate([2 * self.run_x0 - 1, 2 * self.run_x1 + 1, 2 * self.top_col, 2 * self.bottom_col])
        obj = np.concatenate([self.run_obj, self.run_obj, self.top_obj, self.bottom_obj])
        cy = np.zeros(self.n, np.int64)
        cx = np.zeros(self.n, np.int64)
        cy[self.run_obj[::-1]] = 2 * self.run_row[::-1]
        cx[self.run_obj[::-1]] = 2 * self.run_x0[::-1]
        return obj, y.astype(np.int64), x.astype(np.int64), cy, cx

    def perimeter(self, compact: np.ndarray) -> np.ndarray:
        """scikit-image's ``perimeter(neighborhood=4)`` of every object in one pass."""
        border_labels = np.pad(np.where(self.border, compact, 0), 1)
        width = border_labels.shape[1]
        flat = border_labels.ravel()
        where = np.flatnonzero(flat)
        own = flat[where]
        code = np.ones(where.size, dtype=np.int64)
        for step in (-1, 1, -width, width):
            code += 2 * (flat[where + step] == own)
        for step in (-width - 1, -width + 1, width - 1, width + 1):
            code += 10 * (flat[where + step] == own)
        return np.bincount(own, weights=_PERIMETER_WEIGHTS[code], minlength=self.n + 1)[1:]


def _sorted_by_label(lab: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Values sorted by (label, value); ``lab`` are compact ids of the foreground."""
    if np.issubdtype(values.dtype, np.integer) and values.size:
        low = int(values.min())
        span = int(values.max()) - low + 1
        if (int(lab.max()) + 1) * span < 2**62:
            key = lab.astype(np.int64) * span + (values.astype(np.int64) - low)
            key.sort()
            return (key % span + low).astype(np.float64)
    order = np.lexsort((values, lab))
    return values[order].astype(np.float64)


def _measure_plane(plane, channels, nuclei, pixel_size, convex, offset, total):
    ids, compact = _compact_labels(plane)
    n = ids.size
    height, width = compact.shape
    yield offset, total, f"size and moments of {n} objects"

    geometry = _Geometry(compact, n)
    area, cy, cx, mu_yy, mu_xx, mu_yx = geometry.moments()
    safe_area = np.maximum(area, 1)

    # Inertia tensor as scikit-image: [[mu_xx, -mu_yx], [-mu_yx, mu_yy]] / area.
    a, b, c = mu_xx, -mu_yx, mu_yy
    half_trace = (a + c) / 2
    root = np.sqrt(((a - c) / 2) ** 2 + b**2)
    l1 = half_trace + root
    l2 = np.clip(half_trace - root, 0, None)
    major = 4 * np.sqrt(l1)
    minor = 4 * np.sqrt(l2)
    with np.errstate(divide="ignore", invalid="ignore"):
        eccentricity = np.where(l1 > 0, np.sqrt(np.clip(1 - l2 / np.where(l1 > 0, l1, 1), 0, 1)), 0.0)
        orientation = np.where(
            a - c == 0,
            np.where(b < 0, np.pi / 4, -np.pi / 4),
            0.5 * np.arctan2(-2 * b, c - a),
        )
        aspect_ratio = np.where(minor > 0, major / np.where(minor > 0, minor, 1), np.nan)

    bbox = np.column_stack(
        [geometry.row_min, geometry.col_min, geometry.row_max + 1, geometry.col_max + 1]
    ).astype(np.int64).reshape(n, 4)
    bbox_area = (bbox[:, 2] - bbox[:, 0]) * (bbox[:, 3] - bbox[:, 1])

    yield offset + 1, total, "perimeter"
    perimeter = geometry.perimeter(compact)

    yield offset + 2, total, "convex hull and Feret diameters"
    if convex and n:
        convex_area, feret_max, feret_min = hull_features(n, *geometry.hull_candidates())
    else:
        convex_area = feret_max = feret_min = np.full(n, np.nan)
    del geometry

    with np.errstate(divide="ignore", invalid="ignore"):
        columns: dict[str, np.ndarray] = {
            "label": ids,
            "area": area,
            "convex_area": convex_area,
            "perimeter": perimeter,
            "equivalent_diameter": np.sqrt(4 * area / np.pi),
            "major_axis": major,
            "minor_axis": minor,
            "feret_max": feret_max,
            "feret_min": feret_min,
            "centroid_y": cy,
            "centroid_x": cx,
            "bbox_min_y_px": bbox[:, 0],
            "bbox_min_x_px": bbox[:, 1],
            "bbox_max_y_px": bbox[:, 2],
            "bbox_max_x_px": bbox[:, 3],
            "aspect_ratio": aspect_ratio,
            "eccentricity": eccentricity,
            "orientation_deg": np.degrees(orientation),
            "solidity": area / convex_area,
            "extent": area / np.maximum(bbox_area, 1),
            "circularity": np.where(perimeter > 0, 4 * np.pi * area / perimeter**2, np.nan),
            "compactness": 2 * np.pi * (mu_yy + mu_xx) / safe_area,
        }
    data: dict[str, np.ndarray] = {}
    for col in _size_shape_columns(pixel_size is not None):
        if col in columns:
            data[col] = columns[col]
        elif col.endswith("_px"):
            data[col] = columns[col[:-3]]
        elif col.endswith("_um2"):
            data[col] = columns[col[:-4]] * pixel_size**2
        elif col.endswith("_um"):
            data[col] = columns[col[:-3]] * pixel_size

    yield offset + 3, total, "intensities"
    if channels or nuclei is not None:
        flat = compact.ravel()
        fg = np.flatnonzero(flat)
        lab = flat[fg]
    nuc_fg = None if nuclei is None else nuclei.ravel()[fg] > 0
    step = offset + 3
    for name, channel in channels.items():
        values = channel.ravel()[fg]
        vals = values.astype(np.float64)
        sums = np.bincount(lab, weights=vals, minlength=n + 1)[1:]
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = sums / area
            centred = vals - np.concatenate([[0.0], mean])[lab]
            std = np.sqrt(np.bincount(lab, weights=centred * centred, minlength=n + 1)[1:] / area)
        del centred
        ordered = _sorted_by_label(lab, values)
        starts = np.concatenate([[0], np.cumsum(area)[:-1]]).astype(np.int64)
        if n:
            minimum = ordered[starts]
            maximum = ordered[starts + area - 1]
            median = (ordered[starts + (area - 1) // 2] + ordered[starts + area // 2]) / 2
        else:
            minimum = maximum = median = np.zeros(0)
        data[f"{name}_mean"] = mean
        data[f"{name}_median"] = median
        data[f"{name}_min"] = minimum
        data[f"{name}_max"] = maximum
        data[f"{name}_std"] = std
        data[f"{name}_integrated"] = sums
        if nuc_fg is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                nuc_area = np.bincount(lab[nuc_fg], minlength=n + 1)[1:]
                nuc_sum = np.bincount(lab[nuc_fg], weights=vals[nuc_fg], minlength=n + 1)[1:]
                cyto_sum = sums - nuc_sum
                cyto_area = area - nuc_area
                nuc_mean = np.where(nuc_area > 0, nuc_sum / nuc_area, np.nan)
                cyto_mean = np.where(cyto_area > 0, cyto_sum / cyto_area, np.nan)
                data[f"{name}_nuc_mean"] = nuc_mean
                data[f"{name}_cyto_mean"] = cyto_mean
                data[f"{name}_nuc_cyto_ratio"] = nuc_mean / cyto_mean
        step += 1
        yield step, total, f"intensities: {name}"

    if nuclei is not None:
        link = _nucleus_linkage(lab, fg, nuclei, n)
        data["nucleus_label"] = link[0]
        data["n_nuclei"] = link[1]
        data["nucleus_area_px"] = link[2]
        if pixel_size is not None:
            data["nucleus_area_um2"] = link[2] * pixel_size**2
        with np.errstate(divide="ignore", invalid="ignore"):
            data["nc_ratio"] = link[2] / area
        yield step + 1, total, "nucleus linkage"

    table = pd.DataFrame(data)
    table["label"] = table["label"].astype(ids.dtype if ids.dtype.kind in "iu" else np.int64)
    return table


def _nucleus_linkage(lab, fg, nuclei, n):
    """Assign each nucleus to the object holding most of its pixels."""
    nuc_ids, nuc_compact = _compact_labels(nuclei)
    m = nuc_ids.size
    nucleus_label = np.zeros(n, dtype=np.int64)
    n_nuclei = np.zeros(n, dtype=np.int64)
    nucleus_area = np.zeros(n, dtype=np.int64)
    if m == 0 or n == 0:
        return nucleus_label, n_nuclei, nucleus_area
    nuc_area = np.bincount(nuc_compact.ravel(), minlength=m + 1)[1:]
    nuc_fg = nuc_compact.ravel()[fg]
    inside = nuc_fg > 0
    pair = lab[inside].astype(np.int64) * (m + 1) + nuc_fg[inside]
    keys, counts = np.unique(pair, return_counts=True)
    cell = keys // (m + 1)
    nuc = keys % (m + 1)
    # For every nucleus keep the pair with the largest overlap (ties: lowest cell id).
    order = np.lexsort((-cell, counts, nuc))
    last = np.r_[nuc[order][1:] != nuc[order][:-1], True]
    best = order[last]
    owner_cell = cell[best] - 1
    owner_nuc = nuc[best] - 1
    np.add.at(n_nuclei, owner_cell, 1)
    np.add.at(nucleus_area, owner_cell, nuc_area[owner_nuc])
    # Largest nucleus per object: sort by area, the last write wins.
    by_size = np.lexsort((owner_nuc, nuc_area[owner_nuc]))
    nucleus_label[owner_cell[by_size]] = nuc_ids[owner_nuc[by_size]].astype(np.int64)
    return nucleus_label, n_nuclei, nucleus_area


# --------------------------------------------------------------------------- summary
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
            raise ValueError(f"marker {name!r}: column {column!r} is not in the table.")
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
