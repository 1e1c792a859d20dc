"""Pre-flight memory checks: refuse work that cannot fit before it starts.

A TIFF header that claims 2³¹ × 2³¹ pixels, or a pixel size that makes
prediction upsample a 400 × 400 image 150-fold, would otherwise end in a
``MemoryError`` (or the kernel killing napari with the session's work). Every
step that allocates in proportion to its input asks :func:`check_fits` first,
with the option that changes the size, so the user gets one clear message.
"""

from __future__ import annotations

from .errors import BadInputError

__all__ = ["available_bytes", "check_fits", "format_bytes", "MEMORY_SHARE"]

#: A job may plan to use at most this share of the memory free when it starts
#: (the rest is for napari, the interpreter and copies the estimate leaves out).
MEMORY_SHARE = 0.8


def available_bytes() -> int:
    """Memory free for a new allocation, in bytes: free memory plus the cache the system
    can drop (psutil's ``available``, on Linux ``MemAvailable``)."""
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
    """Raise a BadInputError when ``what`` needs more memory than the machine can give.

    Parameters
    ----------
    n_bytes : float
        The estimated peak memory of the step.
    what : str
        The step and its input, as the user knows them ("predicting field.tif
        at 0.65 µm/px"); it starts the message.
    advice : str
        What to do instead, naming the option that changes the size.
    available : int, optional
        Free memory in bytes (default :func:`available_bytes`); tests pass it.

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
