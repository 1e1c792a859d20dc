"""One image cut into the network's crops: what prediction and Grad-CAM share.

:func:`tile_image` checks the tiling and axes and works out resampling, padding
and boxes; :meth:`TiledImage.plane_batches` hands back a plane's normalised
crops batch by batch, so both passes see exactly the same pixels.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..jobs import CancelToken, check_cancelled
from ..memory import check_fits
from ..tiling import check_tiling, tile_boxes
from .preprocess import (
    CropNormalizer,
    ImageLayout,
    image_layout,
    intensity_range,
    pad_to_crop,
    resample_factor,
    resample_plane,
    resampled_shape,
)

__all__ = ["TiledImage", "tile_image"]


@dataclass(frozen=True)
class TiledImage:
    """An image set up for crop-by-crop passes of a bundle's network.

    ``factor`` is image pixels per model pixel, ``work_shape`` a resampled plane,
    ``padded_shape`` that padded up to one crop, ``boxes`` the crops on it.
    """

    image: Any
    config: Any
    layout: ImageLayout
    tiling: str
    overlap: float
    factor: float
    work_shape: tuple[int, int]
    padded_shape: tuple[int, int]
    boxes: np.ndarray

    @property
    def crop(self) -> int:
        return self.config.input_size

    @property
    def padded(self) -> bool:
        """Whether a plane is smaller than a crop, so reflect-padded."""
        return self.padded_shape != self.work_shape

    def plane_batches(self, index: tuple, boxes: np.ndarray, batch_size: int,
                      cancel: CancelToken | None = None, cancelled: str = "Cancelled."
                      ) -> tuple[CropNormalizer, Iterator[tuple[int, np.ndarray, np.ndarray]]]:
        """The normaliser of plane ``index`` and its batches ``(start, boxes, crops)``.

        Crops are normalised (B, C, h, w) float32; ``cancel`` is checked before each batch.
        """
        plane = resample_plane(self.image[index] if index else self.image, self.factor)
        if self.padded:
            plane = pad_to_crop(np.asarray(plane), self.crop)
        lo, hi, fill = intensity_range(plane, self.config.intensity)
        normalise = CropNormalizer(lo, hi, fill, self.config.mean, self.config.std,
                                   self.layout.rgb)
        return normalise, _batches(plane, boxes, normalise, batch_size, cancel, cancelled)


def _batches(plane, boxes, normalise, batch_size, cancel, cancelled):
    for start in range(0, len(boxes), batch_size):
        check_cancelled(cancel, cancelled)
        chunk = boxes[start:start + batch_size]
        crops = np.stack([np.asarray(plane[y0:y1, x0:x1]) for y0, x0, y1, x1 in chunk])
        yield start, chunk, normalise(crops)


#: Bytes per resampled value at the peak of ``resample_plane``: float64 and a float32 copy.
RESAMPLE_BYTES_PER_VALUE = 12


def tile_image(image, config, *, tiling: str | None = None, overlap: float | None = None,
               rgb: bool | None = None, name: str = "image", pixel_size_um: float | None = None,
               layout: ImageLayout | None = None) -> TiledImage:
    """Set ``image`` up for crops of ``config``'s network.

    Parameters as :meth:`~.predict.Predictor.predict_steps`; the tiling defaults to the
    bundle's.
    """
    tiling = check_tiling(tiling or config.tiling)
    overlap = config.grid_overlap if overlap is None else float(overlap)
    if not hasattr(image, "shape") or not hasattr(image, "dtype"):
        image = np.asarray(image)
    if layout is None:
        layout = image_layout(image.shape, rgb=rgb, name=name)
    crop = config.input_size
    factor = resample_factor(pixel_size_um, config.pixel_size_um)
    work_shape = resampled_shape(layout.plane_shape, factor)
    if factor != 1.0:  # refuse, before any work, a resampling that memory cannot hold
        h, w = layout.plane_shape
        n_bytes = work_shape[0] * work_shape[1] * (3 if layout.rgb else 1) * RESAMPLE_BYTES_PER_VALUE
        check_fits(n_bytes, f"{name}: resampling {h} x {w} px at {pixel_size_um:g} µm/px to the "
                   f"model's {config.pixel_size_um:g} µm/px ({work_shape[0]} x {work_shape[1]} px)",
                   "check the pixel size: give the right one with --pixel-size-um (in napari: the "
                   "layer's scale), or fix the file's metadata; the model only judges cells seen "
                   "at its own pixel size.")
    padded_shape = (max(crop, work_shape[0]), max(crop, work_shape[1]))
    boxes = tile_boxes(tiling, padded_shape, crop, overlap)
    return TiledImage(image, config, layout, tiling, overlap, factor, work_shape,
                      padded_shape, boxes)
