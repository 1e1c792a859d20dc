"""TIFF reading with physical pixel size, axes and channel names (tifffile).

The pixel size comes, in this order, from OME-XML ``PhysicalSizeX``/``Y``
(with their units), ImageJ metadata (``unit`` + resolution tags, ``spacing``
for z), or plain TIFF resolution tags with a physical ``ResolutionUnit``. A
file that says nothing gets ``None``: 1 µm/px is never made up.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import tifffile

from .errors import BadInputError

UNIT_TO_UM = {
    "um": 1.0, "µm": 1.0, "μm": 1.0, "\\u00b5m": 1.0, "micron": 1.0, "microns": 1.0,
    "micrometer": 1.0, "micrometre": 1.0, "nm": 1e-3, "nanometer": 1e-3, "mm": 1e3,
    "millimeter": 1e3, "cm": 1e4, "centimeter": 1e4, "m": 1e6, "meter": 1e6,
}
# Resolution tags written by screen-oriented software, not by a microscope.
_SCREEN_DPI = (72.0, 96.0, 300.0, 1.0)


def checked_size(value: float, path: Path, where: str) -> float:
    """``value`` if it is a positive finite number of µm, else a BadInputError naming the file."""
    if not math.isfinite(value) or value <= 0:
        raise BadInputError(
            f"{path}: the file's {where} gives a pixel size of {value} µm, which cannot be "
            "right; fix the metadata (e.g. in Fiji: Image › Properties) or give the pixel "
            "size yourself (--pixel-size, or the layer's scale)."
        )
    return float(value)


def _ome_sizes(tif: tifffile.TiffFile, path: Path) -> dict:
    """Pixel sizes (µm) and channel names from OME-XML."""
    found: dict = {}
    try:
        root = ET.fromstring(tif.ome_metadata)
    except ET.ParseError:
        return found
    pixels = next((el for el in root.iter() if el.tag.endswith("Pixels")), None)
    if pixels is None:
        return found
    for axis in ("X", "Y", "Z"):
        value = pixels.get(f"PhysicalSize{axis}")
        if value is None:
            continue
        unit = pixels.get(f"PhysicalSize{axis}Unit", "µm")
        factor = UNIT_TO_UM.get(unit)
        if factor is None:
            raise BadInputError(f"{path}: OME PhysicalSize{axis}Unit {unit!r} is not a length unit.")
        found[axis] = checked_size(float(value) * factor, path, f"OME-XML PhysicalSize{axis}")
    names = [ch.get("Name") or "" for ch in pixels if ch.tag.endswith("Channel")]
    if any(names):
        found["channel_names"] = names
    return found


def _resolution_um(tif: tifffile.TiffFile, path: Path, imagej_unit: str) -> tuple[float, str] | None:
    tags = tif.pages[0].tags
    if "XResolution" not in tags:
        return None
    num, den = tags["XResolution"].value
    if num <= 0 or den <= 0:
        return None
    px_per_unit = num / den
    if imagej_unit:
        factor = UNIT_TO_UM.get(imagej_unit)
        if factor is not None and px_per_unit != 1.0:
            return checked_size(factor / px_per_unit, path, "ImageJ resolution"), "ImageJ metadata"
    res_unit = int(tags["ResolutionUnit"].value) if "ResolutionUnit" in tags else 1
    per_unit_um = {3: 1e4, 4: 1e3, 5: 1.0}.get(res_unit)  # cm, mm, µm (tifffile extensions)
    if res_unit == 2 and px_per_unit not in _SCREEN_DPI:  # inch, unless a screen default
        per_unit_um = 25400.0
    if per_unit_um is None:
        return None
    return checked_size(per_unit_um / px_per_unit, path, "TIFF resolution tags"), "TIFF resolution tags"


def read_tiff(path: Path, lazy: bool = False) -> dict:
    """Read a TIFF: ``data``, ``axes``, ``pixel_size_um``, its source, z spacing, channel names.

    With ``lazy`` only the metadata is read (``data`` is ``None``); the
    caller opens the pixels lazily (see :mod:`napari_msc_morph._lazy`).
    """
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            data = None if lazy else series.asarray()
            axes = series.axes
            imagej = dict(tif.imagej_metadata or {})
            info = {"data": data, "axes": axes, "metadata": imagej, "pixel_size_um": None,
                    "pixel_size_source": "", "z_spacing_um": None, "channel_names": []}
            if tif.is_ome and tif.ome_metadata:
                ome = _ome_sizes(tif, path)
                if "X" in ome:
                    info["pixel_size_um"] = ome["X"]
                    info["pixel_size_source"] = "OME-XML PhysicalSizeX"
                info["z_spacing_um"] = ome.get("Z")
                info["channel_names"] = ome.get("channel_names", [])
            if info["pixel_size_um"] is None:
                found = _resolution_um(tif, path, str(imagej.get("unit", "")).strip())
                if found is not None:
                    info["pixel_size_um"], info["pixel_size_source"] = found
            if info["z_spacing_um"] is None and imagej.get("spacing") and "Z" in axes:
                factor = UNIT_TO_UM.get(str(imagej.get("unit", "")).strip(), None)
                if factor is not None:
                    info["z_spacing_um"] = checked_size(float(imagej["spacing"]) * factor, path,
                                                        "ImageJ spacing")
            labels = imagej.get("Labels")
            if not info["channel_names"] and isinstance(labels, (list, tuple)):
                info["channel_names"] = [str(x) for x in labels]
    except BadInputError:
        raise
    except Exception as err:
        raise BadInputError(f"Could not read TIFF {path}: {err}") from err
    return info
