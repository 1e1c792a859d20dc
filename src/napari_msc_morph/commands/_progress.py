"""The CLI face of the progress protocol: a tqdm bar on a terminal, a line every 10 % in a
log or pipe, nothing with ``TQDM_DISABLE`` or ``--quiet``; a failure to draw never ends a job.
"""

from __future__ import annotations

import contextlib
import os
import sys

_OFF_VALUES = {"", "0", "false", "no", "off"}


def progress_disabled() -> bool:
    """Whether ``TQDM_DISABLE`` asks for no progress output."""
    value = os.environ.get("TQDM_DISABLE")
    return value is not None and value.strip().lower() not in _OFF_VALUES


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


@contextlib.contextmanager
def progress_bar(description: str, unit: str = "step", stream=None, quiet: bool = False):
    """Yield a ``progress(done, total, message)`` drawing on stderr (``quiet``: nothing)."""
    stream = sys.stderr if stream is None else stream
    if quiet or progress_disabled():
        yield _ignore
        return
    if not _is_terminal(stream):
        yield _LineProgress(description, stream)
        return
    bar = _TqdmProgress(description, unit, stream)
    try:
        yield bar
    finally:
        bar.close()


def _ignore(done: int, total: int, message: str = "") -> None:
    return None


class _LineProgress:
    """A plain line each time the job passes another tenth (for logs and pipes)."""

    def __init__(self, description: str, stream):
        self.description = description
        self.stream = stream
        self.shown = -1

    def __call__(self, done: int, total: int, message: str = "") -> None:
        if not total or total <= 0:
            return
        tenth = int(10 * min(max(done / total, 0.0), 1.0))
        if tenth <= self.shown:
            return
        self.shown = tenth
        tail = f" {message}" if message else ""
        try:
            print(f"{self.description}: {10 * tenth}% ({done}/{total}){tail}", file=self.stream,
                  flush=True)
        except (OSError, ValueError):  # a closed pipe must not end the job
            self.shown = 10


class _TqdmProgress:
    """A tqdm bar on a terminal; dropped (not fatal) if tqdm fails to draw."""

    def __init__(self, description: str, unit: str, stream):
        from tqdm.auto import tqdm

        # disable=False: tqdm's own reading of TQDM_DISABLE ("0" counts as true) is not ours
        self.bar = tqdm(desc=description, unit=unit, file=stream, leave=False,
                        dynamic_ncols=True, disable=False)
        self.stream = stream

    def __call__(self, done: int, total: int, message: str = "") -> None:
        if self.bar is None:
            return
        try:
            if total and getattr(self.bar, "total", None) != total:
                self.bar.total = total
            self.bar.n = done
            if message:
                self.bar.set_postfix_str(message, refresh=False)
            self.bar.refresh()
        except Exception as err:  # drawing progress is never worth a crash
            self.close()
            with contextlib.suppress(Exception):
                print(f"(progress display stopped: {err})", file=self.stream)

    def close(self) -> None:
        bar, self.bar = self.bar, None
        if bar is not None:
            with contextlib.suppress(Exception):
                bar.close()
