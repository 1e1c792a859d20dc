"""The batch options of ``segment``, ``measure``, ``predict`` and ``study``, and the one report
of a batch's failures (an errors table beside the output, exit status 3)."""

from __future__ import annotations

import sys
from pathlib import Path

#: Exit status when some items failed and the others were written.
BATCH_FAILED_EXIT = 3


def add_batch_arguments(parser, manifest_roles: str | None) -> None:
    """Add ``--manifest`` (unless ``manifest_roles`` is ``None``), ``--workers``,
    ``--scheduler`` and ``--scheduler-timeout``."""
    from ..batch.run import CONNECT_TIMEOUT_S

    group = parser.add_argument_group(
        "batch work (many fields; see docs/scaling.md)")
    if manifest_roles is not None:
        group.add_argument("--manifest", type=Path, metavar="FIELDS.csv",
                           help="fields manifest, one row per field: field, sample_id, "
                                f"pixel_size_um, {manifest_roles} (files relative to the "
                                "manifest's folder)")
    cluster = group.add_mutually_exclusive_group()
    cluster.add_argument("--workers", type=int, metavar="N",
                         help="run one task per field on a local Dask cluster of N worker "
                              "processes (needs the [distributed] extra); default: serially "
                              "in this process")
    cluster.add_argument("--scheduler", metavar="ADDRESS",
                         help="run one task per field on an existing Dask scheduler "
                              "(tcp://host:8786: a lab server, or a dask-jobqueue SLURM/PBS "
                              "cluster's scheduler_address); inputs and outputs must be on a "
                              "file system the workers see")
    group.add_argument("--scheduler-timeout", type=float, default=CONNECT_TIMEOUT_S,
                       metavar="SECONDS",
                       help=f"how long to wait for --scheduler to answer (default "
                            f"{CONNECT_TIMEOUT_S:g})")


def cluster_requested(args) -> bool:
    return args.workers is not None or args.scheduler is not None


def is_batch(args, specs) -> bool:
    """Whether a command runs as a batch: a manifest, a folder or pattern, or a cluster."""
    from ..batch import is_many

    return args.manifest is not None or any(map(is_many, specs)) or cluster_requested(args)


def open_cluster(args):
    """``batch_client`` for the parsed options (``None`` inside: serial)."""
    from ..batch import batch_client

    return batch_client(args.workers, args.scheduler, timeout=args.scheduler_timeout)


def check_cluster_args(args) -> None:
    """Refuse bad cluster options, and a missing ``[distributed]`` extra, before any file
    is read."""
    from ..batch import check_cluster_options

    check_cluster_options(args.workers, args.scheduler, args.scheduler_timeout)


def where(args) -> str:
    if args.workers is not None:
        return f"{args.workers} local worker(s)"
    if args.scheduler is not None:
        return f"scheduler {args.scheduler}"
    return "serially"


def side_path(out: Path, kind: str) -> Path:
    """``cells.csv`` -> ``cells.<kind>.csv``; for a folder ``labels/`` -> ``labels/<kind>.csv``."""
    if out.suffix:
        return out.with_name(f"{out.stem}.{kind}{out.suffix}")
    return out / f"{kind}.csv"


def report_field_failures(command: str, failures, out: Path, verb: str = "written",
                          written: Path | None = None) -> int:
    """Write the errors table beside ``out`` (or name the one the engine ``written``) and
    list the failed items: 3 if any, else 0; an earlier run's ``.errors``/``.partial`` file
    is pointed out."""
    from ..batch import failures_table
    from ..io import write_table

    errors_path = written or side_path(out, "errors")
    stale = [side_path(out, "partial")] + ([] if failures else [errors_path])
    for path in stale:
        if path.exists():
            print(f"msc-morph {command}: note: {path} is from an earlier run; this run's "
                  f"results are in {out}.", file=sys.stderr)
    if not failures:
        return 0
    if written is None:
        write_table(failures_table(failures), errors_path, path_columns=("image",))
    print(f"msc-morph {command}: {len(failures)} {failures[0].kind}(s) failed (listed in "
          f"{errors_path}); the others were {verb}:", file=sys.stderr)
    for failure in failures:
        print(f"  {failure.error}", file=sys.stderr)
    return BATCH_FAILED_EXIT
