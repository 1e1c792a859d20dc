"""``msc-morph compare``: compare a value between groups (days, conditions), with a trend test."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..analysis.aggregate import parse_columns
from ..analysis.compare import COMPARE_METHODS, compare_groups, write_comparison
from ..analysis.units import NO_UNIT, UNIT_COLUMNS
from ..errors import BadInputError
from ..io import read_table
from . import command_parser
from ._outputs import add_overwrite_argument, check_outputs
from ._progress import progress_bar


def add_parser(subparsers) -> argparse.ArgumentParser:
    methods = "; ".join(f"{e}: {COMPARE_METHODS.help(e)}" for e in COMPARE_METHODS)
    parser = command_parser(subparsers, "compare", (
        "Tests one value per experimental unit (--unit: donor, sample_id, well; the mean of "
        "its rows) or fits a mixed model value ~ group + (1|unit) (--mixed). Per-group "
        "summary (n units, n rows, mean, sd, median, IQR), an omnibus test (Welch ANOVA, "
        "one-way ANOVA, Kruskal-Wallis, Friedman with --paired-by, or the mixed model's "
        "Wald F), every pair of groups or every group against --control (Games-Howell, "
        "Tukey HSD, Dunnett, Dunn/Holm, Wilcoxon/Holm), a trend test over ordered groups "
        "(Spearman rho of the value against the group order; Page's L when paired) and "
        "effect sizes."
    ))
    parser.add_argument("table", type=Path, metavar="TABLE",
                        help="table with one row per image, cell or sample (CSV/XLSX)")
    parser.add_argument("--value", required=True, metavar="COLUMN",
                        help="numeric column to compare, e.g. os_score or area")
    parser.add_argument("--by", required=True, metavar="GROUP",
                        help="grouping column, e.g. day or condition")
    parser.add_argument("--paired-by", metavar="COLUMN",
                        help="subject measured in every group (e.g. donor): repeated-measures tests")
    parser.add_argument("--order", metavar="G1,G2,...",
                        help="group order for the trend test, e.g. 0,3,7,14,21 (default: numeric "
                             "groups sorted; text groups get no trend test)")
    parser.add_argument("--unit", metavar="COLUMN",
                        help="the experimental unit (e.g. donor, sample_id, well): its rows are "
                             "averaged to one value before testing, and n counts units. Default: "
                             f"the first of {', '.join(UNIT_COLUMNS)} in the table whose values "
                             "each lie in one group; the subject with --paired-by. "
                             f"'--unit {NO_UNIT}' tests every row as independent")
    parser.add_argument("--mixed", action="store_true",
                        help="fit a linear mixed model value ~ group + (1|unit) over every row "
                             "instead of averaging (the same as --method mixed)")
    parser.add_argument("--control", metavar="GROUP",
                        help="compare every group with this one (e.g. --by passage --control "
                             "P10): Dunnett's test after the ANOVA, Holm over the k - 1 pairs "
                             "otherwise")
    parser.add_argument("--method", choices=COMPARE_METHODS.names(), default="auto",
                        help=f"omnibus test (default: %(default)s). {methods}")
    parser.add_argument("--out", type=Path, required=True,
                        help="results: a CSV with a 'section' column (summary, omnibus, posthoc, "
                             "trend) or an XLSX with one sheet per section")
    parser.add_argument("--plot", type=Path, metavar="FILE",
                        help="also save a box + strip plot (.png, .svg or .pdf)")
    add_overwrite_argument(parser, "an existing table or plot")
    return parser


def _order(text: str | None):
    if text is None:
        return None
    order = parse_columns(text)
    if len(order) < 2:
        raise BadInputError(f"--order {text!r} names fewer than 2 groups; give them comma-separated, "
                            "e.g. --order 0,3,7,14,21.")
    return order


def _method(args) -> str:
    if args.mixed and args.method not in ("auto", "mixed"):
        raise BadInputError(f"--mixed fits the mixed model; it cannot be combined with --method "
                            f"{args.method}: drop one of them.")
    return "mixed" if args.mixed else args.method


def run(args) -> int:
    order = _order(args.order)
    method = _method(args)
    check_outputs([("--out", args.out, "table"), ("--plot", args.plot, "figure")],
                  [("table", args.table)], overwrite=args.overwrite)
    # the unit and subject are ids: read as text (sample 1.10 is not sample 1.1)
    ids = [c for c in (args.unit, args.paired_by) if c and c != "none"]
    table = read_table(args.table, text_columns=ids)
    with progress_bar("compare", unit="step") as progress:
        result = compare_groups(table, args.value, args.by, paired_by=args.paired_by, order=order,
                                method=method, unit=args.unit, control=args.control,
                                progress=progress)
    write_comparison(result, args.out)
    if args.plot is not None:
        from ..analysis.compare_plots import save_box_strip

        save_box_strip(result, args.plot)
    print(result.text())
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0
