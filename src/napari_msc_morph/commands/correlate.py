"""``msc-morph correlate``: correlate image scores with RUNX2/OCN/OSX readouts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..analysis.aggregate import _as_list, aggregate_to_samples
from ..analysis.correlate import correlate, join_readouts, time_course
from ..analysis.readouts import read_readouts
from ..io import read_table, write_table


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "correlate",
        help="correlate image scores with molecular readouts (qPCR, western, IF)",
        description=(
            "Aggregate per-image scores (e.g. an exported results table) to samples, join them "
            "to molecular readouts (long or wide; replicates averaged) and write Pearson and/or "
            "Spearman r with 95%% CI, p and Benjamini-Hochberg q for every score x marker x assay."
        ),
    )
    parser.add_argument("scores", type=Path, metavar="SCORES",
                        help="per-image or per-sample scores (CSV/XLSX)")
    parser.add_argument("readouts", type=Path, metavar="READOUTS",
                        help="molecular readouts (CSV/XLSX), long or wide form")
    parser.add_argument("--on", default="sample_id",
                        help="join column(s), e.g. sample_id (default) or day,condition")
    parser.add_argument("--method", choices=("pearson", "spearman", "both"), default="both")
    parser.add_argument("--out", type=Path, required=True,
                        help="output table (CSV or XLSX): score, marker, assay, method, n, r, "
                             "ci_low, ci_high, p, q, warning")
    parser.add_argument("--plots", type=Path, metavar="DIR",
                        help="also save scatter, heatmap and time-course plots (PNG + SVG) here")
    parser.add_argument("--scores", dest="score_columns", nargs="+", metavar="COLUMN",
                        help="score columns to use (default: every numeric non-metadata column)")
    parser.add_argument("--markers", nargs="+", metavar="MARKER",
                        help="markers to keep (default: all in the file)")
    parser.add_argument("--loading-control", metavar="MARKER",
                        help="normalise western blot values to this marker (e.g. GAPDH)")
    parser.add_argument("--min-n", type=int, default=4,
                        help="fewest samples for which r is reported (default 4)")
    parser.add_argument("--n-boot", type=int, default=2000,
                        help="bootstrap resamples for Spearman CIs (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    return parser


def run(args) -> int:
    on = _as_list(args.on)
    images = read_table(args.scores)
    samples = aggregate_to_samples(images, on=on, scores=args.score_columns,
                                   source=str(args.scores))
    readouts = read_readouts(args.readouts, markers=args.markers,
                             loading_control=args.loading_control)
    results = correlate(samples, readouts, on=on, method=args.method, scores=args.score_columns,
                        min_n=args.min_n, n_boot=args.n_boot, seed=args.seed)
    write_table(results, args.out)
    print(f"{len(results)} correlations of {results['score'].nunique()} score(s) with "
          f"{results[['marker', 'assay']].drop_duplicates().shape[0]} marker/assay pair(s) "
          f"over {len(samples)} samples -> {args.out}")
    for warning in sorted(set(results["warning"]) - {""}):
        print(f"warning: {warning}", file=sys.stderr)
    if args.plots is not None:
        from ..analysis.plots import save_correlation_plots

        joined = join_readouts(samples, readouts, on=on, scores=args.score_columns)
        course = None
        if "day" in samples.columns or "day" in readouts.columns:
            try:
                course = time_course(samples, readouts, scores=args.score_columns)
            except ValueError as err:  # no day on one side: plot what can be plotted
                print(f"warning: no time course: {err}", file=sys.stderr)
        written = save_correlation_plots(joined, results, course, args.plots, on=on)
        print(f"{len(written)} plot files -> {args.plots}")
    return 0
