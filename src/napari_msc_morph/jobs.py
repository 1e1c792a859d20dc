"""One protocol for long work: ``progress(done, total, message)`` callbacks (``total`` 0:
unknown) and a :class:`CancelToken`, checked between steps; a cancelled job raises
:class:`~napari_msc_morph.errors.Cancelled` after keeping what is finished.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .errors import Cancelled

__all__ = ["CancelToken", "ProgressFn", "check_cancelled", "report", "scaled"]

#: ``progress(done, total, message)``; ``total == 0`` when the length is unknown.
ProgressFn = Callable[[int, int, str], None]

logger = logging.getLogger("napari_msc_morph")


class CancelToken:
    """A flag one thread sets (GUI Cancel, Ctrl-C handler) and a job checks; nothing
    waits on it, so a plain attribute (set atomically) is enough."""

    cancelled = False

    def cancel(self) -> None:
        """Ask the job to stop at its next check."""
        self.cancelled = True


def check_cancelled(cancel: CancelToken | None, message: str = "Cancelled.") -> None:
    """Raise :class:`Cancelled` when ``cancel`` is set (``None`` never is)."""
    if cancel is not None and cancel.cancelled:
        raise Cancelled(message)


def report(progress: ProgressFn | None, done: int, total: int, message: str = "") -> None:
    """Call ``progress`` if given, and log the step at debug level."""
    logger.debug("%s (%d/%d)", message, done, total)
    if progress is not None:
        progress(int(done), int(total), message)


def scaled(progress: ProgressFn | None, start: int, span: int, total: int,
           prefix: str = "") -> ProgressFn | None:
    """A progress callback for a sub-job that fills ``[start, start + span)`` of ``total``,
    its messages after ``prefix``."""
    if progress is None:
        return None

    def sub(done: int, total_sub: int, message: str) -> None:
        fraction = done / total_sub if total_sub else 0.0
        progress(start + int(round(span * min(max(fraction, 0.0), 1.0))), total,
                 prefix + message)

    return sub
