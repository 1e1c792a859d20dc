"""napari writer contribution: *File › Save Selected Layers* as OME-TIFF with the pixel size.

napari's own TIFF writer drops the pixel size and channel names; this one keeps them in
OME-XML and marks label layers so the plugin's reader opens them as labels again.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import tifffile

from ._tiff import LABELS_MARK
from .errors import BadInputError
from .io import atomic_path

__all__ = ["write_layer", "write_layers", "write_ome_tiff", "write_image", "write_labels"]
_MICROMETRE = {"micrometer", "micrometre", "um", "µm", "micron"}
_OME_AXES = set("TCZYXS")


def _ome_path(path) -> Path:
    """``path`` with an OME-TIFF suffix (``.ome.tif`` added when it has no TIFF suffix)."""
    path = Path(path)
    if path.name.lower().endswith((".tif", ".tiff")):
        return path
    return path.with_name(path.name + ".ome.tif")


def layer_pixel_size_yx(meta: dict) -> tuple[float, float] | None:
    """(y, x) µm of a layer from its metadata, else from a ``scale`` in µm or not napari's 1."""
    extra = meta.get("metadata") or {}
    if extra.get("pixel_size_yx_um"):
        y, x = extra["pixel_size_yx_um"]
        return float(y), float(x)
    if extra.get("pixel_size_um"):
        return float(extra["pixel_size_um"]), float(extra["pixel_size_um"])
    scale = [float(s) for s in (meta.get("scale") or [])][-2:]
    units = [str(u) for u in (meta.get("units") or [])][-2:]
    if len(scale) == 2 and ((units and units[-1] in _MICROMETRE) or scale != [1.0, 1.0]):
        return scale[0], scale[1]
    return None


def _axes(meta: dict, ndim: int, rgb: bool) -> str:
    """OME axes of a layer: the reader's ``axes`` when they fit, else Z (and T) before the plane."""
    stored = str((meta.get("metadata") or {}).get("axes") or "")
    plane = "YXS" if rgb else "YX"
    if len(stored) == ndim and set(stored) <= _OME_AXES and stored.endswith(plane):
        return stored
    lead = ndim - len(plane)
    return {0: "", 1: "Z", 2: "TZ"}.get(lead, "?") + plane if lead >= 0 else "?"


def write_ome_tiff(data, path, *, pixel_size_yx_um: tuple[float, float] | None = None,
                   axes: str = "YX", channel_names: list[str] | None = None,
                   labels: bool = False, name: str = "") -> Path:
    """Write ``data`` as an OME-TIFF with its pixel size and channel names, atomically.

    Parameters
    ----------
    data : ndarray
        The pixels, axes as ``axes`` (OME letters ``TCZYX``, ``S`` for RGB samples).
    path : str or Path
        Where to write; ``.ome.tif`` is added when it has no TIFF suffix.
    pixel_size_yx_um : (float, float), optional
        Pixel height and width in µm.
    channel_names : list of str, optional
        One per ``C`` (or one for a single-channel image).
    labels : bool
        Mark the file as a label image (the reader opens it as labels).
    name : str
        The OME image name.

    Returns
    -------
    Path
    """
    data = np.asarray(data)
    path = _ome_path(path)
    if data.dtype == bool:
        data = data.astype(np.uint8)
    if data.dtype.kind not in "uif":
        raise BadInputError(f"{path.name}: a {data.dtype} layer cannot be saved as OME-TIFF; "
                            "save image or labels layers.")
    if data.dtype.kind in "iu" and data.dtype.itemsize == 8:  # OME has no 64-bit integers
        if data.size and data.min() >= 0 and data.max() <= np.iinfo(np.uint32).max:
            data = data.astype(np.min_scalar_type(int(data.max())))
        else:
            raise BadInputError(f"{path.name}: values beyond 32-bit integers cannot be saved "
                                "as OME-TIFF; relabel the layer (ids from 1) first.")
    metadata: dict = {"axes": axes, "Name": name or path.name.split(".")[0]}
    if labels:
        metadata["Description"] = LABELS_MARK
    if pixel_size_yx_um is not None:
        y, x = (float(v) for v in pixel_size_yx_um)
        if not all(np.isfinite([x, y])) or x <= 0 or y <= 0:
            raise BadInputError(f"{path.name}: pixel size must be positive µm, got {(y, x)}.")
        metadata.update(PhysicalSizeX=x, PhysicalSizeXUnit="µm",
                        PhysicalSizeY=y, PhysicalSizeYUnit="µm")
    if channel_names:
        metadata["Channel"] = {"Name": [str(c) for c in channel_names]}
    with atomic_path(path, suffix=".ome.tif") as tmp:
        tifffile.imwrite(tmp, data, ome=True, metadata=metadata,
                         photometric="rgb" if axes.endswith("S") else "minisblack")
    return path


def write_layer(path: str, data, meta: dict, layer_type: str = "image") -> list[str]:
    """Write one napari layer (``data``, its ``meta`` state) as an OME-TIFF; the paths written."""
    if isinstance(data, list):  # a multiscale layer: its full resolution
        data = data[0]
    data = np.asarray(data)
    rgb = bool(meta.get("rgb")) and data.shape[-1] in (3, 4)
    axes = _axes(meta, data.ndim, rgb)
    if "?" in axes:
        raise BadInputError(f"{Path(path).name}: a {data.ndim}D layer cannot be saved as "
                            "OME-TIFF (at most T, Z, C, Y, X).")
    extra = meta.get("metadata") or {}
    channel = extra.get("channel") or meta.get("name")
    names = [str(channel)] if channel and "C" not in axes and not rgb else None
    written = write_ome_tiff(data, path, pixel_size_yx_um=layer_pixel_size_yx(meta), axes=axes,
                             channel_names=names, labels=layer_type == "labels",
                             name=str(meta.get("name") or ""))
    return [str(written)]


def write_labels(path: str, data, meta: dict) -> list[str]:
    """npe2 writer for one labels layer."""
    return write_layer(path, data, meta, "labels")


def write_image(path: str, data, meta: dict) -> list[str]:
    """npe2 writer for one image layer."""
    return write_layer(path, data, meta, "image")


def write_layers(path: str, layer_data: list[tuple]) -> list[str]:
    """npe2 writer for several grayscale image layers of one shape and pixel size: one
    OME-TIFF, a channel per layer named after it (or its ``channel`` metadata)."""
    arrays, names, sizes = [], [], []
    for data, meta, layer_type in layer_data:
        if layer_type != "image" or meta.get("rgb"):
            raise BadInputError(f"{Path(path).name}: only grayscale image layers become the "
                                f"channels of one file; save “{meta.get('name')}” on its own.")
        arrays.append(np.asarray(data[0] if isinstance(data, list) else data))
        extra = meta.get("metadata") or {}
        names.append(str(extra.get("channel") or meta.get("name") or f"ch{len(names)}"))
        sizes.append(layer_pixel_size_yx(meta))
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise BadInputError(f"{Path(path).name}: the layers have different shapes "
                            f"({', '.join(str(s) for s in sorted(shapes))}); save them one by one.")
    if len(set(sizes)) != 1:
        raise BadInputError(f"{Path(path).name}: the layers have different pixel sizes "
                            f"({sizes}); save them one by one.")
    dtype = np.result_type(*arrays)
    stack = np.stack([a.astype(dtype) for a in arrays], axis=-3)
    plane_axes = _axes(layer_data[0][1], arrays[0].ndim, False)
    axes = plane_axes[:-2] + "CYX"
    names = [re.sub(r"\s+", " ", n) for n in names]
    return [str(write_ome_tiff(stack, path, pixel_size_yx_um=sizes[0], axes=axes,
                               channel_names=names))]
