"""napari reader contribution: microscope images with their pixel size.

One layer per channel with ``scale`` in µm and a stain colormap, from
:func:`napari_msc_morph.io.read_image` (docs/opening-files.md); a file without a pixel
size opens at ``scale = 1`` and ``pixel_size_um = None``, so the docks ask for it.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

from ._lazy import as_dask, ome_zarr_images, read_ome_zarr_lazy, reads_lazily
from .io import BIOIO_SUFFIXES, LoadedImage, read_image

READ_SUFFIXES = (".tif", ".tiff") + BIOIO_SUFFIXES

# Stain name patterns -> napari colormap; first match wins.
_STAIN_COLORMAPS = (
    (r"dapi|hoechst|dna|nuc", "blue"),
    (r"actin|phalloidin|cyto|tubulin|cell ?mask|body", "magenta"),
    (r"gfp|fitc|488|alexa ?fluor ?488|green", "green"),
    (r"rfp|mcherry|tritc|cy3|555|568|594|red", "red"),
    (r"cy5|647|far.?red", "magenta"),
)
_CYCLE = ("green", "magenta", "cyan", "yellow", "red", "blue")


def stain_colormap(channel_name: str, index: int) -> str:
    """A colormap for a channel: by stain name when recognised, else by position."""
    name = channel_name.lower()
    for pattern, colormap in _STAIN_COLORMAPS:
        if re.search(pattern, name):
            return colormap
    return _CYCLE[index % len(_CYCLE)]


def get_reader(path):
    """npe2 reader hook: a reader function for paths this plugin reads, else ``None``."""
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    if not paths or not all(str(p).lower().rstrip("/").endswith(READ_SUFFIXES) for p in paths):
        return None
    return read_layers


def read_layers(path) -> list[tuple]:
    """Layer data tuples for one path or a list of paths."""
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    layers = []
    for item in paths:  # huge or pyramid TIFF/OME-Zarr: dask arrays, never read whole
        inside = ome_zarr_images(item) if str(item).lower().rstrip("/").endswith(".zarr") else []
        if inside:  # a container of OME-Zarr images (e.g. predict --score-maps maps.zarr)
            for name in inside:
                sub = Path(item) / name
                layers += layer_data(LoadedImage(path=sub, **read_ome_zarr_lazy(sub)))
            continue
        layers += layer_data(read_image(item, lazy=reads_lazily(item)))
    return layers


def _take(data, index: int, axis: int):
    """``np.take`` on one array or on every level of a multiscale list."""
    if isinstance(data, list):
        return [np.take(level, index, axis=axis) for level in data]
    return np.take(data, index, axis=axis)


def _spatial_scale(axes: str, loaded: LoadedImage) -> tuple[list[float], list[str]]:
    """napari ``scale``/``units`` per axis: y and x each their own µm, z the spacing, else 1."""
    scale, units = [], []
    yx = loaded.pixel_size_yx_um
    if yx is None and loaded.pixel_size_um is not None:
        yx = (loaded.pixel_size_um, loaded.pixel_size_um)
    for letter in axes:
        if letter in "YX" and yx is not None:
            scale.append(float(yx[0] if letter == "Y" else yx[1]))
            units.append("micrometer")
        elif letter == "Z" and loaded.z_spacing_um is not None:
            scale.append(float(loaded.z_spacing_um))
            units.append("micrometer")
        else:
            scale.append(1.0)
            units.append("pixel")
    return scale, units


def layer_data(loaded: LoadedImage) -> list[tuple]:
    """Turn a :class:`~napari_msc_morph.io.LoadedImage` into napari layer data tuples.

    One layer per channel, RGB files as one RGB layer, the plugin's own label files as a
    Labels layer; every layer carries the pixel size and its source in ``metadata``.
    """
    data = loaded.data
    if loaded.levels:  # read lazily: dask arrays, a multiscale list if the file has a pyramid
        levels = [as_dask(level) for level in loaded.levels]
        data = levels if len(levels) > 1 else levels[0]
    full = data[0] if isinstance(data, list) else data
    axes = loaded.axes or "".join("QYX"[-min(full.ndim, 3):]).rjust(full.ndim, "Q")
    stem = loaded.path.name
    for suffix in (".ome.tif", ".ome.tiff", ".ome.zarr") + READ_SUFFIXES:
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    if loaded.pixel_size_refused and loaded.pixel_size_yx_um is None:
        # the layer opens at 1 pixel = 1 pixel; the docks then ask for the size
        warnings.warn(loaded.pixel_size_refused, UserWarning, stacklevel=2)
    by_axis = loaded.metadata.get("translate_by_axis")  # OME-Zarr: µm or pixels per axis

    def layer_meta(layer_axes: str, name: str = stem, channel: dict | None = None,
                   **kwargs) -> dict:
        shown = layer_axes.replace("S", "")
        scale, units = _spatial_scale(shown, loaded)
        return {
            "name": name, "scale": scale, "units": units,
            **({"translate": [float(by_axis.get(a, 0.0)) for a in shown]} if by_axis else {}),
            **({"multiscale": True} if isinstance(data, list) else {}),
            **kwargs,
            "metadata": {
                "pixel_size_um": loaded.pixel_size_um,
                "pixel_size_source": loaded.pixel_size_source or None,
                **({"pixel_size_yx_um": list(loaded.pixel_size_yx_um)}
                   if loaded.pixel_size_yx_um is not None else {}),
                **({"pixel_size_refused": loaded.pixel_size_refused}
                   if loaded.pixel_size_refused else {}),
                "path": str(loaded.path), "axes": layer_axes, **(channel or {}),
            },
        }

    if axes.endswith("S") and full.shape[-1] in (3, 4):  # RGB(A) samples
        return [(data, layer_meta(axes, rgb=True), "image")]
    channel_axis = axes.find("C")
    if loaded.metadata.get("kind") == "labels" and channel_axis < 0:  # the plugin's own labels
        return [(data, layer_meta(axes), "labels")]
    if channel_axis < 0 or full.shape[channel_axis] == 1:
        if channel_axis >= 0:
            data = _take(data, 0, channel_axis)
            axes = axes.replace("C", "")
        return [(data, layer_meta(axes, colormap="gray"), "image")]
    plane_axes = axes.replace("C", "")
    names = loaded.channel_names or [f"ch{i}" for i in range(full.shape[channel_axis])]
    return [(_take(data, index, channel_axis),
             layer_meta(plane_axes, f"{stem} {channel}", colormap=stain_colormap(channel, index),
                        blending="additive",
                        channel={"channel": channel, "channel_index": index}),
             "image")
            for index, channel in enumerate(names)]
