"""Values in the results table: rows, metadata parsing and display (no Qt)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

#: Sample metadata columns, editable in the table.
METADATA_COLUMNS = ("sample_id", "donor", "day", "condition")

# Metadata columns holding numbers.
NUMERIC_METADATA = ("day", "passage", "replicate")


class _Row:
    """One table row: a layer (None once detached), its values and sample metadata."""

    def __init__(self, layer, name: str):
        self.layer = layer
        self.name = name
        self.values: dict[str, Any] = {}
        self.metadata: dict[str, Any] = {}


def _layer_file_name(layer) -> str:
    """The file a layer was opened from, else its name."""
    source = getattr(layer, "source", None)
    path = getattr(source, "path", None) if source is not None else None
    return os.fspath(path) if path else str(layer.name)


def _parse_metadata_value(column: str, text) -> Any:
    if text is None:
        return None
    if isinstance(text, float) and np.isnan(text):
        return None
    if isinstance(text, str):
        text = text.strip()
        if not text:
            return None
    if column in NUMERIC_METADATA:
        try:
            number = float(text)
        except (TypeError, ValueError):
            return text
        return int(number) if number.is_integer() else number
    if isinstance(text, (np.integer, np.floating)):
        return text.item()
    return text


def _format(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return ""
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_format(v) for v in value)
    return str(value)


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def same_layer(a, b) -> bool:
    """Whether ``a`` and ``b`` are the same napari layer.

    napari hands each plugin widget a public-only proxy of the viewer, whose
    layers come back as proxies too (a new one per access), so identity is not
    enough: the proxies compare equal to the layer they wrap (and a napari layer
    compares by identity), so ``==`` is the public test.
    """
    if a is None or b is None:
        return False
    return a is b or bool(a == b)


#: ``layer.metadata`` keys where the Predict and Measure docks record how a layer's
#: results were made (exported with the tables as provenance).
PREDICT_RUN_KEY = "msc_morph_prediction"
MEASURE_RUN_KEY = "msc_morph_measure"


def results_provenance(rows: list[_Row], frame, imported: list[dict]) -> dict:
    """Export metadata of the results table: models, pixel sizes, run settings per layer.

    ``rows`` are the table's rows, ``frame`` its DataFrame, ``imported`` the
    metadata of tables imported into it (kept so provenance survives a round trip).
    """
    from ._layers import layer_pixel_size

    models: list[dict] = []

    def add_model(record: dict) -> None:
        key = (record.get("model_id"), record.get("weights_sha256"))
        if not any((m.get("model_id"), m.get("weights_sha256")) == key for m in models):
            models.append(dict(record))

    layers: dict[str, dict] = {}
    for row in rows:
        if row.layer is None:
            continue
        meta = getattr(row.layer, "metadata", None) or {}
        info: dict[str, Any] = {"pixel_size_um": layer_pixel_size(row.layer)}
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
            if not any(m.get("model_id") == model_id for m in models):
                add_model({"model_id": str(model_id), "weights_sha256": None})
    out: dict[str, Any] = {"table": "results", "n_rows": len(rows), "models": models,
                           "layers": layers}
    if imported:
        out["imported_from"] = imported
    return out
