"""Predict huge images tile by tile: when a file is read lazily, and what that allows.

The rule (:func:`read_for_prediction`, called by
:func:`~napari_msc_morph.inference.predict_images` for every file path):

- a TIFF/BigTIFF (``.tif``/``.tiff``) or OME-Zarr (``.zarr``) whose 2D plane
  has at least :data:`LAZY_MIN_PIXELS` pixels (4096 x 4096) is opened lazily
  (:mod:`napari_msc_morph._lazy`): the :class:`~.predict.Predictor` indexes
  only the crops of the batch in flight (from one band of whole chunks), and
  the intensity range comes from a strided subsample read from the store;
- such a file needs the ``grid`` tiling (``six``/``center`` look at six or one
  crop of a mosaic, which says nothing about it) and the model's pixel size
  (within 10%: resampling would need the whole plane); otherwise a
  :class:`~napari_msc_morph.errors.BadInputError` says what to do;
- its chunks must be small (at most :data:`MAX_CHUNK_BYTES`): a huge TIFF
  written as one strip is refused with how to save it tiled;
- every other file is read whole, as before.

Probabilities and score maps are the same as from the file read whole: the
same crops, the same subsample (``tests/inference/test_lazy_tiles.py``).
Score maps are per tile (one value per grid position), so even a
20 000 x 20 000 field gives maps of a few hundred pixels a side.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import BadInputError
from .preprocess import image_layout, resample_factor

__all__ = ["LAZY_MIN_PIXELS", "MAX_CHUNK_BYTES", "LAZY_SUFFIXES", "read_for_prediction"]

#: Planes with at least this many pixels are predicted from the file, tile by tile.
LAZY_MIN_PIXELS = 4096 * 4096
#: Largest stored chunk (bytes) a lazily read file may have.
MAX_CHUNK_BYTES = 64 * 1024 * 1024
#: Files that can be read lazily.
LAZY_SUFFIXES = (".tif", ".tiff", ".zarr")


def read_for_prediction(path: Path, tiling: str | None, explicit_pixel_size: float | None,
                        model_pixel_size: float | None):
    """Read ``path`` for prediction: lazily when it is huge (see the module), else whole.

    Returns
    -------
    LoadedImage
        ``data`` is a :class:`~napari_msc_morph._lazy.LazyImage` for a huge
        TIFF/OME-Zarr, a numpy array otherwise.
    """
    from ..io import read_image

    path = Path(path)
    name = path.name.lower()
    if not name.endswith(LAZY_SUFFIXES) or not path.exists() or (
            path.is_dir() and not name.endswith(".zarr")):
        return read_image(path)
    try:
        loaded = read_image(path, lazy=True)
    except BadInputError:  # not a layout read here (e.g. another OME-Zarr flavour): as before
        return read_image(path)
    data = loaded.data
    layout = image_layout(data.shape, rgb=None, name=path.name)
    h, w = layout.plane_shape
    if h * w < LAZY_MIN_PIXELS:
        return read_image(path)
    if tiling != "grid":
        raise BadInputError(
            f"{path} is {h} x {w} px: images of {LAZY_MIN_PIXELS // 1_000_000} M pixels or more "
            f"are predicted tile by tile with --tiling grid only (this run uses {tiling}); "
            "use --tiling grid."
        )
    size = explicit_pixel_size if explicit_pixel_size is not None else loaded.pixel_size_um
    factor = resample_factor(size, model_pixel_size)
    if factor != 1.0:
        raise BadInputError(
            f"{path} is {h} x {w} px at {size:g} µm/px but the model was trained at "
            f"{model_pixel_size:g} µm/px; an image this large is predicted tile by tile at the "
            f"model's pixel size only. Resample the file to {model_pixel_size:g} µm/px first "
            "(or give --pixel-size-um if the file's metadata is wrong)."
        )
    chunk_bytes = int(np.prod(data.chunks)) * data.dtype.itemsize
    if chunk_bytes > MAX_CHUNK_BYTES:
        chunk = " x ".join(str(n) for n in data.chunks)
        raise BadInputError(
            f"{path} is stored in chunks of {chunk} px ({chunk_bytes / 2**20:.0f} MiB each), "
            "too large to read tile by tile. Save it tiled, e.g. as a BigTIFF with "
            "tifffile.imwrite(path, data, bigtiff=True, tile=(512, 512)), or as OME-Zarr "
            "with 512 px chunks."
        )
    return loaded
