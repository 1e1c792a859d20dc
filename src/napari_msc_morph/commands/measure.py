"""``msc-morph measure``: per-cell size, shape and intensity table from label images."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..channels import Z_PROJECTIONS
from ..errors import BadInputError
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
            "--pixel-size or the label/channel file's metadata."
        ),
    )
    parser.add_argument("labels", type=Path, metavar="LABELS.tif",
                        help="label image (0 = background); leading axes are frames")
    parser.add_argument("--nuclei", type=Path, metavar="PATH", help="nuclei label image")
    parser.add_argument("--channel", type=_name_value, action="append", default=[],
                        metavar="NAME=FILE[:CHANNEL]",
                        help="intensity channel (repeatable); from a multichannel file pick the "
                             "channel by index or name: RUNX2=stack.ome.tif:2, OCN=stack.tif:OCN")
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
                        help="positive-cell threshold for a marker in the summary "
                             "(default: Otsu over the cells)")
    add_overwrite_argument(parser, "existing tables")
    return parser


def run(args) -> int:
    from ..channels import read_channel
    from ..io import read_image, resolve_pixel_size, write_table
    from ..morphology import measure_field
    from ._progress import progress_bar

    check_outputs([("--out", args.out, "table"), ("--summary", args.summary, "table")],
                  [("label image", args.labels), ("--nuclei label image", args.nuclei),
                   *((f"--channel {name} image", spec) for name, spec in args.channel)],
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
    thresholds = {}
    for name, value in args.threshold:
        try:
            thresholds[name] = float(value)
        except ValueError:
            raise BadInputError(
                f"--threshold {name}={value}: the value must be a number."
            ) from None
    with progress_bar("measure") as progress:
        result = measure_field(labels.data, channels, nuclei, pixel_size,
                               thresholds=thresholds, input_names=names, progress=progress,
                               pixel_size_source="user" if origin == "given" else "file")
    write_table(result.table, args.out)
    print(f"{len(result.table)} objects, {result.table.shape[1]} columns -> {args.out}")
    if args.summary is not None:
        write_table(result.summary, args.summary)
        print(f"summary ({len(result.summary)} row(s)) -> {args.summary}")
    return 0
