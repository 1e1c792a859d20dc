"""The per-image loop that every batch entry point runs, written once.

:func:`~napari_msc_morph.inference.predict_images` and
:func:`~napari_msc_morph.inference.explain_images` differ only in what they do
with one loaded image. :func:`collect_each` does the rest for both: it walks
the expanded inputs, reads each lazily (ahead of time with ``prefetch``,
:mod:`.prefetch`), isolates one image's failure (``on_error="raise"`` stops
there, ``"collect"`` records an :class:`~.batch.ImageFailure` and goes on),
gives each image an equal share of the progress bar, hands each result to
``on_result``, keeps the finished images on a stop (``err.partial``) and says
when no image at all worked.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from ..errors import BadInputError, Cancelled
from ..jobs import CancelToken, ProgressFn, check_cancelled, report
from .batch import _IMAGE_ERRORS, ImageFailure, PredictionBatch, error_text
from .prefetch import prefetched

__all__ = ["STEPS_PER_IMAGE", "collect_each", "item_name", "label_result", "nothing_done",
           "run_steps"]

logger = logging.getLogger(__name__)

#: Progress steps per image: images are read lazily, so their tile counts are
#: unknown up front; each image fills an equal share of the bar.
STEPS_PER_IMAGE = 100

#: ``tick(tiles_done, tiles_total, message)``: progress within one image's share.
Tick = Callable[[int, int, str], None]


class _ReadFailed(Exception):
    """Carries any error raised while reading an image to the collecting loop."""

    def __init__(self, error: BaseException):
        super().__init__(str(error))
        self.error = error


def item_name(item) -> str:
    """How a failure names an input: a file's path, an ImageInput's name (its ``path``)."""
    return os.fspath(getattr(item, "path", item))


def nothing_done(failures: list[ImageFailure], verb: str = "predicted") -> BadInputError:
    """The error when no image at all worked ("No image could be <verb>: ...")."""
    more = f" (and {len(failures) - 5} more)" if len(failures) > 5 else ""
    error = BadInputError(f"No image could be {verb}: "
                          + "; ".join(f.error for f in failures[:5]) + more)
    error.failures = list(failures)  # batch runners keep each image's own failure
    return error


def collect_each(
    batch: PredictionBatch,
    items: list,
    load: Callable,
    work: Callable,
    *,
    collect: bool,
    verb: str,
    summary: str,
    stopped: str,
    progress: ProgressFn | None,
    cancel: CancelToken | None,
    on_result: Callable | None = None,
    prefetch: int = 0,
    log_skipped: bool = True,
) -> PredictionBatch:
    """Run ``work`` on every input; the batch of results, in input order.

    Parameters
    ----------
    batch : PredictionBatch
        Filled in place (it may already hold the inputs' own failures).
    items : list of (int, object)
        ``(input position, path or ImageInput)`` pairs (``images._as_inputs``).
    load : callable
        ``load(item) -> ImageInput``: read a path, settle its pixel size.
    work : callable
        ``work(image_input, tick) -> result``; ``tick(done, tiles, message)``
        reports progress within the image's share.
    collect : bool
        Record a failed image and go on (``on_error="collect"``), or raise.
    verb, summary, stopped : str
        For the messages: "No image could be <verb>", the last progress
        message "<n> <summary>", and the Cancelled message.
    on_result : callable, optional
        ``on_result(result, image_input)`` as each image is done (not collected
        when it raises).
    prefetch : int
        Images read ahead on a background thread (``0``: read on this thread).
    log_skipped : bool
        Log each failed image at INFO ("skipped ..."; ``msc-morph predict -v``).
    """
    total = STEPS_PER_IMAGE * len(items)
    loads = prefetched([item for _, item in items], load, cancel=cancel,
                       depth=prefetch if len(items) > 1 else 0)
    try:
        for k, (index, item) in enumerate(items):
            check_cancelled(cancel, stopped)
            name = item_name(item)

            def tick(done: int, tiles: int, message: str, start: int = k * STEPS_PER_IMAGE):
                report(progress, start + (STEPS_PER_IMAGE * done) // tiles, total, message)

            try:
                try:
                    item = next(loads).result()
                except Cancelled:
                    raise
                except Exception as err:  # decoders of corrupt files raise every kind
                    if not collect:
                        raise
                    raise _ReadFailed(err) from err
                result = work(item, tick)
            except Cancelled:
                raise
            except (_ReadFailed, *_IMAGE_ERRORS) as err:
                if not collect:
                    raise
                cause = err.error if isinstance(err, _ReadFailed) else err
                failure = ImageFailure(name, error_text(cause, name), index)
                batch.failures.append(failure)
                if log_skipped:
                    logger.info("skipped %s", failure.error)
                continue
            if on_result is not None:
                on_result(result, item)
            batch.append(result)
            batch.indices.append(index)
    except (Cancelled, KeyboardInterrupt) as stop:
        if collect:
            batch.partial = True
            batch.failures.sort(key=lambda f: f.index)
            stop.partial = batch
        raise
    finally:
        loads.close()  # drops reads not yet started
    batch.failures.sort(key=lambda f: f.index)
    if not batch:
        raise nothing_done(batch.failures, verb)
    report(progress, total, total, f"{len(batch)} {summary}"
           + (f", {len(batch.failures)} failed" if batch.failures else ""))
    return batch


def run_steps(steps, tick: Tick, label: str):
    """Drive a ``*_steps`` generator to its return value, ticking ``"<label><done>/<n> tiles"``."""
    while True:
        try:
            done, tiles = next(steps)
        except StopIteration as stop:
            return stop.value
        tick(done, tiles, f"{label}{done}/{tiles} tiles")


def label_result(result, item) -> None:
    """Give a result its image's name and pixel-size source; say when the size was assumed."""
    result.name = item.name
    result.pixel_size_source = item.pixel_size_source
    if item.pixel_size_source == "assumed_from_model":
        result.notices.insert(0, f"{item.message_name} has no pixel size; the model's "
                                 f"{item.pixel_size_um:g} µm/px was assumed.")
