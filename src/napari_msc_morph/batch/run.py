"""The one per-item loop of all batch work (fields and images): here, or on a Dask cluster.

:func:`run_fields` keeps each failing item apart (:class:`FieldFailure`), returns the
results in input order (:class:`FieldResults`) and keeps the finished items on a stop.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import USER_ERRORS, BadInputError, Cancelled, MscMorphError, missing_dependency
from ..jobs import CancelToken, ProgressFn, check_cancelled, report
from ..registry import Registry
from .prefetch import prefetched

__all__ = [
    "CONNECT_TIMEOUT_S",
    "ON_ERROR",
    "FieldFailure",
    "FieldResults",
    "batch_client",
    "check_cluster_options",
    "drain",
    "error_text",
    "failures_table",
    "nothing_done",
    "require_distributed",
    "run_fields",
]

logger = logging.getLogger(__name__)

#: Seconds to wait for an existing scheduler to answer before giving up.
CONNECT_TIMEOUT_S = 10.0

#: What a batch does when one item fails; each entry holds whether failures are collected.
ON_ERROR: Registry[bool] = Registry("on_error")
ON_ERROR.add("raise", False, "the first failing item raises its error; nothing is returned")
ON_ERROR.add("collect", True, "a failing item is recorded in `failures`; the others still run")


@dataclass
class FieldFailure:
    """One item whose task failed: its name, a one-line error naming it, the position of
    its input (a folder's images share one) and its kind (the errors table's first column)."""

    field: str
    error: str
    index: int
    kind: str = "field"


class FieldResults(list):
    """The values of the items that worked, in input order, with ``failures``, each value's
    input position (``indices``) and ``partial`` (the run stopped early)."""

    def __init__(self, values=(), failures=(), indices=(), partial: bool = False):
        super().__init__(values)
        self.failures: list[FieldFailure] = list(failures)
        self.indices: list[int] = list(indices)
        self.partial = partial

    def succeeded(self) -> list[tuple[int, object]]:
        """``(input position, value)`` of every item that worked."""
        return [(k, v) for k, v in zip(self.indices, self) if v is not None]


def failures_table(failures: Sequence[FieldFailure]):
    """The errors table of a batch: ``field`` (or ``image``: the items' kind), ``error``."""
    import pandas as pd

    kind = failures[0].kind if failures else "field"
    return pd.DataFrame({kind: [f.field for f in failures], "error": [f.error for f in failures]},
                        dtype=object)


def error_text(err: BaseException, name: str) -> str:
    """One line for a failed item; names it when the message does not, and a bug's type."""
    text = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
    text = " ".join(str(text).split()) or type(err).__name__
    if not isinstance(err, (MscMorphError, OSError, ValueError)):
        text = f"{type(err).__name__}: {text}"
    if name not in text and Path(name).name not in text:
        text = f"{name}: {text}"
    return text


def nothing_done(failures: Sequence[FieldFailure], what: str = "field",
                 verb: str = "processed") -> BadInputError:
    """The error when no item at all worked: "No <what> could be <verb>: <first errors>"."""
    more = f" (and {len(failures) - 5} more)" if len(failures) > 5 else ""
    error = BadInputError(f"No {what} could be {verb}: "
                          + "; ".join(f.error for f in failures[:5]) + more)
    error.failures = list(failures)  # a cluster task keeps its image's own failure
    return error


def check_cluster_options(workers: int | None = None, scheduler: str | None = None,
                          timeout: float | None = None) -> None:
    """Refuse ``--workers 0``, both options at once, an empty address, a bad timeout, and
    a cluster without ``dask.distributed`` (said before any work)."""
    if workers is not None and scheduler is not None:
        raise BadInputError(
            f"--workers {workers} starts a local cluster and --scheduler {scheduler} uses an "
            "existing one; give only one of them."
        )
    if workers is not None and (isinstance(workers, bool) or int(workers) != workers
                                or workers < 1):
        raise BadInputError(f"--workers {workers}: give the number of worker processes, 1 or "
                            "more (e.g. the number of CPU cores); leave it out to run serially.")
    if scheduler is not None and not str(scheduler).strip():
        raise BadInputError("--scheduler is empty; give the scheduler's address, e.g. "
                            "tcp://10.0.0.5:8786.")
    if timeout is not None and not timeout > 0:
        raise BadInputError(f"--scheduler-timeout {timeout}: give a positive number of seconds.")
    if workers is not None or scheduler is not None:
        require_distributed()


def require_distributed():
    """``dask.distributed``, or the error naming the ``[distributed]`` extra."""
    return missing_dependency("dask.distributed", "distributed",
                              "--workers / --scheduler (batch work on a Dask cluster)")


@contextlib.contextmanager
def batch_client(workers: int | None = None, scheduler: str | None = None, *,
                 processes: bool = True, timeout: float = CONNECT_TIMEOUT_S):
    """Yield a ``distributed.Client``, or ``None`` for serial work in this process.

    Parameters
    ----------
    workers : int, optional
        Start a local cluster of this many workers (closed on exit).
    scheduler : str, optional
        Connect to a running scheduler (``tcp://host:8786``, a dask-jobqueue cluster's).
    processes : bool
        Local workers as processes (no shared GIL) or threads; each runs one task at a
        time, so a worker's numerical libraries are not oversubscribed.
    timeout : float
        Seconds to wait for ``scheduler`` to answer.

    Raises
    ------
    MissingDependencyError
        ``dask.distributed`` is not installed (the ``[distributed]`` extra).
    BadInputError
        Bad options, or no scheduler answered at ``scheduler`` in time.
    """
    check_cluster_options(workers, scheduler, timeout)
    if workers is None and scheduler is None:
        yield None
        return
    distributed = require_distributed()
    cluster = None
    if scheduler is not None:
        client = _connect(distributed, str(scheduler).strip(), timeout)
    else:
        cluster = local_cluster(distributed, int(workers), processes)
        client = distributed.Client(cluster)
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()


def local_cluster(distributed, workers: int, processes: bool):
    """A ``LocalCluster`` whose workers run numpy work at the serial speed.

    Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` in every worker process; a
    fixed trim threshold also fixes glibc's mmap threshold, so each large temporary
    array is mapped and page-faulted afresh: segmenting a field cost 35 % more CPU on
    a worker than in-process (measured, ``benchmarks/bench_batch.py``). The workers
    here keep glibc's adaptive default (a value set in the environment still wins).
    """
    import dask

    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        return distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=processes,
            dashboard_address=":0", silence_logs=logging.CRITICAL)


def _connect(distributed, address: str, timeout: float):
    try:
        return distributed.Client(address, timeout=f"{timeout}s")
    except Exception as err:  # OSError, TimeoutError, ValueError for a malformed address
        reason = " ".join(str(err).split())[:200] or type(err).__name__
        raise BadInputError(
            f"--scheduler {address}: no Dask scheduler answered within {timeout:g} s ({reason}); "
            "check the address (e.g. tcp://10.0.0.5:8786, printed by `dask scheduler` or "
            "cluster.scheduler_address), that the scheduler runs and that this machine can "
            "reach it, or use --workers N for a local cluster."
        ) from None


def run_fields(task: Callable, items: Sequence, names: Sequence[str], *, client=None,
               progress: ProgressFn | None = None, cancel: CancelToken | None = None,
               what: str = "field", indices: Sequence[int] | None = None,
               load: Callable | None = None, prefetch: int = 0, on_error: str = "collect",
               on_result: Callable | None = None, steps: int = 1, verb: str | None = None,
               failures: Sequence[FieldFailure] = ()) -> FieldResults:
    """Run ``task(item)`` for every item: one task per field or image, failures kept apart.

    Parameters
    ----------
    task : callable
        Takes one item (after ``load``): on a cluster a module-level function; here it
        may also be a generator yielding ``(done, total, message)`` and returning the value.
    items, names : sequence
        One (picklable, for a cluster) argument per item, and the items' names.
    client : distributed.Client, optional
        Where to run; ``None``: here, one after the other.
    progress, cancel
        The package's protocol, ``steps`` per item; a stop raises
        :class:`~napari_msc_morph.errors.Cancelled` carrying ``partial``.
    what : str
        What an item is (``field``, ``image``): messages and the failures' kind.
    indices : sequence of int, optional
        Per item, the position of its input (default: its own).
    load : callable, optional
        ``load(item)`` before ``task`` (here only), ``prefetch`` items ahead (:mod:`.prefetch`).
    on_error : {"raise", "collect"}
        Stop at the first failing item, or record it and go on (:data:`ON_ERROR`).
    on_result : callable, optional
        ``on_result(value, loaded item)`` as each item is done (here only).
    steps : int
        Progress steps per item.
    verb : str, optional
        With a verb, a batch where nothing worked raises :func:`nothing_done`.
    failures : sequence of FieldFailure
        Inputs that failed before the run (a missing path).

    Returns
    -------
    FieldResults
    """
    collect = ON_ERROR.get(on_error)
    indices = list(range(len(items))) if indices is None else list(indices)
    slots: list = [_MISSING] * len(items)
    failures = list(failures)

    def fail(k: int, err: BaseException) -> None:
        if not (collect and is_item_failure(err)):
            raise err
        failures.append(FieldFailure(names[k], error_text(err, names[k]), indices[k], what))
        logger.info("skipped %s", failures[-1].error)

    def results(partial: bool = False) -> FieldResults:
        done = [k for k, value in enumerate(slots) if value is not _MISSING]
        return FieldResults([slots[k] for k in done], sorted(failures, key=lambda f: f.index),
                            [indices[k] for k in done], partial)

    try:
        if client is None:
            _run_here(task, items, names, slots, fail, load, prefetch, on_result, steps,
                      progress, cancel, what)
        else:
            _run_on_cluster(client, task, items, names, slots, fail, progress, cancel, what)
    except (Cancelled, KeyboardInterrupt) as stop:
        if collect:
            stop.partial = results(partial=True)
        raise
    finished = results()
    if verb is not None and not finished:
        raise nothing_done(finished.failures, what, verb)
    total = steps * len(items)  # the bar ends full, whatever failed
    report(progress, total, total, f"{len(finished)} {what}(s) {verb or 'done'}"
           + (f", {len(failures)} failed" if failures else ""))
    return finished


def is_item_failure(err: BaseException) -> bool:
    """Whether a collecting batch records ``err`` and goes on: a user error, a dead worker
    or memory that ran out belong to the item; anything else is a bug and ends the batch."""
    return (isinstance(err, (*USER_ERRORS, MemoryError))
            or type(err).__name__ == "KilledWorker")  # dask.distributed: the worker died


#: A slot whose item has no value (yet, or because it failed).
_MISSING = object()


def _run_here(task, items, names, slots, fail, load, prefetch, on_result, steps, progress,
              cancel, what) -> None:
    total, stopped = steps * len(items), f"{what.capitalize()} batch was cancelled."
    loads = prefetched(items, load or (lambda item: item), cancel=cancel,
                       depth=prefetch if load is not None and len(items) > 1 else 0)
    try:
        for k in range(len(items)):
            check_cancelled(cancel, stopped)
            try:
                item = next(loads).result()
                value = task(item)
                if inspect.isgenerator(value):  # the bar moves within the item's share
                    value = drain(value, lambda done, count, message, start=k * steps: report(
                        progress, start + (steps * done) // max(count, 1), total, message))
            except Cancelled:
                raise
            except Exception as err:  # one item's failure never ends a collecting batch
                fail(k, err)
                continue  # the next item's progress (or the last message) moves past it
            if on_result is not None:
                on_result(value, item)
            slots[k] = value
            report(progress, (k + 1) * steps, total, f"{names[k]} ({what} {k + 1}/{len(items)})")
    finally:
        loads.close()  # drops reads not yet started


def drain(steps, each: Callable | None = None):
    """Run a generator to its return value, calling ``each(*step)`` on every step it yields."""
    while True:
        try:
            step = next(steps)
        except StopIteration as stop:
            return stop.value
        if each is not None:
            each(*step)


def _run_on_cluster(client, task, items, names, slots, fail, progress, cancel, what) -> None:
    distributed = require_distributed()
    total = len(items)
    futures = [client.submit(task, item, pure=False, key=f"msc-morph-{what}-{k}-{uuid.uuid4().hex[:8]}")
               for k, item in enumerate(items)]
    position = {future.key: k for k, future in enumerate(futures)}
    done = 0
    try:
        for future in distributed.as_completed(futures):
            k = position[future.key]
            try:
                slots[k] = future.result()
            except Exception as err:  # a task's error, or its worker died (KilledWorker)
                fail(k, err)
            done += 1
            report(progress, done, total, f"{names[k]} ({done}/{total} {what}s done)")
            check_cancelled(cancel, "Batch was cancelled.")
    except BaseException:
        client.cancel([f for f in futures if not f.done()])
        raise
