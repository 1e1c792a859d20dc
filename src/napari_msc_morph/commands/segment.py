"""``msc-morph segment``: nuclei (and cells) from fluorescence images to label TIFFs."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "segment",
        help="segment nuclei (and whole cells) into label images",
        description=(
            "Segment nuclei in a DNA stain (DAPI/Hoechst) image: smoothing, automatic "
            "threshold, hole filling, declumping by distance-transform watershed, size "
            "filter. With --cells, grow whole cells from the nuclei over a cytoplasm "
            "channel; cell k contains nucleus k. Label TIFFs keep the input's pixel size."
        ),
    )
    parser.add_argument("--nuclei", type=Path, required=True, metavar="PATH",
                        help="nuclear stain image (2D TIFF/PNG)")
    parser.add_argument("--cells", type=Path, metavar="PATH",
                        help="cytoplasm / cell body image (e.g. phalloidin); adds cell labels")
    parser.add_argument("--diameter", type=float, nargs=2, default=(8.0, 80.0),
                        metavar=("MIN", "MAX"),
                        help="nucleus diameter range in pixels (default 8 80)")
    parser.add_argument("--threshold-method", choices=("otsu", "li"), default="otsu",
                        help="automatic nuclei threshold: otsu (default) or li "
                             "(minimum cross-entropy)")
    parser.add_argument("--exclude-border", action="store_true",
                        help="drop nuclei (and cells) touching the image border")
    parser.add_argument("--backend", choices=("classic", "cellpose"), default="classic",
                        help="nuclei segmentation backend (cellpose must be installed)")
    parser.add_argument("--out", type=Path, required=True, metavar="LABELS.tif",
                        help="output labels: cells with --cells, otherwise nuclei")
    parser.add_argument("--nuclei-out", type=Path, metavar="PATH",
                        help="with --cells: where to write the nuclei labels")
    return parser


def run(args) -> int:
    import numpy as np

    from ..io import read_image, write_tiff
    from ..morphology import segment_cells, segment_nuclei

    if args.nuclei_out is not None and args.cells is None:
        raise ValueError(
            "--nuclei-out is only used with --cells; without --cells, --out already "
            "holds the nuclei labels."
        )
    nuclei_image = read_image(args.nuclei)
    pixel_size = nuclei_image.pixel_size_um
    try:
        nuclei = segment_nuclei(
            nuclei_image.data, tuple(args.diameter), threshold_method=args.threshold_method,
            exclude_border=args.exclude_border, backend=args.backend,
        )
    except ValueError as err:
        raise ValueError(f"{args.nuclei}: {err}") from None
    message = f"{int(np.count_nonzero(np.bincount(nuclei.ravel())[1:]))} nuclei"
    if args.cells is None:
        write_tiff(nuclei, args.out, pixel_size_um=pixel_size)
        print(f"{message} -> {args.out}")
        return 0
    cyto = read_image(args.cells)
    if pixel_size is None:
        pixel_size = cyto.pixel_size_um
    try:
        cells = segment_cells(cyto.data, nuclei, exclude_border=args.exclude_border)
    except ValueError as err:
        raise ValueError(f"{args.cells}: {err}") from None
    if args.exclude_border:  # nuclei whose cell touched the border go too
        nuclei = np.where(np.isin(nuclei, np.unique(cells)), nuclei, 0).astype(np.int32)
    n_cells = int(np.count_nonzero(np.bincount(cells.ravel())[1:]))
    write_tiff(cells, args.out, pixel_size_um=pixel_size)
    print(f"{message}, {n_cells} cells -> {args.out}")
    if args.nuclei_out is not None:
        write_tiff(nuclei, args.nuclei_out, pixel_size_um=pixel_size)
        print(f"nuclei -> {args.nuclei_out}")
    return 0
