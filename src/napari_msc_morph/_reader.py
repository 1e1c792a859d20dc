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
                layers += _placed(layer_data(LoadedImage(path=sub, **read_ome_zarr_lazy(sub))))
            continue
        layers += _placed(layer_data(read_image(item, lazy=reads_lazily(item))))
    return layers


def _placed(layers: list[tuple]) -> list[tuple]:
    """Give layers the OME-Zarr translation (µm or pixels per axis) as napari ``translate``."""
    for _, meta, _ in layers:
        by_axis = meta["metadata"].pop("translate_by_axis", None)
        if by_axis:
            axes = meta["metadata"]["axes"].replace("S", "")
            meta["translate"] = [float(by_axis.get(letter, 0.0)) for letter in axes]
    return layers


def _take(data, index: int, axis: int):
    """``np.take`` on one array or on every level of a multiscale list."""
    if isinstance(data, list):
        return [np.take(level, index, axis=axis) for level in data]
    return np.take(data, index, axis=axis)


def _spatial_scale(axes: str, loaded: LoadedImage) -> tuple[list[float], list[str]]:
    """napari ``scale``/``units`` per axis: y and x each their own size (pixels need not be
    square to be shown right), z the spacing, anything else 1 pixel."""
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

    One layer per channel (split along the file's ``C`` axis), RGB files as one
    RGB layer, a label file written by the plugin (segment's label TIFFs, its
    napari writer) as a Labels layer; every layer carries the pixel size and its
    source in ``metadata``.
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
    base_meta = {
        "pixel_size_um": loaded.pixel_size_um,
        "pixel_size_source": loaded.pixel_size_source or None,
        **({"pixel_size_yx_um": list(loaded.pixel_size_yx_um)}
           if loaded.pixel_size_yx_um is not None else {}),
        **({"pixel_size_refused": loaded.pixel_size_refused}
           if loaded.pixel_size_refused else {}),
        "path": str(loaded.path),
        "axes": axes,
        **({"translate_by_axis": loaded.metadata["translate_by_axis"]}
           if "translate_by_axis" in loaded.metadata else {}),
    }
    extra = {"multiscale": True} if isinstance(data, list) else {}
    if axes.endswith("S") and full.shape[-1] in (3, 4):  # RGB(A) samples
        scale, units = _spatial_scale(axes[:-1], loaded)
        meta = {"name": stem, "rgb": True, "scale": scale, "units": units,
                "metadata": dict(base_meta), **extra}
        return [(data, meta, "image")]
    channel_axis = axes.find("C")
    if loaded.metadata.get("kind") == "labels" and channel_axis < 0:  # the plugin's own labels
        scale, units = _spatial_scale(axes, loaded)
        meta = {"name": stem, "scale": scale, "units": units,
                "metadata": dict(base_meta, axes=axes), **extra}
        return [(data, meta, "labels")]
    if channel_axis < 0 or full.shape[channel_axis] == 1:
        if channel_axis >= 0:
            data = _take(data, 0, channel_axis)
            axes = axes.replace("C", "")
        scale, units = _spatial_scale(axes, loaded)
        meta = {"name": stem, "scale": scale, "units": units, "colormap": "gray",
                "metadata": dict(base_meta, axes=axes), **extra}
        return [(data, meta, "image")]
    plane_axes = axes.replace("C", "")
    scale, units = _spatial_scale(plane_axes, loaded)
    names = loaded.channel_names or [f"ch{i}" for i in range(full.shape[channel_axis])]
    layers = []
    for index, channel in enumerate(names):
        meta = {
            "name": f"{stem} {channel}",
            "scale": scale,
            "units": units,
            "colormap": stain_colormap(channel, index),
            "blending": "additive",
            "metadata": dict(base_meta, axes=plane_axes, channel=channel, channel_index=index),
            **extra,
        }
        layers.append((_take(data, index, channel_axis), meta, "image"))
    return layers
