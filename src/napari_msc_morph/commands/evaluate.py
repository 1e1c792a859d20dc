"""``msc-morph evaluate``: a model's metrics and plots on a manifest split."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..models.backbones import DEVICES
from ..tiling import TILINGS
from . import command_parser
from ._outputs import add_overwrite_argument, check_outputs


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = command_parser(subparsers, "evaluate", (
        "Predict every image of a manifest split exactly as `msc-morph predict` does "
        "(six-region averaging by default, the bundle's calibration temperature) and write "
        "report.md (each metric with a 95%% CI from a bootstrap over donors, beside the "
        "paper's published test figure; images and donors per class and day; warnings), "
        "metrics.json (accuracy, top-k, within-3/5 interval accuracy, confusion matrix, "
        "macro F1, ECE; ROC AUC, AUC per day, sensitivity/specificity for two-class tasks), "
        "predictions.csv and PNG plots (reliability before/after calibration) to REPORT_DIR."
    ))
    parser.add_argument("model", type=Path, metavar="MODEL", help="model bundle (folder or .zip)")
    parser.add_argument("manifest", type=Path, metavar="MANIFEST",
                        help="manifest: the training manifest (its split is recorded in the "
                             "bundle), one with a split column, or the run's split.csv")
    parser.add_argument("--split-file", type=Path, metavar="SPLIT.csv",
                        help="take the split from this split.csv instead (matched by image path)")
    parser.add_argument("--out", type=Path, required=True, metavar="REPORT_DIR")
    parser.add_argument("--split", default="test",
                        help="test (default), val, train, or all (every row)")
    parser.add_argument("--tiling", choices=TILINGS.names(), default=None,
                        help="override the bundle's tiling")
    parser.add_argument("--threshold", type=float, default=0.5,
                        help="threshold on P(positive) for sensitivity/specificity, between 0 "
                             "and 1 (default 0.5)")
    parser.add_argument("--n-boot", type=int, default=1000,
                        help="bootstrap resamples for the 95%% CIs (default 1000; 0: none); "
                             "stratified by class when every donor holds one class")
    parser.add_argument("--bootstrap-by", default=None, metavar="COLUMN",
                        help="column whose groups the bootstrap resamples (default: donor if "
                             "the manifest has it; 'image' resamples images); a named column "
                             "must be filled in every row (by default, empty donor cells make "
                             "the bootstrap resample images, with a warning)")
    parser.add_argument("--downscale", type=int, default=None,
                        help="read images at 1/N resolution (default: as the model was trained)")
    parser.add_argument("--device", default="auto", choices=DEVICES.names(),
                        help="where the network runs (default auto)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    add_overwrite_argument(parser, "the files of an existing REPORT_DIR")
    return parser


def run(args) -> int:
    from ..training import evaluate_model
    from ._progress import progress_bar

    check_outputs([("--out", args.out, "folder")],
                  [("model bundle", args.model), ("manifest", args.manifest),
                   ("--split-file", args.split_file)], overwrite=args.overwrite)
    with progress_bar("evaluate", unit="img") as progress:
        evaluation = evaluate_model(
            args.model, args.manifest, out_dir=args.out, split=args.split, tiling=args.tiling,
            device=args.device, downscale=args.downscale, threshold=args.threshold,
            n_boot=args.n_boot, seed=args.seed, bootstrap_by=args.bootstrap_by,
            split_file=args.split_file, progress=progress,
        )
    from ..training.report import summary_lines

    m = evaluation.metrics
    print(f"{m['n_images']} images ({m['split']}; {m.get('split_source', 'every row')})")
    lines = summary_lines(m)
    print("\n".join(line for line in lines if line.startswith("|") and "---" not in line))
    for warning in m.get("warnings", []):
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{len(evaluation.files)} files -> {args.out} (report.md: the table with n per group)")
    return 0
