"""``msc-morph synth``: write a labelled synthetic dataset (TIFFs + manifest.csv)."""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path

from ..errors import BadInputError
from . import command_parser
from ._outputs import add_overwrite_argument, check_outputs

KIND_HELP = {
    "passage": "phase-contrast MSCs at passages P1-P10 (senescence)",
    "osteo": "osteogenic induction time course, days 0-21, induced and control",
    "source": "umbilical cord vs bone marrow MSCs",
    "nsc": "neural stem cell fates: neuron, astrocyte, oligodendrocyte",
    "strain": "MSC strains S1-Sn (--n-donors strains), each through P1-P10 with its own "
              "morphology; the label is the strain (strain identification)",
    "if": "immunofluorescence fields (DAPI, actin, RUNX2, OSX, OCN, Ki67) with labels and per-cell truth",
}


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = command_parser(subparsers, "synth", (
        "Write procedurally generated images with known class and ground truth: "
        + "; ".join(f"{k}: {v}" for k, v in KIND_HELP.items())
        + ". Images are TIFFs with their pixel size in the metadata, under OUT/<donor>/, "
        "listed in OUT/manifest.csv (path, donor, label, class columns, truth)."
    ))
    parser.add_argument("kind", choices=list(KIND_HELP), help="what to generate")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    parser.add_argument("--n-donors", type=int, default=3, metavar="N",
                        help="number of donors, each with its own style (default 3); for "
                             "strain, the number of strains")
    parser.add_argument("--per-class", type=int, default=2, metavar="K",
                        help="images per class and donor (default 2)")
    parser.add_argument("--size", type=int, nargs=2, metavar=("H", "W"),
                        help="image height and width in pixels "
                             "(default 1944 2592; nsc 1024 1024; if 512 512)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--rgb", action="store_true", help="colour (RGB) bright-field images")
    parser.add_argument("--readouts", action="store_true",
                        help="osteo: also write OUT/readouts.csv, qPCR Ct of RUNX2, OSX, OCN and "
                             "GAPDH per donor, day and condition (3 replicates each), from the "
                             "true differentiation (for msc-morph correlate)")
    add_overwrite_argument(parser, "the files of an existing output folder")
    return parser


def run(args) -> int:
    from ..synthetic import write_dataset
    from ._progress import progress_bar

    if args.readouts and args.kind != "osteo":
        raise BadInputError(f"--readouts is for the osteo time course; leave it out for "
                            f"{args.kind}.")
    check_outputs([("--out", args.out, "folder")], overwrite=args.overwrite)
    start = time.perf_counter()
    existed = Path(args.out).exists()
    try:
        with progress_bar(f"synth {args.kind}", unit="image") as progress:
            manifest = write_dataset(args.kind, args.out, n_donors=args.n_donors,
                                     per_class=args.per_class, seed=args.seed, rgb=args.rgb,
                                     size=tuple(args.size) if args.size else None,
                                     progress=progress)
    except BaseException:
        # a full disk or a kill of the run: empty folders it made would block the re-run
        remove_empty_folders(Path(args.out), keep_top=existed)
        raise
    if args.readouts:
        from ..io import write_table
        from ..synthetic.readouts import osteo_samples, synthetic_ct_readouts

        readouts = synthetic_ct_readouts(osteo_samples(manifest), seed=args.seed)
        write_table(readouts, Path(args.out) / "readouts.csv")
        print(f"readouts: {len(readouts)} qPCR Ct values -> {Path(args.out) / 'readouts.csv'}")
    elapsed = time.perf_counter() - start
    groups = len(manifest) // max(args.n_donors * args.per_class, 1)
    units, kinds = ("strains", "passages") if args.kind == "strain" else ("donors", "classes")
    print(
        f"wrote {len(manifest)} {args.kind} images ({args.n_donors} {units} x {groups} {kinds} x "
        f"{args.per_class}) to {args.out} in {elapsed:.1f} s; manifest: {Path(args.out) / 'manifest.csv'}"
    )
    return 0


def remove_empty_folders(top: Path, keep_top: bool) -> None:
    """Remove the empty folders under ``top`` (and ``top`` itself unless ``keep_top``)."""
    if not top.is_dir():
        return
    folders = sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
    for folder in folders + ([] if keep_top else [top]):  # deepest first
        with contextlib.suppress(OSError):
            folder.rmdir()  # only succeeds on an empty folder


def kept(args) -> str:
    """What an interrupted ``synth`` keeps (printed by the CLI on Ctrl-C)."""
    return (f"the images written so far are kept in {args.out}, but manifest.csv is written "
            "last; run again with --overwrite to complete the dataset")
