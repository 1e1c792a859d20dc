"""Grid score maps to a folder of TIFFs, OME-Zarr or an OME BigTIFF (``--score-maps``).

Maps have one pixel per grid position, so they stay small even for a mosaic;
they are written chunk by chunk, placed by scale and translation so napari
overlays them on the image, and renamed onto the target at the end.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np

from ..batch.fields import unique_stem
from ..errors import BadInputError

__all__ = ["SCORE_MAP_SUFFIXES", "CHUNK", "score_map_array", "unique_stem", "write_score_maps"]

#: Path suffixes ``--score-maps`` writes one file for (any other name: a folder of TIFFs).
SCORE_MAP_SUFFIXES = (".zarr", ".tif", ".tiff")
#: Chunk (zarr) and tile (TIFF) side of written maps.
CHUNK = 256
_IMAGE_SUFFIX = re.compile(r"(\.ome)?\.(tiff?|zarr)$", re.IGNORECASE)


def score_map_array(prediction) -> tuple[list[str], np.ndarray]:
    """The map names and one float32 array ``([t,] c, y, x)`` of a prediction's maps."""
    names = list(prediction.maps)
    if not names:
        raise BadInputError(f"{prediction.name}: no score maps (they need --tiling grid).")
    stacked = np.stack([np.asarray(prediction.maps[n], dtype=np.float32) for n in names], axis=-3)
    if stacked.ndim > 3:  # leading stack axes, flattened to t
        stacked = stacked.reshape((-1,) + stacked.shape[-3:])
    return names, stacked


def _placement(prediction) -> tuple[tuple[float, float], tuple[float, float], str | None]:
    scale = tuple(float(v) for v in prediction.map_scale)
    translate = tuple(float(v) for v in prediction.map_translate)
    px = prediction.pixel_size_um
    if px:
        return (scale[0] * px, scale[1] * px), (translate[0] * px, translate[1] * px), "micrometer"
    return scale, translate, None


def _unique_stems(predictions) -> list[str]:
    """One stem per prediction, without ``.tif``/``.tiff``/``.zarr`` (and ``.ome``)."""
    used: set[str] = set()
    return [unique_stem(Path(_IMAGE_SUFFIX.sub("", Path(p.name).name)).stem or "image", used)
            for p in predictions]


def write_score_maps(predictions, path) -> Path:
    """Write the grid score maps of ``predictions`` to ``path``.

    ``.zarr`` and ``.tif``/``.tiff`` (replaced if present) hold every image, channels
    the maps; any other name is a folder of ``<stem>_<map>.tif`` files.
    """
    from ..io import write_tiff

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SCORE_MAP_SUFFIXES:
        for stem, prediction in zip(_unique_stems(predictions), predictions):
            (px, _), _, unit = _placement(prediction)
            for map_name, data in prediction.maps.items():
                write_tiff(np.asarray(data, dtype=np.float32), path / f"{stem}_{map_name}.tif",
                           pixel_size_um=px if unit else None)
        return path
    tmp = path.with_name(f".{path.name}.partial")
    _remove(tmp)
    try:
        if suffix == ".zarr":
            _write_zarr(predictions, tmp)
        else:
            _write_bigtiff(predictions, tmp)
        _remove(path)
        os.replace(tmp, path)
    finally:
        _remove(tmp)
    return path


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _write_zarr(predictions, target: Path) -> None:
    import zarr

    root = zarr.open_group(str(target), mode="w", zarr_format=2)
    for stem, prediction in zip(_unique_stems(predictions), predictions):
        names, data = score_map_array(prediction)
        (sy, sx), (ty, tx), unit = _placement(prediction)
        group = root.create_group(stem)
        chunks = (1,) * (data.ndim - 2) + (CHUNK, CHUNK)
        array = group.create_array("0", shape=data.shape, dtype="float32", chunks=chunks,
                                   fill_value=np.nan)
        for y0 in range(0, data.shape[-2], CHUNK):  # one row of chunks at a time
            array[..., y0 : y0 + CHUNK, :] = data[..., y0 : y0 + CHUNK, :]
        space = {"type": "space", **({"unit": unit} if unit else {})}
        axes = ([{"name": "t", "type": "time"}] if data.ndim == 4 else []) + [
            {"name": "c", "type": "channel"}, {"name": "y", **space}, {"name": "x", **space}]
        lead = [1.0] * (data.ndim - 2)
        group.attrs["multiscales"] = [{
            "version": "0.4", "name": stem, "axes": axes,
            "datasets": [{"path": "0", "coordinateTransformations": [
                {"type": "scale", "scale": lead + [sy, sx]},
                {"type": "translation", "translation": [0.0] * len(lead) + [ty, tx]},
            ]}],
        }]
        group.attrs["omero"] = {"channels": [{"label": name, "active": True} for name in names]}
        group.attrs["msc_morph"] = {"image": str(prediction.name), "maps": names,
                                    "model_id": prediction.model_id}


def _write_bigtiff(predictions, target: Path) -> None:
    import tifffile

    with tifffile.TiffWriter(target, bigtiff=True, ome=True) as tif:
        for stem, prediction in zip(_unique_stems(predictions), predictions):
            names, data = score_map_array(prediction)
            (sy, sx), (ty, tx), unit = _placement(prediction)
            metadata = {"axes": "TCYX" if data.ndim == 4 else "CYX", "Name": stem,
                        "Channel": {"Name": names}}
            if unit:
                metadata.update(PhysicalSizeX=sx, PhysicalSizeXUnit="µm",
                                PhysicalSizeY=sy, PhysicalSizeYUnit="µm")
            tile = (min(CHUNK, _round16(data.shape[-2])), min(CHUNK, _round16(data.shape[-1])))
            tif.write(data, tile=tile, photometric="minisblack", metadata=metadata)


def _round16(n: int) -> int:
    """TIFF tiles are multiples of 16 px."""
    return max(16, -(-int(n) // 16) * 16)
