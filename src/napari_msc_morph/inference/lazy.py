"""Predict huge images tile by tile: when a file is read lazily, and what that needs.

A TIFF or OME-Zarr plane of :data:`LAZY_MIN_PIXELS` or more is predicted from the
file with the ``grid`` tiling at the model's pixel size, from small chunks; the
rule is in docs/prediction.md. Results equal the file read whole.
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
    """Read ``path`` for prediction: a :class:`LoadedImage`, lazy when it is huge."""
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
