"""``msc-morph study``: a folder of fields -> tidy per-cell, per-field and per-sample tables."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..batch.segment_thresholds import THRESHOLD_SCOPES
from ..errors import BadInputError
from ..morphology.segment import SEGMENTATION_BACKENDS, THRESHOLD_METHODS
from ..morphology.summary import THRESHOLD_LEARNERS
from . import command_parser
from ._batch import add_batch_arguments
from .measure import _name_value
from .segment import add_device_argument, device_note


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = command_parser(
        subparsers, "study",
        (
            "Segment and measure every field of a study (a folder, a quoted glob or a sample "
            "sheet) and write one tidy table per cell, per field and per sample into --out: "
            "columns named by role and marker (RUNX2_mean), the file, the field and the "
            "sample keys (donor, day, condition, ...) on every row, one positive-cell "
            "threshold per marker for the whole study. Sample keys come from --sheet or from "
            "the file names through --pattern. A re-run processes only new or changed fields."
        ),
    )
    parser.add_argument("inputs", nargs="*", metavar="FOLDER|GLOB|FILE",
                        help="the study's images (multichannel TIFF/OME-TIFF, RGB exports, "
                             "CZI/ND2/LIF with the [formats] extra)")
    parser.add_argument("--out", type=Path, required=True, metavar="FOLDER",
                        help="study folder: cells.csv, fields.csv, samples.csv, labels/")
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument("--pattern", metavar="PATTERN",
                      help="sample keys from file names, e.g. "
                           "'{donor}_{condition}_day{day}_{field}.tif' ('*' matches any text)")
    keys.add_argument("--sheet", type=Path, metavar="SAMPLES.csv",
                      help="sample sheet (CSV/XLSX): a file column (relative to the sheet) "
                           "and one column per key")
    parser.add_argument("--dna", metavar="CHANNEL",
                        help="channel with the DNA stain (index or name); default: a channel "
                             "named DAPI/Hoechst/DNA, or the colour with signal in an RGB export")
    parser.add_argument("--cytoplasm", metavar="CHANNEL",
                        help="channel of a cytoplasm/actin stain: segment whole cells")
    parser.add_argument("--marker", type=_name_value, action="append", default=[],
                        metavar="NAME=CHANNEL",
                        help="a marker and its channel (RUNX2=2, OCN=OCN); repeat per marker; "
                             "columns are named by NAME")
    parser.add_argument("--pixel-size-um", type=float, metavar="UM",
                        help="one pixel size for every field (default: each file's metadata)")
    parser.add_argument("--diameter", type=float, nargs=2, default=None,
                        metavar=("MIN", "MAX"),
                        help="nucleus diameter range in pixels (default: 4-40 µm with a pixel "
                             "size, else estimated from each image)")
    parser.add_argument("--threshold-method", choices=THRESHOLD_METHODS.names(), default="otsu",
                        help="automatic nuclei threshold")
    parser.add_argument("--threshold-scope", choices=THRESHOLD_SCOPES, default="field",
                        help="one nuclear threshold per field, or one for all the new fields "
                             "together (so group size differences are not threshold artefacts)")
    parser.add_argument("--marker-threshold", choices=THRESHOLD_LEARNERS.names(), default="otsu",
                        help="how each marker's one study threshold is learnt from every cell: "
                             + "; ".join(f"{n}: {THRESHOLD_LEARNERS.help(n)}"
                                         for n in THRESHOLD_LEARNERS))
    parser.add_argument("--control", type=_name_value, metavar="KEY=VALUE",
                        help="the control fields (e.g. condition=control), for "
                             "--marker-threshold control")
    parser.add_argument("--keep-border", dest="exclude_border", action="store_false",
                        help="keep objects touching the image border")
    parser.add_argument("--backend", choices=SEGMENTATION_BACKENDS.names(), default="classic",
                        help="how nuclei and cells are found: "
                             + "; ".join(f"{n}: {SEGMENTATION_BACKENDS.help(n)}"
                                         for n in SEGMENTATION_BACKENDS))
    add_device_argument(parser)
    parser.add_argument("--group-by", metavar="KEY",
                        help="a sample key from --pattern or --sheet (e.g. condition): adds "
                             "threshold_robustness.csv, each group's median nuclear area under "
                             "the otsu, li, triangle and study thresholds as a ratio to the "
                             "first group (to the --control group when it names the same key), "
                             "so you see whether a size difference survives the threshold "
                             "choice")
    add_batch_arguments(parser, None)
    return parser


def run(args) -> int:
    from ..batch.segment_thresholds import ROBUSTNESS_TABLE
    from ..batch.study import CELLS_TABLE, ERRORS_TABLE, FIELDS_TABLE, SAMPLES_TABLE, run_study
    from ..batch.study_design import study_fields
    from ..io import resolve_pixel_size
    from ._batch import check_cluster_args, open_cluster, report_field_failures, where
    from ._progress import progress_bar

    check_cluster_args(args)
    device_note(args)
    if args.pixel_size_um is not None:
        resolve_pixel_size(args.pixel_size_um, [])  # checks the value once
    markers = {}
    for name, channel in args.marker:
        if name in markers:
            raise BadInputError(f"--marker {name} is given twice; give each marker once.")
        markers[name] = channel
    fields = study_fields(args.inputs, pattern=args.pattern, sheet=args.sheet, out_dir=args.out)
    print(f"{len(fields)} field(s); keys: "
          f"{', '.join(dict.fromkeys(k for f in fields for k in f.keys)) or 'none'}")
    with open_cluster(args) as client, progress_bar("study", unit="step") as progress:
        study = run_study(fields, args.out, dna=args.dna, cytoplasm=args.cytoplasm,
                          markers=markers, pixel_size_um=args.pixel_size_um,
                          diameter=args.diameter, threshold_method=args.threshold_method,
                          threshold_scope=args.threshold_scope,
                          marker_threshold=args.marker_threshold, control=args.control,
                          exclude_border=args.exclude_border, backend=args.backend,
                          device=args.device, group_by=args.group_by, client=client,
                          progress=progress)
    out = study.out_dir
    print(f"{study.n_new} new field(s) processed ({where(args)}), "
          f"{len(fields) - study.n_new - len(study.failures)} from the cache")
    print(f"{len(study.cells)} cells -> {out / CELLS_TABLE}")
    print(f"{len(study.fields)} fields -> {out / FIELDS_TABLE}")
    if not study.samples.empty:
        print(f"{len(study.samples)} samples -> {out / SAMPLES_TABLE}")
    if study.robustness is not None:
        print(f"size robustness by {args.group_by} -> {out / ROBUSTNESS_TABLE}:")
        print(study.robustness.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    for marker, value in study.thresholds.items():
        print(f"{marker}: positive above {value:.6g} ({study.threshold_sources[marker]})")
    for warning in study.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return report_field_failures("study", study.failures, out, "processed",
                                 written=out / ERRORS_TABLE)
