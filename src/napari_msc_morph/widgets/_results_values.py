"""Values in the results table: rows, metadata parsing and display (no Qt)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Sample metadata columns, editable in the table.
METADATA_COLUMNS = ("sample_id", "donor", "day", "condition")

# Metadata columns holding numbers.
NUMERIC_METADATA = ("day", "passage", "replicate")


@dataclass(eq=False)  # rows are found by identity
class _Row:
    """One table row: a layer (None once detached), its values and sample metadata.

    ``plane`` is ``None`` for a whole image, else the plane's index text (``"3"``,
    ``"0,2"``); ``fixed`` names the plane's axis columns (``day`` …), never edited.
    """

    layer: Any
    name: str
    plane: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    fixed: set[str] = field(default_factory=set)

    def __post_init__(self):
        if self.plane is not None:
            self.values["plane"] = self.plane


def key_text(value) -> str:
    """A value as a sample key: whole numbers without decimals (7.0, "7.0" and 7 -> "7")."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value).strip()
    return str(int(number)) if number.is_integer() else str(value).strip()


def cell_text(value, digits: int = 3) -> str:
    """A table cell: floats with ``digits`` significant digits (infinities as ``inf``: they are
    values, not gaps), NaN and None empty, lists comma-joined."""
    if isinstance(value, (list, tuple)):
        return ", ".join(cell_text(v, digits) for v in value)
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else f"{value:.{digits}g}"
    return "" if value is None else str(value)


def plane_key(value) -> str | None:
    """A row's plane as text: ``3``, ``3.0`` and ``"3"`` -> ``"3"``; missing -> ``None``."""
    if _is_missing(value) or (isinstance(value, str) and not value.strip()):
        return None
    return key_text(value)


# napari names unnamed axes by their position: "-3", "-2", "-1"
_UNNAMED_AXIS = re.compile(r"-?\d+")


def plane_index(layer, plane) -> tuple[int, ...] | None:
    """The index of ``plane`` (a table's ``plane`` value: ``2``, ``"0,2"``) on each leading
    axis of ``layer`` (``"2"`` on a 2 x 3 stack: ``(0, 2)``), or None when it does not fit the
    layer or is missing (a whole image)."""
    data = layer.data[0] if getattr(layer, "multiscale", False) else layer.data
    lead_shape = tuple(data.shape[:int(layer.ndim) - 2])
    try:
        index = tuple(int(part) for part in (plane_key(plane) or "").split(","))
    except ValueError:
        return None
    if len(index) == 1 and len(lead_shape) > 1 and index[0] < int(np.prod(lead_shape)):
        index = tuple(int(i) for i in np.unravel_index(index[0], lead_shape))
    if len(index) != len(lead_shape) or any(not 0 <= i < n for i, n in zip(index, lead_shape)):
        return None
    return index


def show_plane(viewer, layer, plane) -> None:
    """Move ``viewer``'s sliders to ``plane`` of ``layer`` (a table's ``plane`` value: ``3``,
    ``"0,2"``); nothing for a whole image (empty or NaN) or a plane the layer lacks."""
    offset = viewer.dims.ndim - int(layer.ndim)  # the layer's axes are the viewer's last
    for axis, step in enumerate(plane_index(layer, plane) or ()):
        viewer.dims.set_current_step(offset + axis, step)


def select_layers(viewer, layers) -> None:
    """Show and select ``layers`` in ``viewer`` (one layer also becomes the active one)."""
    for layer in layers:
        layer.visible = True
    viewer.layers.selection.clear()
    viewer.layers.selection.update(layers)
    if len(layers) == 1:  # setting `active` would drop the others from the selection
        viewer.layers.selection.active = layers[0]


def plane_axis_values(layer, plane: str) -> dict[str, Any]:
    """The axis values of one plane of a stack layer: ``{"day": 14}``.

    The values a sample stack lists for its leading axis (``stack_axis`` metadata: days
    0, 1, 3 … 21 are not evenly spaced) come first; other named axes give the plane's
    world coordinate (what napari's slider shows); unnamed axes give nothing.
    """
    from .sample_loading import AXIS_KEY

    index = plane_index(layer, plane)
    if index is None:
        return {}
    labels = tuple(getattr(layer, "axis_labels", ()) or ())[:len(index)]
    scale, translate = tuple(layer.scale), tuple(layer.translate)
    out: dict[str, Any] = {}
    listed = (getattr(layer, "metadata", None) or {}).get(AXIS_KEY)
    for axis, i in enumerate(index):
        if axis == 0 and isinstance(listed, dict) and i < len(listed.get("values", ())):
            out[str(listed["axis"])] = listed["values"][i]
        elif axis < len(labels) and not _UNNAMED_AXIS.fullmatch(str(labels[axis])):
            value = float(translate[axis] + i * scale[axis])
            out[str(labels[axis])] = int(value) if value.is_integer() else value
    return out


def _layer_file_name(layer) -> str:
    """The file a layer was opened from, else its name."""
    source = getattr(layer, "source", None)
    path = getattr(source, "path", None) if source is not None else None
    return os.fspath(path) if path else str(layer.name)


def _parse_metadata_value(column: str, text) -> Any:
    if isinstance(text, str):
        text = text.strip() or None
    if _is_missing(text):
        return None
    if column in NUMERIC_METADATA:
        try:
            number = float(text)
        except (TypeError, ValueError):
            return text
        return int(number) if number.is_integer() else number
    return text.item() if isinstance(text, (np.integer, np.floating)) else text


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def same_layer(a, b) -> bool:
    """Whether ``a`` and ``b`` are the same layer (a viewer proxy hands out a new layer
    proxy per access, which compares equal to the layer it wraps)."""
    if a is None or b is None:
        return False
    return a is b or bool(a == b)


#: ``layer.metadata`` keys where the Predict and Measure docks record how a layer's
#: results were made (exported with the tables as provenance).
PREDICT_RUN_KEY = "msc_morph_prediction"
MEASURE_RUN_KEY = "msc_morph_measure"


def row_pixel_size(row: _Row) -> float | None:
    """The pixel size (µm) a row's numbers were made at: its own ``pixel_size_um``, else
    its layer's."""
    from ._layers import layer_pixel_size

    value = row.values.get("pixel_size_um")
    if not _is_missing(value):
        try:
            return float(value)
        except (TypeError, ValueError):
            pass
    return None if row.layer is None else layer_pixel_size(row.layer)


#: What the top-level ``pixel_size_um`` of an export says when its rows differ.
PER_ROW = "per row"


def pixel_size_summary(rows: list[_Row]) -> dict[str, Any]:
    """The top-level pixel size of an export: the one size every row shares, ``None``
    when none is known, else ``"per row"`` with the sizes met in ``pixel_sizes_um``."""
    sizes = [row_pixel_size(row) for row in rows]
    known = sorted({round(size, 9) for size in sizes if size is not None})
    unknown = any(size is None for size in sizes)
    if not known:
        return {"pixel_size_um": None}
    if len(known) == 1 and not unknown:
        return {"pixel_size_um": known[0]}
    return {"pixel_size_um": PER_ROW, "pixel_sizes_um": [*known, *([None] if unknown else [])]}


def results_provenance(rows: list[_Row], frame, imported: list[dict]) -> dict:
    """Export metadata of the results table: pixel size, models, run settings per layer.
    ``imported``: the metadata of tables imported into it (kept through a round trip)."""
    models: dict[tuple, dict] = {}  # (model_id, weights_sha256) -> record, first one kept

    def add_model(record: dict) -> None:
        models.setdefault((record.get("model_id"), record.get("weights_sha256")), dict(record))

    layers: dict[str, dict] = {}
    for row in rows:
        if row.layer is None or row.name in layers:  # a stack's planes share one entry
            continue
        meta = getattr(row.layer, "metadata", None) or {}
        info: dict[str, Any] = {"pixel_size_um": row_pixel_size(row)}
        source = _layer_file_name(row.layer)
        if source != row.name:
            info["source_file"] = source
        run = meta.get(PREDICT_RUN_KEY)
        if isinstance(run, dict):
            if isinstance(run.get("model"), dict):
                add_model(run["model"])
            info["prediction"] = {k: v for k, v in run.items() if k != "model"}
        if isinstance(meta.get(MEASURE_RUN_KEY), dict):
            info["measure"] = meta[MEASURE_RUN_KEY]
        layers[row.name] = info
    for old in imported:
        for record in old.get("models", []) or []:
            if isinstance(record, dict):
                add_model(record)
    if "model_id" in getattr(frame, "columns", ()):  # rows whose bundle is not known here
        for model_id in frame["model_id"].dropna().unique():
            if not any(key[0] == model_id for key in models):
                add_model({"model_id": str(model_id), "weights_sha256": None})
    out: dict[str, Any] = {"table": "results", "n_rows": len(rows), **pixel_size_summary(rows),
                           "models": list(models.values()), "layers": layers}
    if imported:
        out["imported_from"] = imported
    return out
