"""The per-cell table's columns, each declared once: unit, dtype, family, definition.

:data:`COLUMNS` lists every feature in table order, as scikit-image's
``COL_DTYPES``; the engine builds its table from it and the column table of
docs/morphometry.md is generated from it (:func:`columns_markdown`).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

from ..registry import Registry

__all__ = ["COLUMNS", "Column", "OutputColumn", "output_columns", "columns_markdown"]

#: ``Column.unit`` values: how a feature becomes columns and what unit they carry.
#: "length"/"area" expand to ``_px`` + ``_um``/``_um2``; the others keep their name.
UNIT_KINDS = {
    "length": ("px", "µm"),
    "area": ("px²", "µm²"),
    "px": ("px",),
    "deg": ("°",),
    "1": ("1",),
    "id": ("id",),
    "count": ("count",),
    "intensity": ("image units",),
}


@dataclass(frozen=True)
class Column:
    """One feature of the per-cell table: the feature family computing it, a
    :data:`UNIT_KINDS` unit, the dtype of its pixel-unit column (``"labels"``: the
    label image's), one column per channel (``{channel}`` in the name), nuclei only."""

    family: str
    unit: str
    dtype: str = "float64"
    per_channel: bool = False
    needs_nuclei: bool = False


@dataclass(frozen=True)
class OutputColumn:
    """One column of a table: its name, the feature value it takes, and how."""

    name: str
    key: str          # the family's value (``area``, ``RUNX2_mean``)
    area_power: int   # 0: as computed, 1: × pixel size, 2: × pixel size²
    dtype: str


COLUMNS: Registry[Column] = Registry("column")


def _add(name: str, family: str, unit: str, help: str, **options) -> None:
    COLUMNS.add(name, Column(family, unit, **options), help)


_add("label", "size", "id", "object id (the label value)", dtype="labels")
_add("area", "size", "area", "pixel count", dtype="int64")
_add("convex_area", "convex", "area", "pixels of scikit-image's convex image "
     "(NaN when the convex family is off)")
_add("perimeter", "size", "length",
     "scikit-image's `perimeter` (4-connected border pixels, Benkrid–Crookes weights)")
_add("equivalent_diameter", "size", "length", "√(4A/π)")
_add("major_axis", "shape", "length",
     "4√λ₁ of the inertia tensor (the ellipse with the same second moments)")
_add("minor_axis", "shape", "length", "4√λ₂ of the inertia tensor")
_add("feret_max", "convex", "length", "largest caliper width (scikit-image's "
     "`feret_diameter_max`, over the 0.5-contour of the convex image)")
_add("feret_min", "convex", "length", "smallest caliper width of the same hull")
_add("centroid_y", "size", "length", "centroid row")
_add("centroid_x", "size", "length", "centroid column")
for _edge, _what in (("min_y", "first row"), ("min_x", "first column"),
                     ("max_y", "last row + 1"), ("max_x", "last column + 1")):
    _add(f"bbox_{_edge}_px", "size", "px", f"bounding box: {_what}", dtype="int64")
_add("edge_weight", "size", "1", "Miles–Lantuéjoul edge-correction weight H·W / ((H − 1 − h)"
     "(W − 1 − w)) of an object with an h × w px bounding box in an H × W px field; 0 for an "
     "object touching the border (see *Cell size without edge bias*)")
_add("aspect_ratio", "shape", "1", "major / minor axis (NaN for a one-pixel-thin object)")
_add("eccentricity", "shape", "1", "as scikit-image: √(1 − λ₂/λ₁)")
_add("orientation_deg", "shape", "deg",
     "angle between the row axis and the major axis, −90…90° (scikit-image's `orientation`)")
_add("solidity", "convex", "1", "area / convex area")
_add("extent", "shape", "1", "area / bounding-box area")
_add("circularity", "shape", "1", "4πA/P², CellProfiler's FormFactor (1 for a continuous disk; "
     "a digital disk of radius 5–50 px gives 1.16–0.92, see *Circularity at pixel resolution*)")
_add("compactness", "shape", "1", "2π × mean squared distance of the pixels from the "
     "centroid / A, CellProfiler's Compactness (1 for a disk)")
for _stat, _what in (("mean", "mean intensity"), ("median", "median intensity"),
                     ("min", "minimum intensity"), ("max", "maximum intensity"),
                     ("std", "standard deviation of the intensity (ddof = 0)"),
                     ("integrated", "integrated intensity (sum)")):
    _add(f"{{channel}}_{_stat}", "intensity", "intensity", f"{_what} over the object",
         per_channel=True)
_add("{channel}_nuc_mean", "intensity", "intensity",
     "mean over the object's nuclear pixels (NaN without any)",
     per_channel=True, needs_nuclei=True)
_add("{channel}_cyto_mean", "intensity", "intensity",
     "mean over the object's non-nuclear pixels (NaN without any)",
     per_channel=True, needs_nuclei=True)
_add("{channel}_nuc_cyto_ratio", "intensity", "1", "nuclear / cytoplasmic mean",
     per_channel=True, needs_nuclei=True)
_add("nucleus_label", "linkage", "id", "the largest nucleus of the object (0: none); "
     "each nucleus belongs to the object holding most of its pixels",
     dtype="int64", needs_nuclei=True)
_add("n_nuclei", "linkage", "count", "nuclei belonging to the object",
     dtype="int64", needs_nuclei=True)
_add("nucleus_area", "linkage", "area", "summed area of the object's nuclei",
     dtype="int64", needs_nuclei=True)
_add("nc_ratio", "linkage", "1", "N/C ratio: nucleus area / object area", needs_nuclei=True)


def _expand(name: str, column: Column, with_pixel_size: bool) -> list[tuple[str, int, str]]:
    """(column name, power of the pixel size, dtype) for one feature."""
    physical = {"length": ("_um", 1), "area": ("_um2", 2)}.get(column.unit)
    if physical is None:
        return [(name, 0, column.dtype)]
    suffix, power = physical
    return [(f"{name}_px", 0, column.dtype),
            *([(name + suffix, power, "float64")] if with_pixel_size else [])]


def output_columns(channels=(), *, with_nuclei: bool = False,
                   with_pixel_size: bool = False) -> list[OutputColumn]:
    """The table's columns in order; consecutive per-channel features repeat as one block
    per channel (``A_mean … A_nuc_cyto_ratio, B_mean …``).

    >>> [c.name for c in output_columns()][:3]
    ['label', 'area_px', 'convex_area_px']
    """
    out: list[OutputColumn] = []
    names = [n for n in COLUMNS if with_nuclei or not COLUMNS.get(n).needs_nuclei]
    for per_channel, block in groupby(names, key=lambda n: COLUMNS.get(n).per_channel):
        block = list(block)
        for channel in channels if per_channel else [None]:  # no "{channel}": format is a no-op
            out += [OutputColumn(name.format(channel=channel), template.format(channel=channel),
                                 power, dtype)
                    for template in block
                    for name, power, dtype in _expand(template, COLUMNS.get(template),
                                                      with_pixel_size)]
    return out


def columns_markdown() -> str:
    """The docs' column table (column, unit, dtype, family, definition)."""
    rows = ["| column | unit | dtype | family | definition |", "|---|---|---|---|---|"]
    for name in COLUMNS:
        column = COLUMNS.get(name)
        units = UNIT_KINDS[column.unit]
        dtype = column.dtype if column.dtype != "labels" else "as the labels"
        if len(units) == 2:
            dtype += ", float64"
        definition = COLUMNS.help(name) + ("; *with nuclei*" if column.needs_nuclei else "")
        shown = _expand(name.replace("{channel}", "NAME"), column, with_pixel_size=True)
        names = ", ".join(f"`{shown_name}`" for shown_name, _, _ in shown)
        rows.append(f"| {names} | {', '.join(units)} | {dtype} | "
                    f"{column.family} | {definition} |")
    return "\n".join(rows)
