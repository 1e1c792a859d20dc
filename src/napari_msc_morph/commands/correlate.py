"""``msc-morph correlate``: correlate image scores with RUNX2/OCN/OSX readouts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..analysis.aggregate import SAMPLE_KEYS
from ..analysis.correlate import ALL_METHODS, method_choices
from ..analysis.qpcr import TRANSFORMS, UNDETERMINED_RULES
from ..analysis.study import correlate_study
from . import command_parser
from ._outputs import add_overwrite_argument, check_outputs
from ._progress import progress_bar


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = command_parser(subparsers, "correlate", (
        "Aggregate per-image scores (e.g. an exported results table) to one row per sample "
        "(--on), join them to molecular readouts (long or wide; replicates averaged) and "
        "write Pearson and/or Spearman r with 95%% CI, p, n (samples) and Benjamini-Hochberg "
        "q over the score x marker x assay pairs tested; with --repeated-by donor also the "
        "repeated-measures correlation (rm_corr) and a mixed-model slope."
    ))
    parser.add_argument("scores", type=Path, metavar="SCORES",
                        help="per-image or per-sample scores (CSV/XLSX)")
    parser.add_argument("readouts", type=Path, metavar="READOUTS",
                        help="molecular readouts (CSV/XLSX), long or wide form")
    usual = " or ".join(name.replace(" ", "") for name in SAMPLE_KEYS.names())
    parser.add_argument("--on", default=SAMPLE_KEYS.names()[0],
                        help=f"join column(s), comma-separated, e.g. {usual} "
                             f"(default: %(default)s)")
    parser.add_argument("--method", choices=method_choices(), default=ALL_METHODS,
                        help="correlation method(s) (default: %(default)s)")
    parser.add_argument("--out", type=Path, required=True,
                        help="output table (CSV or XLSX): score, marker, assay, method, n, r, "
                             "ci_low, ci_high, p, q (+ rm_* and lmm_* with --repeated-by), "
                             "warning")
    parser.add_argument("--plots", type=Path, metavar="DIR",
                        help="also save scatter, heatmap and time-course plots (PNG + SVG) here")
    parser.add_argument("--scores", dest="score_columns", nargs="+", metavar="COLUMN",
                        help="score columns to use (default: the task score, e.g. os_score, "
                             "not its class probabilities, and one summary per measurement: "
                             "*_median, *_fraction_positive, cell_density_per_mm2; never "
                             "bookkeeping such as pixel_size_um, n_tiles or coordinates)")
    parser.add_argument("--markers", nargs="+", metavar="MARKER",
                        help="markers to keep (default: all in the file)")
    parser.add_argument("--loading-control", metavar="MARKER",
                        help="normalise western blot values to this marker (e.g. GAPDH)")
    parser.add_argument("--repeated-by", metavar="COLUMN",
                        help="column grouping samples into repeated measures (e.g. donor): adds "
                             "rm_corr (pingouin) and a mixed model readout ~ score with a random "
                             "intercept per group (statsmodels)")
    parser.add_argument("--transform", choices=TRANSFORMS.names(),
                        help="qPCR values on a log scale: log2 of fold changes, or delta-ct "
                             "(values are Ct; needs --reference-gene)")
    parser.add_argument("--reference-gene", metavar="NAME[,NAME]",
                        help="delta-ct: the reference gene(s) (e.g. GAPDH, or GAPDH,ACTB: the "
                             "geometric mean of their relative quantities)")
    parser.add_argument("--control", metavar="VALUE",
                        help="delta-ct: the calibrator for 2^-ddCt fold changes, a condition "
                             "(e.g. control) or COLUMN=VALUE[,COLUMN=VALUE] (e.g. day=0); each "
                             "sample is compared with the control that shares its other keys "
                             "(same donor and day for --control control)")
    parser.add_argument("--efficiency", action="append", metavar="GENE=E",
                        help="delta-ct: a gene's amplification factor per cycle (e.g. "
                             "RUNX2=1.95) or efficiency in percent (RUNX2=95%%) for the Pfaffl "
                             "ratio; repeat or join with commas (default: 2, perfect doubling)")
    parser.add_argument("--undetermined", default="exclude", metavar="RULE",
                        help=f"Ct cells written Undetermined / No Ct: "
                             f"{' or '.join(UNDETERMINED_RULES.names())} (cycle-limit=45 for a "
                             "45-cycle run; flagged in ct_undetermined) (default: %(default)s)")
    parser.add_argument("--min-n", type=int, default=4,
                        help="fewest samples for which r is reported (default 4)")
    parser.add_argument("--n-boot", type=int, default=2000,
                        help="bootstrap resamples for Spearman CIs (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    add_overwrite_argument(parser, "an existing table or plot folder")
    return parser


def run(args) -> int:
    check_outputs([("--out", args.out, "table"), ("--plots", args.plots, "folder")],
                  [("scores table", args.scores), ("readouts table", args.readouts)],
                  overwrite=args.overwrite)
    with progress_bar("correlate", unit="step") as progress:
        study = correlate_study(
            args.scores, args.readouts, on=args.on, method=args.method,
            score_columns=args.score_columns, markers=args.markers,
            loading_control=args.loading_control, repeated_by=args.repeated_by,
            transform=args.transform, reference_gene=args.reference_gene, control=args.control,
            efficiency=args.efficiency, undetermined=args.undetermined,
            min_n=args.min_n, n_boot=args.n_boot,
            seed=args.seed, out=args.out, plots_dir=args.plots, progress=progress,
        )
    print(study.summary())
    for warning in study.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0
