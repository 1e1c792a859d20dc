"""The CLI face of the progress protocol: one tqdm bar per job."""

from __future__ import annotations

import contextlib
import sys


@contextlib.contextmanager
def progress_bar(description: str, unit: str = "step"):
    """Yield a ``progress(done, total, message)`` callback drawing a tqdm bar on stderr.

    >>> with progress_bar("measure") as progress:  # doctest: +SKIP
    ...     measure_field(..., progress=progress)
    """
    from tqdm.auto import tqdm

    bar = tqdm(desc=description, unit=unit, file=sys.stderr, leave=False,
               dynamic_ncols=True)

    def progress(done: int, total: int, message: str = "") -> None:
        if total and bar.total != total:
            bar.total = total
        bar.n = done
        if message:
            bar.set_postfix_str(message, refresh=False)
        bar.refresh()

    try:
        yield progress
    finally:
        bar.close()
