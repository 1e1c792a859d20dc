"""Layer <-> array translation shared by every dock (one policy each)."""

from __future__ import annotations

import numpy as np

_MICROMETRE_UNITS = ("micrometer", "micrometre", "µm", "um", "micron")


def image_layers(viewer) -> list:
    """The viewer's Image layers, in layer-list order."""
    from napari.layers import Image

    return [layer for layer in viewer.layers if isinstance(layer, Image)]


def layer_pixel_size(layer) -> float | None:
    """Pixel size in µm of an image/labels layer, or ``None`` when unknown.

    ``metadata["pixel_size_um"]`` wins; then a ``scale`` in micrometres; then any scale but
    napari's default 1 (which means unknown). Pixels that are not square: ``None``.
    """
    meta = getattr(layer, "metadata", None) or {}
    for key in ("pixel_size_um", "pixel_size"):
        if meta.get(key):
            return float(meta[key])
    scale = np.asarray(layer.scale[-2:], dtype=float)
    if not np.isclose(scale[0], scale[1], rtol=0.01):
        return None  # pixels not square (e.g. an OME file's PhysicalSizeY): no one size fits
    units = getattr(layer, "units", None)
    unit = str(units[-1]) if units is not None and len(units) else ""
    if unit in _MICROMETRE_UNITS:  # a reader said µm: even 1.0 is a real size
        return float(scale[-1])
    if np.allclose(scale, 1.0):
        return None
    return float(scale[-1])


def current_plane(viewer, layer):
    """The 2D plane of ``layer`` on screen; a lazy layer's plane stays lazy (read in the
    dock's worker, never on the GUI thread)."""
    data = layer.data[0] if getattr(layer, "multiscale", False) else layer.data
    plane_ndim = 3 if getattr(layer, "rgb", False) else 2
    if data.ndim > plane_ndim:
        lead = data.ndim - plane_ndim
        step = viewer.dims.current_step[-data.ndim:][:lead]
        data = data[tuple(min(s, n - 1) for s, n in zip(step, data.shape))]
    return data


def is_in_memory(array) -> bool:
    """Whether ``array`` is already in memory (checking it on the GUI thread costs nothing)."""
    return isinstance(array, np.ndarray)
