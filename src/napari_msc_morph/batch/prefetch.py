"""Read the next items on a background thread while the current one is worked on.

Decoders and the network's forward pass release the GIL, so reading image *k+1*
overlaps predicting image *k*. Results come back in input order, a failed load as
that item's future, at most ``depth`` loaded items wait, and closing the iterator
(cancel, Ctrl-C) drops the loads not yet started.

>>> [loaded.result() for loaded in prefetched([1, 2, 3], lambda x: 10 * x)]
[10, 20, 30]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ..errors import BadInputError
from ..jobs import CancelToken

__all__ = ["PREFETCH_DEPTH", "prefetched"]

#: Items read ahead of the one being worked on (``predict_images(prefetch=...)``).
PREFETCH_DEPTH = 2


def _load_now(load: Callable[[Any], Any], item) -> Future:
    future: Future = Future()
    try:
        future.set_result(load(item))
    except Exception as err:  # handed back to the consumer, in order
        future.set_exception(err)
    return future


def prefetched(items: Iterable, load: Callable[[Any], Any], depth: int = PREFETCH_DEPTH,
               cancel: CancelToken | None = None) -> Iterator[Future]:
    """Yield the done future of ``load(item)`` for each item, in order, ``depth`` ahead.

    Parameters
    ----------
    items : iterable
        What to load; consumed lazily.
    load : callable
        ``load(item) -> value``, on one background thread when ``depth > 0``.
    depth : int
        Items loaded ahead; ``0`` loads on the caller's thread.
    cancel : CancelToken, optional
        Once set, loads not yet started are skipped.

    Raises
    ------
    BadInputError
        If ``depth`` is negative or not a whole number.
    """
    if int(depth) != depth or depth < 0:
        raise BadInputError(f"prefetch must be a whole number of images, 0 or more, got {depth}.")
    return _prefetch(iter(items), load, int(depth), cancel)


def _prefetch(iterator: Iterator, load, depth: int, cancel) -> Iterator[Future]:
    if depth == 0:
        for item in iterator:
            yield _load_now(load, item)
        return

    def guarded(item):
        if cancel is not None and cancel.cancelled:
            return None  # the consumer raises Cancelled before using it
        return load(item)

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="msc-morph-prefetch")
    pending: deque[Future] = deque()

    def submit_next() -> bool:
        for item in iterator:
            pending.append(pool.submit(guarded, item))
            return True
        return False

    try:
        while len(pending) < depth and submit_next():
            pass
        while pending:
            future = pending.popleft()
            # wait for this item first, then queue the next: at most `depth` loaded
            # images wait while the consumer works on the current one
            future.exception()
            submit_next()
            yield future
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
