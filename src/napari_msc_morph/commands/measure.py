"""``msc-morph measure``: per-cell size, shape and intensity table from label images."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path


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
                        metavar="NAME=PATH", help="intensity channel (repeatable)")
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
    return parser


def run(args) -> int:
    from ..io import read_image, write_table
    from ..morphology import measure_cells, summarize_cells
    from ..morphology.measure import check_labels

    labels = read_image(args.labels)
    label_data = check_labels(labels.data, str(args.labels))
    pixel_size = args.pixel_size
    sources = [labels]
    nuclei = None
    if args.nuclei is not None:
        nuclei_image = read_image(args.nuclei)
        nuclei = check_labels(nuclei_image.data, str(args.nuclei))
        sources.append(nuclei_image)
    channels = {}
    for name, path in args.channel:
        if name in channels:
            raise ValueError(f"channel name {name!r} is given twice; use distinct names.")
        image = read_image(path)
        channels[name] = image.data
        sources.append(image)
    if pixel_size is None:
        found = [s for s in sources if s.pixel_size_um is not None]
        if found:
            pixel_size = found[0].pixel_size_um
            print(f"pixel size {pixel_size:g} µm from {found[0].path}", file=sys.stderr)
        else:
            print(
                "warning: no pixel size in the files and no --pixel-size: the table has "
                "pixel units only (no µm columns)", file=sys.stderr,
            )
    thresholds = {}
    for name, value in args.threshold:
        try:
            thresholds[name] = float(value)
        except ValueError:
            raise ValueError(f"--threshold {name}={value}: the value must be a number.") from None
    unknown = set(thresholds) - set(channels)
    if unknown:
        raise ValueError(
            f"--threshold for {sorted(unknown)} but no --channel of that name "
            f"(channels: {sorted(channels) or 'none'})."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # said above in one line
        table = measure_cells(label_data, channels, nuclei=nuclei, pixel_size_um=pixel_size)
    write_table(table, args.out)
    print(f"{len(table)} objects, {table.shape[1]} columns -> {args.out}")
    if args.summary is not None:
        summary = summarize_cells(table, thresholds=thresholds)
        write_table(summary, args.summary)
        print(f"summary ({len(summary)} row(s)) -> {args.summary}")
    return 0
