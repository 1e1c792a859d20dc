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
