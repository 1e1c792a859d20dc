"""Group comparisons: does a value differ between groups, and does it rise with their order?

One call, :func:`compare_groups`, answers "does OsScore rise with induction
day" and "are induced cells larger than controls" from the plugin's own tables
(the tests in :mod:`.group_tests`: scipy, pingouin, statsmodels). It returns a :class:`GroupComparison` whose
tables are DataFrames:

- ``summary``: per group n, mean, sd, median, q1, q3, IQR;
- ``omnibus``: Welch's ANOVA (effect size eta²) or Kruskal-Wallis (epsilon²);
  with ``paired_by`` (e.g. donor) Friedman's test (Kendall's W), or Wilcoxon's
  signed-rank test for two groups;
- ``posthoc``: every pair of groups; Games-Howell after Welch (Hedges g),
  Dunn's test with Holm's correction after Kruskal-Wallis (rank-biserial r),
  Wilcoxon signed-rank with Holm after Friedman (matched-pairs rank-biserial r).
  The family is always all k(k-1)/2 pairs of the k groups compared;
- ``trend``: over ordered groups (``order``, or numeric labels such as days):
  Spearman's rho of the value against the group's rank in that order
  (unpaired), or Page's L test (paired, >= 3 groups).

Pairs are reported as ``group_a`` -> ``group_b`` with ``group_a`` first in the
order; ``estimate`` is b - a (means for Welch, medians otherwise), so a
positive estimate and effect size mean the later group is larger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import BadInputError
from ..io import write_table, write_xlsx
from ..jobs import CancelToken, ProgressFn, check_cancelled, report
from ..registry import Registry
from .group_tests import FRIEDMAN, KRUSKAL, WELCH, Groups, GroupTests, holm
from .qpcr import label_text

__all__ = ["COMPARE_METHODS", "GroupComparison", "compare_groups", "holm", "method_choices",
           "write_comparison"]

NORMALITY_ALPHA = 0.05
MIN_GROUP_N = 3

#: Comparison methods (``msc-morph compare --method`` choices): each entry checks that
#: the data fit it and returns the :class:`~.group_tests.GroupTests` to run and why.
COMPARE_METHODS: Registry[Callable[[Groups], tuple[GroupTests, str]]] = Registry(
    "comparison method")


def _unpaired(name: str, g: Groups) -> None:
    if g.paired_by is not None:
        raise BadInputError(
            f"--method {name} compares independent groups, but --paired-by {g.paired_by} was "
            "given; use --method friedman (or auto) for repeated measures, or drop --paired-by."
        )


def _flat(g: Groups) -> list:
    return [name for name, s in zip(g.groups, g.samples) if len(s) < 2 or np.var(s) == 0]


@COMPARE_METHODS.register(
    "auto",
    help="Welch's ANOVA + Games-Howell when every group has n >= 3 and passes Shapiro-Wilk "
         "(p >= 0.05), otherwise Kruskal-Wallis + Dunn/Holm; with --paired-by, Friedman",
)
def _auto(g: Groups) -> tuple[GroupTests, str]:
    if g.paired_by is not None:
        return _friedman(g)
    if _flat(g) or any(len(s) < MIN_GROUP_N for s in g.samples):
        return KRUSKAL, f"auto: a group has n < {MIN_GROUP_N} or no spread"
    non_normal = [name for name, s in zip(g.groups, g.samples)
                  if stats.shapiro(s).pvalue < NORMALITY_ALPHA]
    if non_normal:
        return KRUSKAL, (f"auto: Shapiro-Wilk p < {NORMALITY_ALPHA} in group(s) "
                         f"{', '.join(non_normal)}")
    return WELCH, f"auto: every group passes Shapiro-Wilk (p >= {NORMALITY_ALPHA})"


@COMPARE_METHODS.register("welch", help="Welch's ANOVA (unequal variances) + Games-Howell; "
                                        "effect sizes eta² and Hedges g")
def _welch(g: Groups) -> tuple[GroupTests, str]:
    _unpaired("welch", g)
    flat = _flat(g)
    if flat:
        raise BadInputError(
            f"--method welch needs at least 2 different values per group; group(s) "
            f"{', '.join(flat)} have fewer; use --method kruskal."
        )
    return WELCH, "chosen"


@COMPARE_METHODS.register("kruskal", help="Kruskal-Wallis + Dunn's test with Holm; "
                                          "effect sizes epsilon² and rank-biserial r")
def _kruskal(g: Groups) -> tuple[GroupTests, str]:
    _unpaired("kruskal", g)
    return KRUSKAL, "chosen"


@COMPARE_METHODS.register(
    "friedman", help="repeated measures (needs --paired-by): Friedman (Wilcoxon signed-rank "
                     "for 2 groups) + pairwise Wilcoxon with Holm; Kendall's W")
def _friedman(g: Groups) -> tuple[GroupTests, str]:
    if g.paired_by is None:
        raise BadInputError("--method friedman needs --paired-by COLUMN (e.g. donor) naming "
                            "the subject measured in every group.")
    return FRIEDMAN, f"repeated measures by {g.paired_by}"


_SUMMARY_COLUMNS = ["group", "rank", "n", "mean", "sd", "median", "q1", "q3", "iqr"]
_OMNIBUS_COLUMNS = ["test", "statistic", "df1", "df2", "p", "effect", "effect_size", "n", "k",
                    "note"]
_TREND_COLUMNS = ["test", "statistic", "p", "n", "order", "note"]
_LONG_COLUMNS = ["section", "test", "group", "rank", "group_a", "group_b", "n", "n_a", "n_b", "k",
                 "mean", "sd", "median", "q1", "q3", "iqr", "estimate", "statistic", "df", "df1",
                 "df2", "p", "p_adjust", "effect", "effect_size", "family", "order", "note"]


def method_choices() -> list[str]:
    return COMPARE_METHODS.names()


@dataclass
class GroupComparison:
    """The result of :func:`compare_groups`; every table is a DataFrame."""

    value: str
    by: str
    method: str  # the method used ("welch", "kruskal" or "friedman")
    method_reason: str
    groups: list
    data: pd.DataFrame  # the rows compared: group, value (and subject when paired)
    summary: pd.DataFrame
    omnibus: pd.DataFrame
    posthoc: pd.DataFrame
    trend: pd.DataFrame
    paired_by: str | None = None
    warnings: list[str] = field(default_factory=list)

    def sections(self) -> dict[str, pd.DataFrame]:
        return {"summary": self.summary, "omnibus": self.omnibus, "posthoc": self.posthoc,
                "trend": self.trend}

    def long_table(self) -> pd.DataFrame:
        """All tables in one, with a ``section`` column (the CSV layout)."""
        parts = [table.assign(section=name) for name, table in self.sections().items()
                 if not table.empty]
        out = pd.concat(parts, ignore_index=True, sort=False)
        first = [c for c in _LONG_COLUMNS if c in out.columns]
        return out[first + [c for c in out.columns if c not in first]]

    def text(self) -> str:
        lines = [f"{self.value} by {self.by}: {self.method} ({self.method_reason})"]
        for row in self.omnibus.itertuples():
            lines.append(f"  {row.test}: statistic {row.statistic:.4g}, p = {row.p:.4g}, "
                         f"{row.effect} = {row.effect_size:.3f} (n = {row.n}, k = {row.k})")
        for row in self.trend.itertuples():
            lines.append(f"  trend ({row.test}): statistic {row.statistic:.4g}, p = {row.p:.4g}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- input
def _numeric_key(labels):
    try:
        return [float(x) for x in labels]
    except ValueError:
        return None


def _rows(index) -> str:
    shown = [str(int(i) + 2) for i in list(index)[:10]]  # file row: header is row 1
    more = f" and {len(index) - 10} more" if len(index) > 10 else ""
    return ", ".join(shown) + more


def _clean(table, value, by, paired_by, order, warnings):
    for option, column in (("--value", value), ("--by", by), ("--paired-by", paired_by)):
        if column is not None and column not in table.columns:
            raise BadInputError(f"{option} column {column!r} is not in the table; its columns "
                                f"are: {', '.join(map(str, table.columns))}.")
    table = table.reset_index(drop=True)
    raw = table[value]
    numbers = pd.to_numeric(raw, errors="coerce")
    text = numbers.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if text.any():
        examples = ", ".join(repr(v) for v in raw[text].head(3))
        raise BadInputError(
            f"value column {value!r} holds text where numbers belong in row(s) {_rows(raw.index[text])} "
            f"(e.g. {examples}); fix those cells or choose a numeric --value column."
        )
    data = pd.DataFrame({"group": table[by], "value": numbers.astype(float)})
    if paired_by is not None:
        data["subject"] = table[paired_by]
    missing = data.isna().any(axis=1) | ~np.isfinite(data["value"].fillna(0))
    if missing.any():
        warnings.append(f"{int(missing.sum())} row(s) without a {value!r}, {by!r}"
                        f"{'' if paired_by is None else f' or {paired_by!r}'} left out "
                        f"(row(s) {_rows(data.index[missing])}).")
        data = data[~missing]
    if data["value"].nunique() < 2:
        raise BadInputError(
            f"value column {value!r} holds {data['value'].nunique()} distinct number(s) in the "
            f"rows compared; there is nothing to compare; choose another --value column."
        )
    data = data.assign(group=data["group"].map(label_text))
    present = list(dict.fromkeys(data["group"]))
    if order is not None:
        order = [label_text(o) for o in order]
        if len(set(order)) != len(order):
            raise BadInputError(f"--order {','.join(order)} names a group twice; give each once.")
        unlisted = [g for g in present if g not in order]
        if unlisted:
            raise BadInputError(
                f"group(s) {', '.join(unlisted)} of column {by!r} are not in --order "
                f"{','.join(order)}; add them to --order or remove those rows."
            )
        absent = [o for o in order if o not in present]
        if absent:
            warnings.append(f"--order group(s) {', '.join(absent)} have no rows in column {by!r}.")
        groups, ordered = [o for o in order if o in present], True
    else:
        keys = _numeric_key(present)
        ordered = keys is not None
        groups = [g for _, g in sorted(zip(keys, present))] if ordered else sorted(present)
    if len(groups) < 2:
        raise BadInputError(
            f"column {by!r} has {len(groups)} group(s) with values ({', '.join(groups) or 'none'}); "
            "a comparison needs at least 2; choose another --by column."
        )
    return data, groups, ordered


def _summary(data, groups) -> pd.DataFrame:
    rows = []
    for rank, g in enumerate(groups):
        v = data.loc[data["group"] == g, "value"].to_numpy()
        q1, q3 = np.percentile(v, [25, 75])
        rows.append({"group": g, "rank": rank, "n": len(v), "mean": v.mean(),
                     "sd": v.std(ddof=1) if len(v) > 1 else np.nan, "median": np.median(v),
                     "q1": q1, "q3": q3, "iqr": q3 - q1})
    return pd.DataFrame(rows, columns=_SUMMARY_COLUMNS)


# --------------------------------------------------------------------------- engine
def compare_groups(table: pd.DataFrame, value: str, by: str, *, paired_by: str | None = None,
                   order=None, method: str = "auto", progress: ProgressFn | None = None,
                   cancel: CancelToken | None = None) -> GroupComparison:
    """Compare ``value`` between the groups of column ``by`` (see the module docstring).

    Parameters
    ----------
    table : DataFrame
        One row per observation (image, cell or sample).
    value, by : str
        The numeric column compared and the grouping column.
    paired_by : str, optional
        The subject measured in every group (e.g. ``donor``): repeated-measures tests.
    order : sequence, optional
        Group order for the trend test and tables (e.g. ``[0, 3, 7, 14, 21]``);
        without it numeric labels are sorted and text labels get no trend test.
    method : str
        A name in :data:`COMPARE_METHODS`.

    Raises
    ------
    BadInputError
        Missing columns, text in ``value`` (naming the rows), fewer than 2 groups,
        a method that does not fit the data.
    """
    warnings: list[str] = []
    steps = 5
    report(progress, 0, steps, "reading groups")
    data, groups, ordered = _clean(table, value, by, paired_by, order, warnings)
    g = Groups(data, groups, paired_by, warnings)
    small = [f"{name} (n = {len(s)})" for name, s in zip(groups, g.samples) if len(s) < MIN_GROUP_N]
    if small:
        warnings.append(f"group(s) {', '.join(small)} have fewer than {MIN_GROUP_N} values; "
                        "their tests and effect sizes are unreliable.")
    tests, reason = COMPARE_METHODS.get(method)(g)
    check_cancelled(cancel, "Comparison cancelled.")
    report(progress, 1, steps, "summary")
    summary = _summary(data, groups)
    report(progress, 2, steps, "omnibus test")
    omnibus = tests.omnibus(g)
    check_cancelled(cancel, "Comparison cancelled.")
    report(progress, 3, steps, "pairwise tests")
    posthoc = tests.posthoc(g)
    report(progress, 4, steps, "trend test")
    trend = pd.DataFrame(columns=_TREND_COLUMNS)
    if not ordered:
        warnings.append(f"groups of {by!r} are not numbers and no --order was given: no trend test.")
    elif (row := tests.trend(g)) is not None:
        trend = pd.DataFrame([row], columns=_TREND_COLUMNS)
    if not np.isfinite(omnibus["p"]):
        warnings.append(f"the {omnibus['test']} test is undefined here (no differences between "
                        "groups within any subject, or no spread); its p is empty.")
    report(progress, 5, steps, "done")
    return GroupComparison(
        value=value, by=by, method=tests.name, method_reason=reason, groups=groups, data=data,
        summary=summary, omnibus=pd.DataFrame([omnibus], columns=_OMNIBUS_COLUMNS),
        posthoc=posthoc, trend=trend, paired_by=paired_by, warnings=warnings,
    )


def write_comparison(result: GroupComparison, path) -> Path:
    """Write every table: one CSV with a ``section`` column, or an XLSX with one sheet each."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        return write_xlsx(path, result.sections())
    return write_table(result.long_table(), path)
