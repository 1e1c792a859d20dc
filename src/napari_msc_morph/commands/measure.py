"""``msc-morph measure``: per-cell size, shape and intensity table from label images."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..channels import Z_PROJECTIONS
from ..errors import BadInputError
from ..morphology.summary import SIZE_WEIGHTINGS, THRESHOLD_LEARNERS
from . import command_parser
from ._batch import add_batch_arguments
from ._outputs import add_overwrite_argument, check_outputs


def _name_value(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = command_parser(subparsers, "measure", (
        "One row per labelled object: area, perimeter, axes, Feret diameters, "
        "eccentricity, solidity, circularity, ... in pixels and (with a pixel size) "
        "µm; per channel mean/median/min/max/std/integrated intensity; with --nuclei "
        "the nucleus linkage and nuclear/cytoplasmic means. The pixel size comes from "
        "--pixel-size or the label/channel file's metadata. Many fields (several label "
        "images, a folder or quoted pattern, --manifest, --workers, --scheduler) run one "
        "task per field into one table with a `field` (and `sample_id`) column."
    ))
    parser.add_argument("labels", type=Path, nargs="*", metavar="LABELS.tif",
                        help="label image (0 = background); leading axes are frames; several "
                             "files, a folder or a quoted pattern give one field per file "
                             "(none with --manifest)")
    parser.add_argument("--nuclei", type=Path, metavar="PATH",
                        help="nuclei label image (with many fields: a folder or pattern, paired "
                             "with the label images in sorted order)")
    parser.add_argument("--channel", type=_name_value, action="append", default=[],
                        metavar="NAME=FILE[:CHANNEL]",
                        help="intensity channel (repeatable); from a multichannel file pick the "
                             "channel by index or name: RUNX2=stack.ome.tif:2, OCN=stack.tif:OCN "
                             "(with many fields: a folder or pattern, paired in sorted order)")
    parser.add_argument("--z-project", choices=Z_PROJECTIONS.names(), default="max",
                        help="how z-stacked channels become one plane (default max)")
    parser.add_argument("--pixel-size", type=float, metavar="UM",
                        help="pixel size in µm (default: from the files' metadata)")
    parser.add_argument("--out", type=Path, required=True, metavar="cells.csv",
                        help="per-cell table (CSV, or XLSX by suffix)")
    parser.add_argument("--summary", type=Path, metavar="image.csv",
                        help="also write the per-image summary (counts, density, medians, "
                             "fraction positive per marker)")
    parser.add_argument("--threshold", type=_name_value, action="append", default=[],
                        metavar="NAME=VALUE",
                        help="positive-cell threshold for a marker in the summary; wins over "
                             "--thresholds-from (without any threshold a marker's "
                             "fraction_positive is left empty, never a per-image Otsu)")
    parser.add_argument("--thresholds-from", type=Path, action="append", default=[],
                        metavar="TABLE.csv",
                        help="(repeatable) reuse one threshold per marker for the whole study: "
                             "a --write-thresholds file, or the per-cell tables of a previous run "
                             "(Otsu over all their cells pooled)")
    parser.add_argument("--write-thresholds", type=Path, metavar="thresholds.csv",
                        help="write one threshold per marker learnt from this image's cells "
                             "(--learn), for --thresholds-from on the study's images; run it on "
                             "negative-control images")
    parser.add_argument("--learn", choices=THRESHOLD_LEARNERS.names(), default="control",
                        help="with --write-thresholds, how the threshold is learnt from these "
                             "cells (default control): " + "; ".join(
                                 f"{n}: {THRESHOLD_LEARNERS.help(n)}" for n in THRESHOLD_LEARNERS))
    parser.add_argument("--size-weighting", choices=SIZE_WEIGHTINGS.names(),
                        default="miles-lantuejoul",
                        help="how the summary's size and shape statistics weigh the cells "
                             "(default miles-lantuejoul): " + "; ".join(
                                 f"{n}: {SIZE_WEIGHTINGS.help(n)}" for n in SIZE_WEIGHTINGS))
    parser.add_argument("--border-excluded", type=int, metavar="N",
                        help="objects the segmentation dropped at the border (printed by "
                             "`msc-morph segment`), for the summary's n_border_excluded")
    add_batch_arguments(parser, "labels, nuclei_labels, n_border_excluded, channel_<NAME>")
    add_overwrite_argument(parser, "existing tables")
    return parser


def run(args) -> int:
    """One field or many: the same batch of per-field tasks (one field is a batch of one)."""
    from ..batch import Field, fields_from_specs, measure_fields, read_fields_manifest
    from ..batch.morphology import study_thresholds
    from ..io import resolve_pixel_size, write_table
    from ._batch import check_cluster_args, is_batch, open_cluster, report_field_failures, where
    from ._progress import progress_bar

    one = not (len(args.labels) > 1 or is_batch(args, args.labels))
    check_cluster_args(args)
    channels = {}
    for name, spec in args.channel:
        if name in channels:
            raise BadInputError(f"channel name {name!r} is given twice; use distinct names.")
        channels[name] = (f"--channel {name}", spec)
    if args.border_excluded is not None and not one:
        raise BadInputError("--border-excluded is for one field; in a batch give each field's "
                            "count in the manifest's n_border_excluded column (the fields.csv "
                            "`msc-morph segment` writes has it).")
    if args.border_excluded is not None and args.border_excluded < 0:
        raise BadInputError(f"--border-excluded {args.border_excluded}: give a count of 0 or more.")
    if args.manifest is not None:
        if args.labels or args.nuclei is not None or args.channel:
            raise BadInputError("give the fields' files either in --manifest or as LABELS "
                                "--nuclei --channel, not both.")
        fields = read_fields_manifest(args.manifest, required=("labels",),
                                      optional=("nuclei_labels",), channels=True)
        inputs = [("--manifest", args.manifest)]
    elif not args.labels:
        raise BadInputError("give the label image (LABELS.tif), or the fields with "
                            "--manifest FIELDS.csv.")
    elif one:
        files = {"labels": str(args.labels[0])}
        if args.nuclei is not None:
            files["nuclei_labels"] = str(args.nuclei)
        fields = [Field(args.labels[0].stem, files, {n: spec for n, (_, spec) in channels.items()},
                        n_border_excluded=args.border_excluded)]
        inputs = [("label image", args.labels[0]), ("--nuclei label image", args.nuclei),
                  *((f"{option} image", spec) for option, spec in channels.values())]
    else:
        fields = fields_from_specs({"labels": ("LABELS", [str(p) for p in args.labels]),
                                    "nuclei_labels": ("--nuclei", args.nuclei)},
                                   channels=channels)
        inputs = []
    if not one:
        inputs += [(f"{role} image of field {f.name}", spec)
                   for f in fields for role, spec in [*f.files.items(), *f.channels.items()]]
    inputs += [("--thresholds-from table", path) for path in args.thresholds_from]
    check_outputs([("--out", args.out, "table"), ("--summary", args.summary, "table"),
                   ("--write-thresholds", args.write_thresholds, "table")],
                  inputs, overwrite=args.overwrite)
    if args.pixel_size is not None:
        resolve_pixel_size(args.pixel_size, [])  # checks the value once
    markers = list(dict.fromkeys(name for f in fields for name in f.channels))
    thresholds, sources = study_thresholds(markers, _numbers(args.threshold),
                                           args.thresholds_from)
    with open_cluster(args) as client, \
            progress_bar("measure", unit="step" if one else "field") as progress:
        batch = measure_fields(fields, pixel_size_um=args.pixel_size, thresholds=thresholds,
                               threshold_sources=sources, z_project=args.z_project,
                               size_weighting=args.size_weighting, client=client,
                               progress=progress)
    failures = batch.results.failures
    _say_pixel_sizes(batch)
    table, summary = batch.table, batch.summary
    if one:  # one field's tables as measured, without the batch's field column
        table, summary = batch.results[0][0].table, batch.results[0][0].summary
    write_table(table, args.out)
    if one:
        print(f"{len(table)} objects, {table.shape[1]} columns -> {args.out}")
    else:
        print(f"{len(table)} objects in {len(batch.pixel_origins)} of {len(fields)} field(s), "
              f"{table.shape[1]} columns ({where(args)}) -> {args.out}")
    if args.summary is not None:
        write_table(summary, args.summary)
        print(f"summary ({len(summary)} row(s)) -> {args.summary}")
        for warning in batch.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    if args.write_thresholds is not None:
        learnt = batch.learn_thresholds(args.learn, [str(f.files["labels"]) if one else f.name
                                                     for f in fields])
        source = (f"{args.learn}:{args.labels[0]}" if one
                  else f"{args.learn}:{len(batch.results.succeeded())} field(s)")
        import pandas as pd

        write_table(pd.DataFrame({"marker": list(learnt), "threshold": list(learnt.values()),
                                  "source": source}), args.write_thresholds)
        print(f"thresholds ({args.learn}) {learnt} -> {args.write_thresholds}")
    return report_field_failures("measure", failures, args.out)


def _numbers(pairs) -> dict:
    """``--threshold NAME=VALUE`` pairs as numbers (the last of a name wins)."""
    numbers = {}
    for name, value in pairs:
        try:
            numbers[name] = float(value)
        except ValueError:
            raise BadInputError(f"--threshold {name}={value}: the value must be a number.") from None
    return numbers


def _say_pixel_sizes(batch) -> None:
    origins = batch.pixel_origins
    without = [name for name, origin in origins.items() if origin.startswith("no pixel size")]
    if len(batch.results) + len(batch.results.failures) == 1:  # one field: its size, its origin
        result, origin = batch.results[0]
        if without:
            print(f"warning: {origin}: the table has pixel units only (no µm columns); "
                  "give --pixel-size to get them", file=sys.stderr)
        elif origin != "given":
            print(f"pixel size {result.pixel_size_um:g} µm from {origin}", file=sys.stderr)
        return
    given = sum(origin == "given" for origin in origins.values())
    from_files = len(origins) - given - len(without)
    print(f"pixel size: {given} field(s) given, {from_files} from the files' metadata",
          file=sys.stderr)
    if without:
        shown = ", ".join(without[:5]) + (f" and {len(without) - 5} more" if len(without) > 5
                                           else "")
        print(f"warning: no pixel size for {shown}: their rows have pixel units only (empty µm "
              "columns); give --pixel-size or the manifest's pixel_size_um", file=sys.stderr)
