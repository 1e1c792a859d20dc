"""Crop boxes for the tiling schemes, and :data:`TILINGS`, the registry that names them.

Boxes are half-open ``(y0, x0, y1, x1)`` pixel arrays on an ``(H, W)`` plane at
least one crop large (the engine pads smaller ones). The CLI, the Predict dock
and the docs table read :data:`TILINGS`, so a new scheme is one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import BadInputError
from .registry import Registry

__all__ = [
    "TILINGS",
    "six_region_boxes",
    "six_partition_boxes",
    "center_box",
    "grid_boxes",
    "GridLayout",
    "grid_layout",
    "check_tiling",
    "check_overlap",
    "tile_boxes",
    "MAX_OVERLAP",
    "MAX_TILES_PER_PLANE",
]

#: Tiling schemes: name -> ``boxes(image_shape, crop_size, overlap)``.
TILINGS: Registry = Registry("tiling")

#: Largest grid overlap: at 0.9 neighbours are a tenth of a crop apart.
MAX_OVERLAP = 0.9
#: Most grid tiles on one plane (a 20 000 px square field at 224 px and overlap 0.5 is ~31 000).
MAX_TILES_PER_PLANE = 100_000


def _hw(image_shape, crop_size) -> tuple[int, int, int]:
    if len(image_shape) < 2:
        raise BadInputError(f"image shape needs at least 2 axes, got {tuple(image_shape)}.")
    h, w = int(image_shape[0]), int(image_shape[1])
    c = int(crop_size)
    if c < 1:
        raise BadInputError(f"crop size must be positive, got {crop_size}.")
    if h < c or w < c:
        raise BadInputError(
            f"image of {h}x{w} px is smaller than the {c} px crop; pad it first."
        )
    return h, w, c


def six_region_boxes(image_shape, crop_size: int) -> np.ndarray:
    """The passage study's six crops, (6, 4): upper then lower row, left/middle/right.

    Examples
    --------
    >>> six_region_boxes((1944, 2592), 448)[:3].tolist()
    [[0, 0, 448, 448], [0, 1072, 448, 1520], [0, 2144, 448, 2592]]
    """
    h, w, c = _hw(image_shape, crop_size)
    rows = (0, h - c)
    cols = (0, (w - c) // 2, w - c)
    return np.array([(y, x, y + c, x + c) for y in rows for x in cols], dtype=np.int64)


def six_partition_boxes(image_shape, crop_size: int) -> np.ndarray:
    """The field cut into six equal regions (3x2, 2x3 when portrait), row by row: the crop
    centred on each, (6, 4).

    Crops keep the trained pixel size (resizing a region would show cells at another
    size); a region smaller than the crop overlaps its neighbours.

    Examples
    --------
    >>> six_partition_boxes((1944, 2592), 448)[:3].tolist()
    [[262, 208, 710, 656], [262, 1072, 710, 1520], [262, 1936, 710, 2384]]
    """
    h, w, c = _hw(image_shape, crop_size)
    n_rows, n_cols = (2, 3) if w >= h else (3, 2)
    boxes = []
    for i in range(n_rows):
        for j in range(n_cols):
            cy, cx = (2 * i + 1) * h / (2 * n_rows), (2 * j + 1) * w / (2 * n_cols)
            y = min(max(int(round(cy - c / 2)), 0), h - c)
            x = min(max(int(round(cx - c / 2)), 0), w - c)
            boxes.append((y, x, y + c, x + c))
    return np.array(boxes, dtype=np.int64)


def center_box(image_shape, crop_size: int) -> np.ndarray:
    """One centred crop, shape (1, 4)."""
    h, w, c = _hw(image_shape, crop_size)
    y, x = (h - c) // 2, (w - c) // 2
    return np.array([(y, x, y + c, x + c)], dtype=np.int64)


@dataclass(frozen=True)
class GridLayout:
    """A regular grid of crops, centred: tile ``(i, j)`` starts at
    ``(offset_y + i * stride, offset_x + j * stride)``."""

    crop_size: int
    stride: int
    n_rows: int
    n_cols: int
    offset_y: int
    offset_x: int

    @property
    def map_scale(self) -> tuple[float, float]:
        """Image pixels per score-map pixel (y, x)."""
        return float(self.stride), float(self.stride)

    @property
    def map_translate(self) -> tuple[float, float]:
        """Map pixel (0, 0)'s centre in image pixels (napari: pixel ``k`` centred at ``k``)."""
        half = (self.crop_size - 1) / 2.0
        return self.offset_y + half, self.offset_x + half

    def boxes(self) -> np.ndarray:
        ys = self.offset_y + self.stride * np.arange(self.n_rows)
        xs = self.offset_x + self.stride * np.arange(self.n_cols)
        yy, xx = np.meshgrid(ys, xs, indexing="ij")
        yy, xx = yy.ravel(), xx.ravel()
        c = self.crop_size
        return np.stack([yy, xx, yy + c, xx + c], axis=1).astype(np.int64)


def check_overlap(overlap, name: str = "overlap (--overlap)") -> float:
    """``overlap`` as a float in [0, :data:`MAX_OVERLAP`]."""
    try:
        value = float(overlap)
    except (TypeError, ValueError):
        value = float("nan")
    if isinstance(overlap, bool) or not 0.0 <= value <= MAX_OVERLAP:
        raise BadInputError(
            f"{name} must be between 0 and {MAX_OVERLAP} (a fraction of the crop shared by "
            f"neighbouring grid tiles), got {overlap!r}; 0.5 is the usual choice."
        )
    return value


def grid_layout(image_shape, crop_size: int, overlap: float = 0.5) -> GridLayout:
    """Sliding-window layout with ``overlap`` (fraction of a crop) between neighbours."""
    h, w, c = _hw(image_shape, crop_size)
    overlap = check_overlap(overlap)
    stride = int(round(c * (1.0 - overlap)))
    if stride < 1:
        raise BadInputError(
            f"overlap (--overlap) {overlap:g} with a {c} px crop leaves a stride of "
            f"{c * (1.0 - overlap):.2f} px; neighbouring tiles must be at least 1 px apart. "
            "Lower --overlap."
        )
    n_rows = 1 + (h - c) // stride
    n_cols = 1 + (w - c) // stride
    if n_rows * n_cols > MAX_TILES_PER_PLANE:
        raise BadInputError(
            f"grid tiling of a {h}x{w} px plane with a {c} px crop and overlap {overlap:g} "
            f"(stride {stride} px) needs {n_rows * n_cols:,} tiles, more than the "
            f"{MAX_TILES_PER_PLANE:,} allowed per plane. Lower --overlap (e.g. 0.5), use "
            "--tiling six or center, or crop/downsample the image (give its pixel size so it "
            "is resampled to the model's)."
        )
    off_y = ((h - c) - (n_rows - 1) * stride) // 2
    off_x = ((w - c) - (n_cols - 1) * stride) // 2
    return GridLayout(c, stride, n_rows, n_cols, off_y, off_x)


def grid_boxes(image_shape, crop_size: int, overlap: float = 0.5) -> np.ndarray:
    """Boxes of :func:`grid_layout`, row-major, shape (n_rows * n_cols, 4)."""
    return grid_layout(image_shape, crop_size, overlap).boxes()


TILINGS.add(
    "six", lambda shape, crop, overlap: six_region_boxes(shape, crop),
    help="upper-left, upper-middle, upper-right, lower-left, lower-middle and lower-right "
         "crops at the field's corners and edge middles (one reading of the passage study's "
         "six regions, Assumed); class probabilities averaged",
    maps=False,
)
TILINGS.add(
    "six-regions", lambda shape, crop, overlap: six_partition_boxes(shape, crop),
    help="the field cut into six equal regions (3x2, or 2x3 for a portrait field), the centred "
         "crop of each; the other reading of the passage study's six regions; probabilities "
         "averaged",
    maps=False,
)
TILINGS.add(
    "grid", grid_boxes,
    help="sliding window over the whole field, centred, neighbours sharing overlap x crop; "
         "averaged probabilities and per-tile score maps",
    maps=True,
)
TILINGS.add(
    "center", lambda shape, crop, overlap: center_box(shape, crop),
    help="one centred crop; its probabilities (fastest)",
    maps=False,
)


def check_tiling(mode: str) -> str:
    """``mode`` if it is a registered tiling."""
    if mode not in TILINGS:
        raise BadInputError(f"Unknown tiling {mode!r}: tiling must be one of {', '.join(TILINGS)}.")
    return mode


def tile_boxes(mode: str, image_shape, crop_size: int, overlap: float = 0.5) -> np.ndarray:
    """Boxes for the tiling ``mode``; ``overlap`` is checked for all."""
    return TILINGS.get(check_tiling(mode))(image_shape, crop_size, check_overlap(overlap))
