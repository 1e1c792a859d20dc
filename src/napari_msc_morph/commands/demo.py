"""``msc-morph demo``: the whole study end to end on synthetic data."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..models.backbones import DEVICES
from . import command_parser
from ._outputs import add_overwrite_argument, check_outputs


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = command_parser(subparsers, "demo", (
        "Generate a synthetic study (passage series over several donors, an osteogenic "
        "time course with RUNX2/OSX/OCN readouts, IF fields), train small passage and "
        "osteogenic models on the CPU, evaluate them on held-out donors, segment and "
        "measure the IF fields, correlate OsScore and cell size with the markers, and "
        "write OUT/report.html with the CSVs and plots beside it."
    ))
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    parser.add_argument("--quick", action="store_true",
                        help="smaller data and fewer epochs (about 3 minutes on 2 CPU cores)")
    parser.add_argument("--open", action="store_true",
                        help="open napari with the results loaded when done")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--device", default="cpu", choices=DEVICES.names(),
                        help="where to train (default cpu, so the numbers repeat)")
    add_overwrite_argument(parser, "the files of an existing output folder")
    return parser


def run(args) -> int:
    from ..demo import run_demo
    from ._progress import progress_bar

    check_outputs([("--out", args.out, "folder")], overwrite=args.overwrite)
    with progress_bar("demo") as progress:
        result = run_demo(args.out, quick=args.quick, seed=args.seed, device=args.device,
                          progress=progress)
    p = result.metrics["passage"]
    o = result.metrics["osteogenic"]
    print(f"passage: exact {p.get('accuracy', float('nan')):.2f}, within-3 "
          f"{p.get('within3_accuracy', float('nan')):.2f} on held-out donors "
          f"(chance {p['chance_accuracy']:.2f} / {p['chance_within3_accuracy']:.2f})")
    print(f"osteogenic: AUC {o.get('auc', float('nan')):.2f} on held-out donors")
    print(f"report: {result.report}  ({result.seconds / 60:.1f} min)")
    if args.open:
        from ..widgets.demo_viewer import open_demo

        open_demo(args.out, block=True)
    return 0
