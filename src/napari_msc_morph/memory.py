"""Pre-flight memory checks: refuse work that cannot fit before it starts, with the
option that changes its size, instead of a ``MemoryError`` or a killed napari.
"""

from __future__ import annotations

from .errors import BadInputError

__all__ = ["available_bytes", "check_fits", "format_bytes", "MEMORY_SHARE"]

#: Share of free memory a job may plan to use (the rest: napari, copies not estimated).
MEMORY_SHARE = 0.8


def available_bytes() -> int:
    """Memory free for a new allocation, in bytes (psutil's ``available``)."""
    import psutil

    try:
        return int(psutil.virtual_memory().available)
    except (OSError, RuntimeError):  # a system psutil cannot read: do not guess
        return 1 << 62


def format_bytes(n: float) -> str:
    """``n`` bytes in the largest binary unit that keeps it at least 1 (``14.2 GiB``)."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            break
        value /= 1024
    if value >= 1024:  # beyond PiB: exbibytes
        return f"{value / 1024:.2f} EiB"
    return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"


def check_fits(n_bytes: float, what: str, advice: str, *, available: int | None = None) -> None:
    """Refuse a step whose estimated peak ``n_bytes`` exceeds what the machine can give.

    ``what`` (the step and its input, as the user knows them) starts the message,
    ``advice`` names the option that changes the size.

    Examples
    --------
    >>> check_fits(1024, "reading a.tif", "crop it", available=1 << 30)
    >>> check_fits(1 << 40, "reading a.tif", "crop it", available=1 << 30)
    Traceback (most recent call last):
    ...
    napari_msc_morph.errors.BadInputError: reading a.tif needs about 1.0 TiB of memory, but \
only 1.0 GiB is free; crop it
    """
    free = available_bytes() if available is None else int(available)
    if n_bytes > MEMORY_SHARE * free:
        raise BadInputError(f"{what} needs about {format_bytes(n_bytes)} of memory, but only "
                            f"{format_bytes(free)} is free; {advice}")
