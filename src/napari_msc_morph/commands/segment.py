"""``msc-morph segment``: nuclei (and cells) from fluorescence images to label TIFFs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..batch.segment_thresholds import THRESHOLD_SCOPES
from ..channels import Z_PROJECTIONS
from ..errors import BadInputError
from ..models.backbones import DEVICES
from ..morphology.segment import SEGMENTATION_BACKENDS, THRESHOLD_METHODS
from . import command_parser
from ._batch import add_batch_arguments
from ._outputs import add_overwrite_argument, check_outputs


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = command_parser(
        subparsers, "segment",
        (
            "Segment nuclei in a DNA stain (DAPI/Hoechst) image: smoothing, automatic "
            "threshold, hole filling, declumping by distance-transform watershed, size "
            "filter. With --cells, grow whole cells from the nuclei over a cytoplasm "
            "channel; cell k contains nucleus k. Label TIFFs keep the input's pixel size. "
            "Many fields (--manifest, a folder or a quoted pattern, --workers, --scheduler) "
            "run one task per field and write <field>_nuclei.tif (and <field>_cells.tif) and "
            "fields.csv, the measure manifest of the same fields, into the --out folder."
        ),
    )
    parser.add_argument("--nuclei", metavar="FILE[:CHANNEL]",
                        help="nuclear stain image (DAPI/Hoechst); from a multichannel file or "
                             "an RGB export pick the channel by index or name "
                             "(stack.tif:0, stack.ome.tif:DAPI, export.tif:blue); a folder or "
                             "a quoted pattern ('plate1/*_d0.tif') gives one field per file "
                             "(required unless --manifest)")
    parser.add_argument("--cells", metavar="FILE[:CHANNEL]",
                        help="cytoplasm / cell body image (e.g. phalloidin); adds cell labels "
                             "(with a folder or pattern: paired with --nuclei's files in "
                             "sorted order)")
    parser.add_argument("--z-project", choices=Z_PROJECTIONS.names(), default="max",
                        help="how a z-stack becomes one plane: "
                             + "; ".join(f"{n}: {Z_PROJECTIONS.help(n)}" for n in Z_PROJECTIONS))
    parser.add_argument("--diameter", type=float, nargs=2, default=None,
                        metavar=("MIN", "MAX"),
                        help="nucleus diameter range in pixels (default: 4-40 µm when the "
                             "pixel size is known, otherwise estimated from each image; the "
                             "diameter used is printed)")
    parser.add_argument("--threshold-method", choices=THRESHOLD_METHODS.names(), default="otsu",
                        help="automatic nuclei threshold: "
                             + "; ".join(f"{n}: {THRESHOLD_METHODS.help(n)}"
                                         for n in THRESHOLD_METHODS))
    parser.add_argument("--threshold-scope", choices=THRESHOLD_SCOPES, default="field",
                        help="field: each field its own nuclear threshold; study: one "
                             "threshold fitted on all fields pooled, so size differences "
                             "between groups are not threshold artefacts")
    parser.add_argument("--group-by", metavar="COLUMN",
                        help="with --manifest: a column naming each field's group "
                             "(condition); adds threshold_robustness.csv, the group "
                             "median-size ratio under otsu, li, triangle and the study "
                             "threshold")
    border = parser.add_mutually_exclusive_group()
    border.add_argument("--exclude-border", dest="exclude_border", action="store_true", default=True,
                        help="drop nuclei (and cells) touching the image border, so cut-off "
                             "objects do not bias size statistics (the default); the number "
                             "dropped is printed")
    border.add_argument("--keep-border", dest="exclude_border", action="store_false",
                        help="keep objects touching the image border")
    parser.add_argument("--backend", choices=SEGMENTATION_BACKENDS.names(), default="classic",
                        help="how nuclei and cells are found: classic (no download) or "
                             "cellpose (needs the [cellpose] extra; on --device, the GPU when "
                             "there is one; downloads its weights once)")
    add_device_argument(parser)
    parser.add_argument("--out", type=Path, required=True, metavar="LABELS.tif",
                        help="output labels: cells with --cells, otherwise nuclei; for many "
                             "fields a folder")
    parser.add_argument("--nuclei-out", type=Path, metavar="PATH",
                        help="with --cells: where to write the nuclei labels")
    add_batch_arguments(parser, "nuclei, cells")
    add_overwrite_argument(parser, "existing label images")
    return parser


def add_device_argument(parser) -> None:
    """``--device``: where the cellpose backend runs (segment and study)."""
    parser.add_argument("--device", default="auto", choices=DEVICES.names(),
                        help="where the cellpose backend runs: "
                             + "; ".join(f"{n}: {DEVICES.help(n)}" for n in DEVICES)
                             + ". The classic backend always runs on the CPU and ignores it; a "
                               "device that is not available here is an error naming those "
                               "that are")


def device_note(args) -> None:
    """Say so when ``--device`` was given to a backend that ignores it."""
    if args.device != "auto" and args.backend == "classic":
        print(f"note: --device {args.device} is for --backend cellpose; the classic backend "
              "runs on the CPU.", file=sys.stderr)


def run(args) -> int:
    """One field or many: the same batch of per-field tasks (one field is a batch of one)."""
    from ..batch import Field, fields_from_specs, read_fields_manifest, segment_fields
    from ..batch.morphology import FIELDS_TABLE
    from ..batch.segment_thresholds import ROBUSTNESS_TABLE
    from ._batch import check_cluster_args, is_batch, open_cluster, report_field_failures, where
    from ._progress import progress_bar

    one = not is_batch(args, [args.nuclei])
    check_cluster_args(args)
    device_note(args)
    groups = None
    if args.nuclei_out is not None and not one:
        raise BadInputError("--nuclei-out is for one field; a batch writes <field>_nuclei.tif "
                            "into the --out folder.")
    if args.manifest is not None:
        if args.nuclei is not None or args.cells is not None:
            raise BadInputError("give the fields' files either in --manifest or with "
                                "--nuclei/--cells, not both.")
        fields = read_fields_manifest(args.manifest, required=("nuclei",), optional=("cells",),
                                      channels=True)
        inputs = [("--manifest", args.manifest)]
        groups = _groups(args.manifest, args.group_by, len(fields))
    elif args.group_by is not None:
        raise BadInputError("--group-by names a column of the --manifest; give the fields "
                            "with --manifest FIELDS.csv.")
    elif args.nuclei is None:
        raise BadInputError("give the nuclear stain with --nuclei FILE[:CHANNEL] (a file, folder "
                            "or quoted pattern) or the fields with --manifest FIELDS.csv.")
    elif one:
        if args.nuclei_out is not None and args.cells is None:
            raise BadInputError("--nuclei-out is only used with --cells; without --cells, --out "
                                "already holds the nuclei labels.")
        files = {"nuclei": args.nuclei, **({"cells": args.cells} if args.cells else {})}
        fields = [Field("field", files)]
        inputs = [("--nuclei image", args.nuclei), ("--cells image", args.cells)]
    else:
        fields = fields_from_specs({"nuclei": ("--nuclei", args.nuclei),
                                    "cells": ("--cells", args.cells)})
        inputs = [(f"{role} image of field {f.name}", spec)
                  for f in fields for role, spec in f.files.items()]
    outputs = ([("--out", args.out, "labels"), ("--nuclei-out", args.nuclei_out, "labels")] if one
               else [("--out", args.out, "folder")])
    check_outputs(outputs, inputs, overwrite=args.overwrite)
    # one field: --out holds the cells (with --cells) or the nuclei; --nuclei-out the nuclei
    label_files = ([{"cells": args.out, "nuclei": args.nuclei_out} if args.cells
                    else {"nuclei": args.out}] if one else None)
    with open_cluster(args) as client, \
            progress_bar("segment", unit="step" if one else "field") as progress:
        batch = segment_fields(
            fields, None if one else args.out, label_files=label_files,
            diameter=None if args.diameter is None else tuple(args.diameter),
            threshold_method=args.threshold_method, threshold_scope=args.threshold_scope,
            groups=groups, exclude_border=args.exclude_border, backend=args.backend,
            device=args.device, z_project=args.z_project, client=client, progress=progress)
    failures = batch.results.failures
    if one:
        done = batch.results[0]
        for note in done.notes:
            print(note, file=sys.stderr)
        print(f"{done.summary} -> {args.out}")
        if args.nuclei_out is not None:
            print(f"nuclei -> {args.nuclei_out}")
        return 0
    print(f"{len(batch.fields)} of {len(fields)} field(s) segmented ({where(args)}) -> "
          f"{args.out} (labels per field; {FIELDS_TABLE} for `msc-morph measure --manifest`)")
    if len(batch.fields) and "nucleus_diameter_px" in batch.fields:
        diameters = batch.fields["nucleus_diameter_px"]
        print(f"nucleus diameter {diameters.min():.0f}-{diameters.max():.0f} px "
              f"({', '.join(sorted(set(batch.fields['nucleus_diameter_source'])))}; per field "
              f"in {FIELDS_TABLE})")
    for note in batch.notes:
        print(note)
    if batch.robustness is not None:
        print(f"size robustness ({ROBUSTNESS_TABLE}):")
        print(batch.robustness.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    return report_field_failures("segment", failures, args.out)


def _groups(manifest, column: str | None, n_fields: int) -> list | None:
    """The ``--group-by`` column of the manifest, one value per field (row order)."""
    from ..io import read_table

    if column is None:
        return None
    table = read_table(manifest)
    if column not in table.columns:
        raise BadInputError(f"--group-by {column!r}: {manifest} has no such column (columns: "
                            f"{', '.join(map(str, table.columns))}).")
    values = table[column]
    if values.isna().any() or len(values) != n_fields:
        raise BadInputError(f"--group-by {column!r}: every field of {manifest} needs a group; "
                            "fill the empty cells.")
    return [str(v) for v in values]

