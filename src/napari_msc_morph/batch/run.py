"""Run one task per field: in this process, or on a Dask cluster.

:func:`batch_client` gives the place to run: nothing (``None``: serial, in this
process), a local cluster of worker processes (``workers=N``), or an existing
scheduler (``scheduler="tcp://host:8786"``: a lab server, or a cluster started
with dask-jobqueue on SLURM/PBS). :func:`run_fields` submits one task per field,
moves the progress bar as tasks finish, keeps a failing field's error beside the
others' results, and returns the results in input order, whatever order the
workers finished in.

``dask.distributed`` is optional (the ``[distributed]`` extra); it is imported
only when a cluster is asked for.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..errors import BadInputError, Cancelled, MissingDependencyError
from ..jobs import CancelToken, ProgressFn, check_cancelled, report

__all__ = [
    "CONNECT_TIMEOUT_S",
    "FieldFailure",
    "FieldResults",
    "batch_client",
    "check_cluster_options",
    "failures_table",
    "run_fields",
]

logger = logging.getLogger(__name__)

#: Seconds to wait for an existing scheduler to answer before giving up.
CONNECT_TIMEOUT_S = 10.0


@dataclass
class FieldFailure:
    """One field whose task failed; the others are unaffected."""

    field: str
    error: str
    index: int

    def row(self) -> dict:
        return {"field": self.field, "error": self.error}


@dataclass
class FieldResults:
    """Per field (input order) its task's value, ``None`` where it failed.

    ``failures`` lists the failed fields in input order; ``partial`` is True
    when the run stopped early (only the fields finished by then have values).
    """

    values: list
    failures: list[FieldFailure] = field(default_factory=list)
    partial: bool = False

    def succeeded(self) -> list[tuple[int, object]]:
        failed = {f.index for f in self.failures}
        return [(k, v) for k, v in enumerate(self.values) if k not in failed and v is not None]


def failures_table(failures: Sequence[FieldFailure]):
    """The errors table of a field batch: ``field``, ``error``."""
    import pandas as pd

    return pd.DataFrame([f.row() for f in failures], columns=["field", "error"])


def check_cluster_options(workers: int | None = None, scheduler: str | None = None,
                          timeout: float | None = None) -> None:
    """Refuse ``--workers 0``, both options at once, an empty address, a bad timeout."""
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


def _distributed():
    try:
        import dask.distributed as distributed  # the [distributed] extra: dask[distributed]
    except ImportError:
        raise MissingDependencyError(
            "dask.distributed", "distributed",
            "--workers / --scheduler (batch work on a Dask cluster)") from None
    return distributed


@contextlib.contextmanager
def batch_client(workers: int | None = None, scheduler: str | None = None, *,
                 processes: bool = True, threads_per_worker: int = 1,
                 timeout: float = CONNECT_TIMEOUT_S):
    """Yield a ``distributed.Client``, or ``None`` for serial work in this process.

    Parameters
    ----------
    workers : int, optional
        Start a local cluster of this many workers (closed on exit).
    scheduler : str, optional
        Connect to a running scheduler (``tcp://host:8786``, or the
        ``cluster.scheduler_address`` of a dask-jobqueue cluster).
    processes : bool
        Local workers as processes (the default: no shared GIL) or threads.
    threads_per_worker : int
        Tasks each local worker runs at once (1: one field per process, so a
        worker's numerical libraries are not oversubscribed).
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
    distributed = _distributed()
    cluster = None
    if scheduler is not None:
        client = _connect(distributed, str(scheduler).strip(), timeout)
    else:
        cluster = local_cluster(distributed, int(workers), processes, threads_per_worker)
        client = distributed.Client(cluster)
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()


def local_cluster(distributed, workers: int, processes: bool, threads_per_worker: int):
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
            n_workers=workers, threads_per_worker=threads_per_worker, processes=processes,
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
               what: str = "field") -> FieldResults:
    """Run ``task(item)`` for every item: one task per field, failures kept apart.

    Parameters
    ----------
    task : callable
        A module-level function (workers import it by name) taking one item.
    items : sequence
        One picklable argument per field.
    names : sequence of str
        The fields' names, for progress messages and failures.
    client : distributed.Client, optional
        Where to run; ``None``: here, one after the other.
    progress, cancel
        The package's protocol: ``progress(done, total, message)`` as fields
        finish; ``cancel`` checked between fields (raises
        :class:`~napari_msc_morph.errors.Cancelled` carrying ``partial``).

    Returns
    -------
    FieldResults
        Values in input order. A field whose task raised anything is a
        :class:`FieldFailure` with a one-line error naming it; the others finish.
    """
    total = len(items)
    results = FieldResults([None] * total)
    report(progress, 0, total, f"{total} {what}(s)")
    try:
        if client is None:
            _run_here(task, items, names, results, progress, cancel, what)
        else:
            _run_on_cluster(client, task, items, names, results, progress, cancel, what)
    except (Cancelled, KeyboardInterrupt) as stop:
        results.partial = True
        results.failures.sort(key=lambda f: f.index)
        stop.partial = results
        raise
    results.failures.sort(key=lambda f: f.index)
    return results


def _failure(results: FieldResults, k: int, name: str, err: BaseException) -> None:
    from ..inference.batch import error_text

    failure = FieldFailure(name, error_text(err, name), k)
    results.failures.append(failure)
    logger.info("failed: %s", failure.error)


def _run_here(task, items, names, results, progress, cancel, what) -> None:
    total = len(items)
    for k, item in enumerate(items):
        check_cancelled(cancel, "Batch was cancelled.")
        try:
            results.values[k] = task(item)
        except Cancelled:
            raise
        except Exception as err:  # one field's failure never ends the batch
            _failure(results, k, names[k], err)
        report(progress, k + 1, total, f"{names[k]} ({what} {k + 1}/{total})")


def _run_on_cluster(client, task, items, names, results, progress, cancel, what) -> None:
    distributed = _distributed()
    total = len(items)
    futures = [client.submit(task, item, pure=False, key=f"msc-morph-{what}-{k}-{_token()}")
               for k, item in enumerate(items)]
    position = {future.key: k for k, future in enumerate(futures)}
    done = 0
    try:
        for future in distributed.as_completed(futures):
            k = position[future.key]
            try:
                results.values[k] = future.result()
            except Exception as err:  # a task's error, or its worker died (KilledWorker)
                _failure(results, k, names[k], err)
            done += 1
            report(progress, done, total, f"{names[k]} ({done}/{total} {what}s done)")
            check_cancelled(cancel, "Batch was cancelled.")
    except BaseException:
        client.cancel([f for f in futures if not f.done()])
        raise


def _token() -> str:
    import uuid

    return uuid.uuid4().hex[:8]
