"""``msc-morph segment``: nuclei (and cells) from fluorescence images to label TIFFs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..channels import Z_PROJECTIONS
from ..errors import BadInputError
from ..morphology.segment import SEGMENTATION_BACKENDS, THRESHOLD_METHODS
from ._batch import add_batch_arguments
from ._outputs import add_overwrite_argument, check_outputs


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "segment",
        help="segment nuclei (and whole cells) into label images",
        description=(
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
    parser.add_argument("--diameter", type=float, nargs=2, default=(8.0, 80.0),
                        metavar=("MIN", "MAX"),
                        help="nucleus diameter range in pixels (default 8 80)")
    parser.add_argument("--threshold-method", choices=THRESHOLD_METHODS.names(), default="otsu",
                        help="automatic nuclei threshold: "
                             + "; ".join(f"{n}: {THRESHOLD_METHODS.help(n)}"
                                         for n in THRESHOLD_METHODS))
    border = parser.add_mutually_exclusive_group()
    border.add_argument("--exclude-border", dest="exclude_border", action="store_true", default=True,
                        help="drop nuclei (and cells) touching the image border, so cut-off "
                             "objects do not bias size statistics (the default); the number "
                             "dropped is printed")
    border.add_argument("--keep-border", dest="exclude_border", action="store_false",
                        help="keep objects touching the image border")
    parser.add_argument("--backend", choices=SEGMENTATION_BACKENDS.names(), default="classic",
                        help="nuclei segmentation backend (cellpose must be installed)")
    parser.add_argument("--out", type=Path, required=True, metavar="LABELS.tif",
                        help="output labels: cells with --cells, otherwise nuclei; for many "
                             "fields a folder")
    parser.add_argument("--nuclei-out", type=Path, metavar="PATH",
                        help="with --cells: where to write the nuclei labels")
    add_batch_arguments(parser, "nuclei, cells")
    add_overwrite_argument(parser, "existing label images")
    return parser


def run(args) -> int:
    from ..channels import read_channel
    from ..io import resolve_pixel_size, write_tiff
    from ..morphology import segment_field
    from ._progress import progress_bar

    if _is_batch(args):
        return _run_batch(args)
    if args.nuclei is None:
        raise BadInputError("give the nuclear stain with --nuclei FILE[:CHANNEL] (or the fields "
                            "with --manifest FIELDS.csv).")
    if args.nuclei_out is not None and args.cells is None:
        raise BadInputError(
            "--nuclei-out is only used with --cells; without --cells, --out already "
            "holds the nuclei labels."
        )
    check_outputs([("--out", args.out, "labels"), ("--nuclei-out", args.nuclei_out, "labels")],
                  [("--nuclei image", args.nuclei), ("--cells image", args.cells)],
                  overwrite=args.overwrite)
    nuclei_image = read_channel(args.nuclei, z_project=args.z_project)
    sources = [nuclei_image]
    names = {"nuclei": f"nuclei image {args.nuclei}"}
    _say_channel(nuclei_image, "nuclei")
    cyto = None
    if args.cells is not None:
        cyto_image = read_channel(args.cells, z_project=args.z_project)
        _say_channel(cyto_image, "cells")
        sources.append(cyto_image)
        cyto = cyto_image.data
        names["cytoplasm"] = f"cytoplasm image {args.cells}"
    pixel_size, _ = resolve_pixel_size(None, sources)  # label TIFFs keep the input's size
    with progress_bar("segment") as progress:
        result = segment_field(
            nuclei_image.data, cyto, diameter=tuple(args.diameter),
            threshold_method=args.threshold_method, exclude_border=args.exclude_border,
            backend=args.backend, input_names=names, progress=progress,
        )
    out_labels = result.nuclei if result.cells is None else result.cells
    write_tiff(out_labels, args.out, pixel_size_um=pixel_size)
    print(f"{result.summary()} -> {args.out}")
    if args.nuclei_out is not None:
        write_tiff(result.nuclei, args.nuclei_out, pixel_size_um=pixel_size)
        print(f"nuclei -> {args.nuclei_out}")
    return 0


def _is_batch(args) -> bool:
    from ..batch import is_many
    from ._batch import cluster_requested

    return args.manifest is not None or is_many(args.nuclei) or cluster_requested(args)


def _run_batch(args) -> int:
    """Many fields: one task per field, serially or on a Dask cluster."""
    from ..batch import fields_from_specs, read_fields_manifest, segment_fields
    from ..batch.morphology import FIELDS_TABLE
    from ._batch import check_cluster_args, nothing_done, open_cluster, report_field_failures, where
    from ._progress import progress_bar

    check_cluster_args(args)
    if args.nuclei_out is not None:
        raise BadInputError("--nuclei-out is for one field; a batch writes <field>_nuclei.tif "
                            "into the --out folder.")
    if args.manifest is not None:
        if args.nuclei is not None or args.cells is not None:
            raise BadInputError("give the fields' files either in --manifest or with "
                                "--nuclei/--cells, not both.")
        fields = read_fields_manifest(args.manifest, required=("nuclei",), optional=("cells",),
                                      channels=True)
        inputs = [("--manifest", args.manifest)]
    elif args.nuclei is None:
        raise BadInputError("give the nuclear stain with --nuclei (a file, folder or quoted "
                            "pattern) or the fields with --manifest FIELDS.csv.")
    else:
        fields = fields_from_specs({"nuclei": ("--nuclei", args.nuclei),
                                    "cells": ("--cells", args.cells)})
        inputs = []
    inputs += [(f"{role} image of field {f.name}", spec)
               for f in fields for role, spec in f.files.items()]
    check_outputs([("--out", args.out, "folder")], inputs, overwrite=args.overwrite)
    with open_cluster(args) as client, progress_bar("segment", unit="field") as progress:
        batch = segment_fields(
            fields, args.out, diameter=tuple(args.diameter),
            threshold_method=args.threshold_method, exclude_border=args.exclude_border,
            backend=args.backend, z_project=args.z_project, client=client, progress=progress)
    failures = batch.results.failures
    if len(failures) == len(fields):
        raise nothing_done("segment", failures)
    print(f"{len(batch.fields)} of {len(fields)} field(s) segmented ({where(args)}) -> "
          f"{args.out} (labels per field; {FIELDS_TABLE} for `msc-morph measure --manifest`)")
    return report_field_failures("segment", failures, args.out)


def _say_channel(image, role: str) -> None:
    channel = image.metadata.get("channel")
    if channel is not None:
        print(f"{role}: channel {channel!r} of {image.path}", file=sys.stderr)
