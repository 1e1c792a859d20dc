"""How raw pixels become [0, 1] before a bundle's mean/std: :data:`INTENSITY_MODES`,
each ``limits(dtype, finite values) -> (lo, hi)``.
"""

from __future__ import annotations

import numpy as np

from ..registry import Registry

__all__ = ["INTENSITY_MODES", "PERCENTILES", "auto_mode", "dtype_limits", "percentile_limits"]

INTENSITY_MODES: Registry = Registry("intensity mode")
#: The percentiles a ``percentile`` range spans (brighter/darker outliers clip).
PERCENTILES = (0.5, 99.5)


def dtype_limits(dtype, values=None) -> tuple[float, float]:
    """The dtype's range: uint8 0-255, uint16 0-65535, bool and float 0-1."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "iu":
        return 0.0, 1.0
    info = np.iinfo(dtype)
    return (float(min(info.min, 0)) if dtype.kind == "i" else 0.0), float(info.max)


def percentile_limits(dtype, values) -> tuple[float, float]:
    """The :data:`PERCENTILES` of ``values`` (one pair for all channels: colour balance)."""
    lo, hi = (float(v) for v in np.percentile(np.asarray(values, np.float64), PERCENTILES))
    if hi <= lo:  # flat image: keep it flat instead of dividing by zero
        lo = float(np.min(values))
        hi = lo + 1.0
    return lo, hi


def auto_mode(dtype, values) -> str:
    """``dtype`` for uint8, bool and floats within [0, 1]; else ``percentile`` (16-bit
    cameras rarely fill 0-65535)."""
    dtype = np.dtype(dtype)
    if dtype == np.uint8 or dtype.kind == "b":
        return "dtype"
    if dtype.kind == "f" and values.min() >= 0 and values.max() <= 1:
        return "dtype"
    return "percentile"


INTENSITY_MODES.add("auto", lambda dtype, values: INTENSITY_MODES.get(auto_mode(dtype, values))(
    dtype, values), help="`dtype` for uint8, bool and floats within [0, 1]; `percentile` otherwise")
INTENSITY_MODES.add("dtype", dtype_limits,
                    help="the dtype's range (uint8 0-255, uint16 0-65535, float 0-1)")
INTENSITY_MODES.add("percentile", percentile_limits,
                    help="the 0.5th and 99.5th percentiles of the plane's finite pixels")
