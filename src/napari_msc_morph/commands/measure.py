"""``msc-morph measure``: per-cell size, shape and intensity table from label images."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ..channels import Z_PROJECTIONS
from ..errors import BadInputError
from ._batch import add_batch_arguments
from ._outputs import add_overwrite_argument, check_outputs


def _name_value(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "measure",
        help="measure cell size, shape and marker intensities into a table",
        description=(
            "One row per labelled object: area, perimeter, axes, Feret diameters, "
            "eccentricity, solidity, circularity, ... in pixels and (with a pixel size) "
            "µm; per channel mean/median/min/max/std/integrated intensity; with --nuclei "
            "the nucleus linkage and nuclear/cytoplasmic means. The pixel size comes from "
            "--pixel-size or the label/channel file's metadata. Many fields (several label "
            "images, a folder or quoted pattern, --manifest, --workers, --scheduler) run one "
            "task per field into one table with a `field` (and `sample_id`) column."
        ),
    )
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
    parser.add_argument("--learn", choices=("control", "otsu"), default="control",
                        help="with --write-thresholds: control = 99th percentile of these (negative "
                             "control) cells (default); otsu = Otsu over these cells")
    parser.add_argument("--border-excluded", type=int, metavar="N",
                        help="objects the segmentation dropped at the border (printed by "
                             "`msc-morph segment`), for the summary's n_border_excluded")
    add_batch_arguments(parser, "labels, nuclei_labels, n_border_excluded, channel_<NAME>")
    add_overwrite_argument(parser, "existing tables")
    return parser


def run(args) -> int:
    from ..channels import read_channel
    from ..io import read_image, resolve_pixel_size, write_table
    from ..morphology import measure_field
    from ._progress import progress_bar

    if _is_batch(args):
        from ._measure_batch import run_batch

        return run_batch(args, cli_thresholds)  # passed in: no import cycle
    if not args.labels:
        raise BadInputError("give the label image (LABELS.tif), or the fields with "
                            "--manifest FIELDS.csv.")
    args.labels = args.labels[0]
    check_outputs([("--out", args.out, "table"), ("--summary", args.summary, "table"),
                   ("--write-thresholds", args.write_thresholds, "table")],
                  [("label image", args.labels), ("--nuclei label image", args.nuclei),
                   *((f"--channel {name} image", spec) for name, spec in args.channel),
                   *(("--thresholds-from table", path) for path in args.thresholds_from)],
                  overwrite=args.overwrite)
    labels = read_image(args.labels)
    sources = [labels]
    names = {"labels": str(args.labels)}
    nuclei = None
    if args.nuclei is not None:
        nuclei_image = read_image(args.nuclei)
        nuclei = nuclei_image.data
        sources.append(nuclei_image)
        names["nuclei"] = str(args.nuclei)
    channels = {}
    for name, path in args.channel:
        if name in channels:
            raise BadInputError(f"channel name {name!r} is given twice; use distinct names.")
        image = read_channel(path, z_project=args.z_project)
        channels[name] = image.data
        sources.append(image)
    pixel_size, origin = resolve_pixel_size(args.pixel_size, sources)
    if pixel_size is None:
        print(f"warning: {origin}: the table has pixel units only (no µm columns); "
              "give --pixel-size to get them", file=sys.stderr)
    elif origin != "given":
        print(f"pixel size {pixel_size:g} µm from {origin}", file=sys.stderr)
    thresholds, sources = cli_thresholds(args, list(channels))
    if args.border_excluded is not None and args.border_excluded < 0:
        raise BadInputError(f"--border-excluded {args.border_excluded}: give a count of 0 or more.")
    # the engine's missing-threshold warning is said once, after the run, in CLI terms
    quiet = logging.getLogger("napari_msc_morph.morphology.summary")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with progress_bar("measure") as progress:
            result = measure_field(labels.data, channels, nuclei, pixel_size,
                                   thresholds=thresholds, threshold_sources=sources,
                                   n_border_excluded=args.border_excluded,
                                   input_names=names, progress=progress,
                                   pixel_size_source="user" if origin == "given" else "file")
    finally:
        quiet.setLevel(level)
    write_table(result.table, args.out)
    print(f"{len(result.table)} objects, {result.table.shape[1]} columns -> {args.out}")
    if args.summary is not None:
        write_table(result.summary, args.summary)
        print(f"summary ({len(result.summary)} row(s)) -> {args.summary}")
    missing = [name for name in channels if name not in thresholds]
    if missing and (args.summary is not None):
        print(f"warning: no positive-cell threshold for {', '.join(missing)}: fraction_positive is "
              "empty; give --threshold NAME=VALUE or --thresholds-from (a --write-thresholds file "
              "from control images, or the cell tables of the whole run)", file=sys.stderr)
    if args.write_thresholds is not None:
        from ..morphology import pooled_thresholds

        learnt = pooled_thresholds([result.table], list(channels), method=args.learn,
                                   names=[str(args.labels)]) if channels else {}
        import pandas as pd

        write_table(pd.DataFrame({"marker": list(learnt), "threshold": list(learnt.values()),
                                  "source": f"{args.learn}:{args.labels}"}), args.write_thresholds)
        print(f"thresholds ({args.learn}) {learnt} -> {args.write_thresholds}")
    return 0


def _is_batch(args) -> bool:
    from ..batch import is_many
    from ._batch import cluster_requested

    return (args.manifest is not None or len(args.labels) > 1
            or any(is_many(p) for p in args.labels) or cluster_requested(args))


def cli_thresholds(args, markers) -> tuple[dict, dict]:
    """Thresholds and their sources from --thresholds-from, then --threshold (which wins)."""
    thresholds, sources = read_thresholds(args.thresholds_from, markers)
    for name, value in args.threshold:
        try:
            thresholds[name] = float(value)
        except ValueError:
            raise BadInputError(
                f"--threshold {name}={value}: the value must be a number."
            ) from None
        sources[name] = "given"
    return thresholds, sources


def read_thresholds(paths, markers) -> tuple[dict, dict]:
    """Thresholds from ``--thresholds-from`` files: thresholds CSVs or per-cell tables."""
    from ..io import read_table
    from ..morphology import pooled_thresholds

    if not paths or not markers:
        return {}, {}
    thresholds, sources, cell_tables, names = {}, {}, [], []
    for path in paths:
        table = read_table(path)
        if {"marker", "threshold"} <= set(table.columns):
            for marker, value in zip(table["marker"], table["threshold"], strict=True):
                thresholds[str(marker)] = float(value)
                sources[str(marker)] = f"file:{path.name}"
        else:
            cell_tables.append(table)
            names.append(f"--thresholds-from {path}")
    if cell_tables:
        wanted = [m for m in markers if m not in thresholds]
        if wanted:
            pooled = pooled_thresholds(cell_tables, wanted, method="otsu", names=names)
            thresholds.update(pooled)
            sources.update({m: f"pooled-otsu:{len(cell_tables)} table(s)" for m in pooled})
    keep = [m for m in thresholds if m in markers]  # a file may hold more markers than this run
    return {m: thresholds[m] for m in keep}, {m: sources[m] for m in keep}
