"""``msc-morph measure`` over many fields: one task per field, one table in input order."""

from __future__ import annotations

import logging
import sys

import pandas as pd

from ..errors import BadInputError


def run_batch(args, cli_thresholds) -> int:
    """The batch face of ``measure``; ``cli_thresholds(args, markers)`` is measure's own."""
    from ..batch import fields_from_specs, measure_fields, read_fields_manifest
    from ..io import resolve_pixel_size, write_table
    from ._batch import check_cluster_args, nothing_done, open_cluster, report_field_failures, where
    from ._outputs import check_outputs
    from ._progress import progress_bar

    check_cluster_args(args)
    if args.border_excluded is not None:
        raise BadInputError("--border-excluded is for one field; in a batch give each field's "
                            "count in the manifest's n_border_excluded column (the fields.csv "
                            "`msc-morph segment` writes has it).")
    if args.manifest is not None:
        if args.labels or args.nuclei is not None or args.channel:
            raise BadInputError("give the fields' files either in --manifest or as LABELS "
                                "--nuclei --channel, not both.")
        fields = read_fields_manifest(args.manifest, required=("labels",),
                                      optional=("nuclei_labels",), channels=True)
        inputs = [("--manifest", args.manifest)]
    else:
        channels = {}
        for name, spec in args.channel:
            if name in channels:
                raise BadInputError(f"channel name {name!r} is given twice; use distinct names.")
            channels[name] = (f"--channel {name}", spec)
        fields = fields_from_specs({"labels": ("LABELS", [str(p) for p in args.labels]),
                                    "nuclei_labels": ("--nuclei", args.nuclei)},
                                   channels=channels)
        inputs = []
    inputs += [(f"{role} image of field {f.name}", spec)
               for f in fields for role, spec in [*f.files.items(), *f.channels.items()]]
    inputs += [("--thresholds-from table", path) for path in args.thresholds_from]
    check_outputs([("--out", args.out, "table"), ("--summary", args.summary, "table"),
                   ("--write-thresholds", args.write_thresholds, "table")],
                  inputs, overwrite=args.overwrite)
    if args.pixel_size is not None:
        resolve_pixel_size(args.pixel_size, [])  # checks the value once
    markers = list(dict.fromkeys(name for f in fields for name in f.channels))
    thresholds, sources = cli_thresholds(args, markers)
    unknown = sorted(set(thresholds) - set(markers))
    if unknown:
        raise BadInputError(f"--threshold for {unknown} but no field has a channel of that name "
                            f"(channels: {markers or 'none'}).")
    quiet = logging.getLogger("napari_msc_morph.morphology.summary")  # said once, below
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with open_cluster(args) as client, progress_bar("measure", unit="field") as progress:
            batch = measure_fields(fields, pixel_size_um=args.pixel_size, thresholds=thresholds,
                                   threshold_sources=sources, z_project=args.z_project,
                                   client=client, progress=progress)
    finally:
        quiet.setLevel(level)
    failures = batch.results.failures
    if len(failures) == len(fields):
        raise nothing_done("measure", failures)
    _say_pixel_sizes(batch.pixel_origins)
    write_table(batch.table, args.out)
    n_fields = len(batch.pixel_origins)
    print(f"{len(batch.table)} objects in {n_fields} of {len(fields)} field(s), "
          f"{batch.table.shape[1]} columns ({where(args)}) -> {args.out}")
    if args.summary is not None:
        write_table(batch.summary, args.summary)
        print(f"summary ({len(batch.summary)} row(s)) -> {args.summary}")
    missing = [name for name in markers if name not in thresholds]
    if missing and args.summary is not None:
        print(f"warning: no positive-cell threshold for {', '.join(missing)}: fraction_positive "
              "is empty; give --threshold NAME=VALUE or --thresholds-from", file=sys.stderr)
    if args.write_thresholds is not None:
        _write_thresholds(args, batch, fields, markers)
    return report_field_failures("measure", failures, args.out)


def _say_pixel_sizes(origins: dict) -> None:
    without = [name for name, origin in origins.items() if origin.startswith("no pixel size")]
    given = sum(origin == "given" for origin in origins.values())
    from_files = len(origins) - given - len(without)
    print(f"pixel size: {given} field(s) given, {from_files} from the files' metadata",
          file=sys.stderr)
    if without:
        shown = ", ".join(without[:5]) + (f" and {len(without) - 5} more" if len(without) > 5
                                           else "")
        print(f"warning: no pixel size for {shown}: their rows have pixel units only (empty µm "
              "columns); give --pixel-size or the manifest's pixel_size_um", file=sys.stderr)


def _write_thresholds(args, batch, fields, markers) -> None:
    from ..io import write_table
    from ..morphology import pooled_thresholds

    tables = [result.table for _, (result, _) in batch.results.succeeded()]
    names = [fields[k].name for k, _ in batch.results.succeeded()]
    learnt = pooled_thresholds(tables, markers, method=args.learn, names=names) if markers else {}
    write_table(pd.DataFrame({"marker": list(learnt), "threshold": list(learnt.values()),
                              "source": f"{args.learn}:{len(tables)} field(s)"}),
                args.write_thresholds)
    print(f"thresholds ({args.learn}) {learnt} -> {args.write_thresholds}")
