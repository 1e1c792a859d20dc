"""JSON-ready copies of metrics and state: the one helper every writer of JSON here uses."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["json_safe"]


def json_safe(obj):
    """``obj`` with numpy scalars made Python numbers and NaN/Inf made ``None``."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    return obj
