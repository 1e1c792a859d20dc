"""TIFF reading with physical pixel size, axes and channel names (tifffile).

The pixel size comes from OME-XML, ImageJ metadata, a vendor description, or
resolution tags with a length unit (never inches), in that order
(docs/opening-files.md), and is judged by :func:`~.pixel_size.judge_pixel_size`.
A header claiming more pixels than the file or memory holds is refused first.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import tifffile

from .errors import BadInputError
from .memory import check_fits, format_bytes
from .pixel_size import judge_pixel_size

#: Marks a label image the plugin wrote (OME description; ``msc_morph=labels`` otherwise).
LABELS_MARK = "napari-msc-morph labels"

UNIT_TO_UM = {
    "um": 1.0, "µm": 1.0, "μm": 1.0, "\\u00b5m": 1.0, "micron": 1.0, "microns": 1.0,
    "micrometer": 1.0, "micrometre": 1.0, "nm": 1e-3, "nanometer": 1e-3, "mm": 1e3,
    "millimeter": 1e3, "cm": 1e4, "centimeter": 1e4, "m": 1e6, "meter": 1e6,
}
#: No microscope image compresses better than this; a header claiming more is broken.
MAX_COMPRESSION_RATIO = 100_000
#: TIFF ResolutionUnit codes with a length; inch (2) is left out: dpi is not a pixel size.
_RESOLUTION_UNITS = {3: (1e4, "cm"), 4: (1e3, "mm"), 5: (1.0, "µm")}
_NUMBER = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf)"
_MICRONS_PER_PIXEL = {
    axis: re.compile(rf"MicronsPerPixel{axis}\s*[=:]\s*[\"']?\s*{_NUMBER}", re.IGNORECASE)
    for axis in ("", "X", "Y")
}
_METAMORPH_PROP = r"<prop\s+id=\"spatial-calibration-{}\"[^>]*?value=\"([^\"]*)\""


def unit_factor(unit) -> float | None:
    """µm per ``unit`` (``"micron"``, ``"nm"``, ...), or ``None`` when it is not a length."""
    return UNIT_TO_UM.get(str(unit).strip().lower())


def checked_size(value: float, path: Path, where: str) -> float:
    """``value`` if it is a positive finite number of µm."""
    if not math.isfinite(value) or value <= 0:
        raise BadInputError(
            f"{path}: the file's {where} gives a pixel size of {value} µm, which cannot be "
            "right; fix the metadata (e.g. in Fiji: Image › Properties) or give the pixel "
            "size yourself (--pixel-size, or the layer's scale)."
        )
    return float(value)


def _ome_sizes(tif: tifffile.TiffFile, path: Path) -> dict:
    """Pixel sizes (µm, NaN when unreadable) and channel names from OME-XML."""
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
        factor = unit_factor(unit)
        if factor is None:
            raise BadInputError(f"{path}: OME PhysicalSize{axis}Unit {unit!r} is not a length "
                                "unit; fix the metadata or give the pixel size yourself.")
        try:
            found[axis] = float(value) * factor
        except ValueError:
            found[axis] = math.nan
    names = [ch.get("Name") or "" for ch in pixels if ch.tag.endswith("Channel")]
    if any(names):
        found["channel_names"] = names
    return found


def _per_pixel(tags, name: str) -> float | None:
    """Pixels per resolution unit from the ``XResolution``/``YResolution`` tag."""
    if name not in tags:
        return None
    num, den = tags[name].value
    return num / den if num > 0 and den > 0 else None


def _imagej_size(tags, imagej: dict) -> tuple[float, float, str] | None:
    """(x, y) µm from ImageJ's length ``unit`` and the resolution tags."""
    unit = imagej.get("unit")
    factor = unit_factor(unit) if unit is not None else None
    x = _per_pixel(tags, "XResolution")
    if factor is None or x is None:
        return None
    y = _per_pixel(tags, "YResolution") or x
    return factor / x, factor / y, f"ImageJ metadata (unit {str(unit).strip()})"


def _description_size(description: str) -> tuple[float, float, str] | None:
    """(x, y) µm from a vendor description: ``MicronsPerPixel`` or MetaMorph's calibration."""
    found = {axis: pattern.search(description) for axis, pattern in _MICRONS_PER_PIXEL.items()}
    x = found["X"] or found[""]
    if x is not None:
        y = found["Y"] or x
        return float(x.group(1)), float(y.group(1)), "MicronsPerPixel (TIFF description)"
    x = re.search(_METAMORPH_PROP.format("x"), description)
    if x is None:
        return None
    y = re.search(_METAMORPH_PROP.format("y"), description) or x
    unit = re.search(_METAMORPH_PROP.format("units"), description)
    factor = unit_factor(unit.group(1)) if unit is not None else 1.0
    if factor is None:  # calibrated in pixels: no physical size
        return None
    try:
        return (float(x.group(1)) * factor, float(y.group(1)) * factor,
                "MetaMorph spatial-calibration")
    except ValueError:
        return None


def _resolution_size(tags) -> tuple[float, float, str] | None:
    """(x, y) µm from plain resolution tags with a length unit (never inches)."""
    code = int(tags["ResolutionUnit"].value) if "ResolutionUnit" in tags else 1
    x = _per_pixel(tags, "XResolution")
    if code not in _RESOLUTION_UNITS or x is None:
        return None
    per_unit, unit = _RESOLUTION_UNITS[code]
    y = _per_pixel(tags, "YResolution") or x
    return per_unit / x, per_unit / y, f"TIFF resolution tags ({unit})"


def _ignored_resolution(tags) -> str:
    """Why a resolution in dots per inch was not taken as a pixel size (for metadata)."""
    code = int(tags["ResolutionUnit"].value) if "ResolutionUnit" in tags else 1
    x = _per_pixel(tags, "XResolution")
    if code == 2 and x is not None:
        return f"{x:g} dpi resolution tag ignored: dots per inch are not a pixel size"
    return ""


def pixel_size_found(tif: tifffile.TiffFile, path: Path, imagej: dict) -> tuple[dict, dict]:
    """The pixel-size fields of the file (see :func:`judge_pixel_size`) and the OME extras."""
    page = tif.pages[0]
    tags = page.tags
    ome = _ome_sizes(tif, path) if tif.is_ome and tif.ome_metadata else {}
    if "X" in ome:
        found = ome["X"], ome.get("Y"), "OME-XML PhysicalSizeX"
    elif imagej:
        found = _imagej_size(tags, imagej)
    elif not tif.is_ome:
        found = _description_size(page.description or "")
    else:
        found = None
    found = found or _resolution_size(tags)
    return judge_pixel_size(path, *(found or (None,))), ome


def check_header(tif: tifffile.TiffFile, series, path: Path, lazy: bool) -> None:
    """Refuse a header that claims more pixels than the file holds, or than memory holds."""
    claimed = int(series.nbytes)
    file_size = path.stat().st_size
    shape = " x ".join(str(n) for n in series.shape)
    first = series.pages[0] if len(series.pages) else None
    compressed = first is not None and int(getattr(first, "compression", 1)) != 1
    what = f"{path}: the header and the data disagree: the header claims {shape} px " \
           f"({series.dtype}, {format_bytes(claimed)})"
    advice = "The file is damaged or was cut short; export it again from the microscope software."
    if compressed and claimed > MAX_COMPRESSION_RATIO * file_size:
        raise BadInputError(f"{what} but the file is {format_bytes(file_size)}, more than "
                            f"{MAX_COMPRESSION_RATIO:,} times smaller even compressed. {advice}")
    if claimed > file_size and first is not None and not compressed:
        # uncompressed pixels must all be in the file
        stored = sum(sum(int(n) for n in (getattr(page, "databytecounts", None) or ()))
                     for page in series.pages if page is not None)
        if claimed > stored:
            raise BadInputError(f"{what} but the file stores only {format_bytes(stored)} of "
                                f"pixels (file size {format_bytes(file_size)}). {advice}")
    if not lazy:
        check_fits(claimed, f"{path}: reading {shape} px ({series.dtype}; file size "
                   f"{format_bytes(file_size)})",
                   "if the header is wrong the file is damaged (export it again); a real "
                   "mosaic this large is opened in napari tile by tile (File › Open) or must be "
                   "cropped first.")


def is_labels_file(tif: tifffile.TiffFile, imagej: dict) -> bool:
    """Whether the plugin wrote this file as a label image (see :data:`LABELS_MARK`)."""
    if tif.is_ome and LABELS_MARK in (tif.ome_metadata or ""):
        return True
    shaped = [m for m in (tif.shaped_metadata or ()) if isinstance(m, dict)]
    return any(m.get("msc_morph") == "labels" for m in [imagej, *shaped])


def read_tiff(path: Path, lazy: bool = False) -> dict:
    """Read a TIFF: ``data`` (``None`` with ``lazy``), ``axes``, pixel sizes, channel names."""
    path = Path(path)
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            check_header(tif, series, path, lazy)
            data = None if lazy else series.asarray()
            axes = series.axes
            imagej = dict(tif.imagej_metadata or {})
            sizes, ome = pixel_size_found(tif, path, imagej)
            metadata = dict(imagej)
            if is_labels_file(tif, imagej):
                metadata["kind"] = "labels"
            if sizes["pixel_size_source"] == "":
                ignored = _ignored_resolution(tif.pages[0].tags)
                if ignored:
                    metadata["pixel_size_ignored"] = ignored
            info = {"data": data, "axes": axes, "metadata": metadata, **sizes,
                    "z_spacing_um": None, "channel_names": ome.get("channel_names", [])}
            z = ome.get("Z")
            if z is None and imagej.get("spacing") and "Z" in axes:
                factor = unit_factor(imagej.get("unit", ""))
                z = None if factor is None else float(imagej["spacing"]) * factor
            if z is not None:
                info["z_spacing_um"] = checked_size(z, path, "z spacing")
            labels = imagej.get("Labels")
            if not info["channel_names"] and isinstance(labels, (list, tuple)):
                info["channel_names"] = [str(x) for x in labels]
    except BadInputError:
        raise
    except Exception as err:
        raise BadInputError(f"Could not read TIFF {path}: {err}") from err
    return info
