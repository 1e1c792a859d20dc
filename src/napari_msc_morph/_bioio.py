"""Microscope formats through bioio (the ``[formats]`` extra): CZI, ND2, LIF, OME-Zarr.

bioio gives every format the same view: a ``TCZYX`` array, physical pixel
sizes in µm (``None`` where the file has none) and channel names. The array
is squeezed to the axes that have more than one element (Y and X always kept).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .errors import BadInputError, MissingDependencyError

#: Suffix -> the bioio plugin package that reads it.
PLUGINS = {
    ".czi": "bioio-czi",
    ".nd2": "bioio-nd2",
    ".lif": "bioio-lif",
    ".zarr": "bioio-ome-zarr",
}


def read_with_bioio(path: Path) -> dict:
    """Read ``path`` with bioio: the fields of a :class:`~napari_msc_morph.io.LoadedImage`."""
    from ._tiff import checked_size
    from .pixel_size import judge_pixel_size

    plugin = PLUGINS.get(path.suffix.lower(), "bioio")
    try:
        from bioio import BioImage
    except ImportError:
        raise MissingDependencyError("bioio", "formats", f"reading {path.suffix} files") from None
    try:
        image = BioImage(path)
    except Exception as err:
        text = str(err)
        if "plugin" in text.lower() or isinstance(err, ImportError):
            raise MissingDependencyError(plugin, "formats", f"reading {path.name}") from None
        raise BadInputError(f"Could not read {path}: {err}") from err
    try:
        data = np.asarray(image.data)  # TCZYX
        sizes = image.physical_pixel_sizes
        channel_names = [str(c) for c in (image.channel_names or [])]
    except Exception as err:
        raise BadInputError(f"Could not read {path}: {err}") from err
    axes = "TCZYX"
    keep = [i for i, (letter, n) in enumerate(zip(axes, data.shape)) if n > 1 or letter in "YX"]
    data = data.reshape([data.shape[i] for i in keep]) if len(keep) < data.ndim else data
    axes = "".join(axes[i] for i in keep)
    def known(value):
        return None if value is None or (isinstance(value, float) and math.isnan(value)) \
            else float(value)

    x = known(sizes.X) if sizes is not None else None
    y = known(sizes.Y) if sizes is not None else None
    found = judge_pixel_size(path, x, y, f"{plugin} physical pixel size")
    z_spacing = None
    if "Z" in axes and sizes is not None and known(sizes.Z) is not None:
        z_spacing = checked_size(float(sizes.Z), path, "physical pixel size (Z)")
    if "C" not in axes or len(channel_names) != data.shape[axes.index("C")]:
        channel_names = []
    return dict(data=data, axes=axes, channel_names=channel_names, z_spacing_um=z_spacing,
                **found)
