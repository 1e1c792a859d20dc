"""Group comparisons at the experimental unit: :func:`compare_groups`.

What each method computes and why: docs/results-and-correlation.md ("Group
comparisons"). Pairs are ``group_a`` -> ``group_b`` and every estimate is b - a.
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
from .aggregate import row_list
from .group_tests import ANOVA, FRIEDMAN, KRUSKAL, MIXED, WELCH, Groups, GroupTests, holm
from .mixed import few_groups_note
from .qpcr import label_text
from .units import (
    NO_UNIT,
    choose_unit,
    copied_rows_warnings,
    finer_unit,
    shared_units_warnings,
    spanning_groups,
    unit_means,
)

__all__ = ["COMPARE_METHODS", "NO_UNIT", "GroupComparison", "compare_groups", "holm",
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
    help="Welch's ANOVA + Games-Howell when every group has n >= 3 units and passes "
         "Shapiro-Wilk (p >= 0.05), otherwise Kruskal-Wallis + Dunn/Holm; with --control, "
         "one-way ANOVA + Dunnett (or Kruskal-Wallis + Dunn/Holm vs the control); with "
         "--paired-by, Friedman",
)
def _auto(g: Groups) -> tuple[GroupTests, str]:
    if g.paired_by is not None:
        return _friedman(g)
    if _flat(g) or any(len(s) < MIN_GROUP_N for s in g.samples):
        return KRUSKAL, f"auto: a group has n < {MIN_GROUP_N} units or no spread"
    non_normal = [name for name, s in zip(g.groups, g.samples)
                  if stats.shapiro(s).pvalue < NORMALITY_ALPHA]
    if non_normal:
        return KRUSKAL, (f"auto: Shapiro-Wilk p < {NORMALITY_ALPHA} in group(s) "
                         f"{', '.join(non_normal)}")
    if g.control is not None:
        return ANOVA, (f"auto: every group passes Shapiro-Wilk (p >= {NORMALITY_ALPHA}); "
                       f"each group against control {g.control} (Dunnett)")
    return WELCH, f"auto: every group passes Shapiro-Wilk (p >= {NORMALITY_ALPHA})"


def _independent(tests: GroupTests, parametric: bool) -> Callable[[Groups], tuple]:
    """A method for independent groups; a means-based one needs some spread in each group."""

    def check(g: Groups) -> tuple[GroupTests, str]:
        _unpaired(tests.name, g)
        flat = _flat(g) if parametric else []
        if flat:
            raise BadInputError(
                f"--method {tests.name} needs at least 2 different values per group; group(s) "
                f"{', '.join(flat)} have fewer; use --method kruskal."
            )
        return tests, "chosen"

    return check


COMPARE_METHODS.add("welch", _independent(WELCH, parametric=True),
                    help="Welch's ANOVA (unequal variances) + Games-Howell; effect sizes eta² "
                         "and Hedges g")
COMPARE_METHODS.add(
    "anova", _independent(ANOVA, parametric=True),
    help="one-way ANOVA (equal variances) + Tukey HSD over every pair, or with --control "
         "Dunnett's test of every group against the control; eta², Hedges g")
COMPARE_METHODS.add("kruskal", _independent(KRUSKAL, parametric=False),
                    help="Kruskal-Wallis + Dunn's test with Holm; effect sizes epsilon² and "
                         "rank-biserial r")


@COMPARE_METHODS.register(
    "friedman", help="repeated measures (needs --paired-by): Friedman (Wilcoxon signed-rank "
                     "for 2 groups) + pairwise Wilcoxon with Holm; Kendall's W")
def _friedman(g: Groups) -> tuple[GroupTests, str]:
    if g.paired_by is None:
        raise BadInputError("--method friedman needs --paired-by COLUMN (e.g. donor) naming "
                            "the subject measured in every group.")
    return FRIEDMAN, f"repeated measures by {g.paired_by}"


@COMPARE_METHODS.register(
    "mixed", help="linear mixed model value ~ group + (1|unit) over every row (statsmodels "
                  "MixedLM, REML, best valid fit of every optimiser): Wald F and pairwise Wald t "
                  "(containment df, Holm), slope over the order; needs several rows per unit")
def _mixed(g: Groups) -> tuple[GroupTests, str]:
    if g.rows["unit"].nunique() == len(g.rows):
        raise BadInputError(
            "--mixed needs several rows per unit (cells or images of one donor or sample), but "
            "every row is its own unit here; give --unit COLUMN (e.g. donor) or choose another "
            "method.")
    if g.rows["unit"].nunique() < 3:
        raise BadInputError(f"--mixed needs at least 3 units (donors, samples) to estimate "
                            f"their variance; there are {g.rows['unit'].nunique()}: compare more "
                            "units, or test rows with --unit none knowingly.")
    return MIXED, "chosen"


_SUMMARY_COLUMNS = ["group", "rank", "n", "n_rows", "mean", "sd", "median", "q1", "q3", "iqr"]
_OMNIBUS_COLUMNS = ["test", "statistic", "df1", "df2", "p", "effect", "effect_size", "n", "unit",
                    "n_rows", "k", "note"]
_TREND_COLUMNS = ["test", "statistic", "p", "n", "order", "note"]
_LONG_COLUMNS = ["section", "test", "group", "rank", "group_a", "group_b", "n", "unit", "n_rows",
                 "n_a", "n_b", "k",
                 "mean", "sd", "median", "q1", "q3", "iqr", "estimate", "statistic", "df", "df1",
                 "df2", "p", "p_adjust", "effect", "effect_size", "family", "order", "note"]


@dataclass
class GroupComparison:
    """The result of :func:`compare_groups`; every table is a DataFrame."""

    value: str
    by: str
    method: str  # the method used (a name of COMPARE_METHODS other than "auto")
    method_reason: str
    groups: list
    data: pd.DataFrame  # the rows: group, value, unit (and subject when paired)
    summary: pd.DataFrame
    omnibus: pd.DataFrame
    posthoc: pd.DataFrame
    trend: pd.DataFrame
    paired_by: str | None = None
    warnings: list[str] = field(default_factory=list)
    unit: str | None = None  # the experimental unit's column (None: every row is one)
    unit_reason: str = ""
    units: pd.DataFrame | None = None  # one value per unit: group, unit, value, n_rows
    control: str | None = None

    @property
    def unit_name(self) -> str:
        """What n counts, e.g. ``"donors"`` or ``"rows"``."""
        return "rows" if self.unit is None else f"{self.unit}s"

    def n_text(self, n) -> str:
        """``n = 6 donors (1800 rows)``, or ``n = 24 rows``."""
        rows = len(self.data)
        extra = f" ({rows} rows)" if self.unit is not None and rows != n else ""
        return f"n = {n} {self.unit_name}{extra}"

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
        lines = [f"{self.value} by {self.by}: {self.method} ({self.method_reason}); unit: "
                 f"{self.unit or 'row'} ({self.unit_reason})"]
        for row in self.omnibus.itertuples():
            lines.append(f"  {row.test}: statistic {row.statistic:.4g}, p = {row.p:.4g}, "
                         f"{row.effect} = {row.effect_size:.3f} ({self.n_text(row.n)}, "
                         f"k = {row.k})")
        for row in self.trend.itertuples():
            lines.append(f"  trend ({row.test}): statistic {row.statistic:.4g}, p = {row.p:.4g}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- input
def _clean(table, value, by, paired_by, order, warnings, unit=None):
    raw = table[value]
    numbers = pd.to_numeric(raw, errors="coerce")
    text = numbers.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if text.any():
        examples = ", ".join(repr(v) for v in raw[text].head(3))
        rows = row_list(raw.index[text] + 2)  # file rows: the header is row 1
        raise BadInputError(
            f"value column {value!r} holds text where numbers belong in row(s) {rows} "
            f"(e.g. {examples}); fix those cells or choose a numeric --value column."
        )
    data = pd.DataFrame({"group": table[by], "value": numbers.astype(float)})
    if paired_by is not None:
        data["subject"] = table[paired_by]
    data["unit"] = table.index if unit is None else table[unit]
    missing = data.isna().any(axis=1) | ~np.isfinite(data["value"].fillna(0))
    if missing.any():
        keys = ", ".join(repr(c) for c in dict.fromkeys(filter(None, (value, by, paired_by, unit))))
        warnings.append(f"{int(missing.sum())} row(s) without a value in {keys} left out "
                        f"(row(s) {row_list(data.index[missing] + 2)}).")
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
        try:  # numeric labels (days) in numeric order; text labels sorted, with no trend test
            groups, ordered = [g for _, g in sorted((float(g), g) for g in present)], True
        except ValueError:
            groups, ordered = sorted(present), False
    if len(groups) < 2:
        raise BadInputError(
            f"column {by!r} has {len(groups)} group(s) with values ({', '.join(groups) or 'none'}); "
            "a comparison needs at least 2; choose another --by column."
        )
    return data, groups, ordered


def _summary(units, groups) -> pd.DataFrame:
    grouped = units.groupby("group", sort=False)
    out = grouped["value"].agg(n="size", mean="mean", sd="std", median="median",
                               q1=lambda v: v.quantile(0.25), q3=lambda v: v.quantile(0.75))
    out["n_rows"] = grouped["n_rows"].sum().astype(int)
    out = out.reindex(groups).rename_axis("group").reset_index()
    return out.assign(rank=range(len(groups)), iqr=out["q3"] - out["q1"])[_SUMMARY_COLUMNS]


# --------------------------------------------------------------------------- engine
def compare_groups(table: pd.DataFrame, value: str, by: str, *, paired_by: str | None = None,
                   order=None, method: str = "auto", unit: str | None = None,
                   control=None, progress: ProgressFn | None = None,
                   cancel: CancelToken | None = None) -> GroupComparison:
    """Compare ``value`` between the groups of column ``by``.

    Parameters
    ----------
    table : DataFrame
        One row per observation (image, cell or sample).
    value, by : str
        The numeric column compared and the grouping column.
    paired_by : str, optional
        The subject measured in every group (e.g. ``donor``): repeated-measures tests.
    order : sequence, optional
        Group order (e.g. ``[0, 3, 7, 14, 21]``); without it numeric labels are sorted
        and text labels get no trend test.
    method : str
        A name in :data:`COMPARE_METHODS`.
    unit : str, optional
        The experimental unit's column, averaged to one value per unit; None chooses
        (:func:`~.units.choose_unit`), ``"none"`` tests rows.
    control : optional
        A group every other group is compared with, instead of every pair.
    """
    warnings: list[str] = []
    steps = 5
    report(progress, 0, steps, "reading groups")
    _check_columns(table, value, by, paired_by)
    table = table.reset_index(drop=True)  # the index gives each row's file row
    mixed = method == "mixed"
    choice = choose_unit(table, value, by, unit, paired_by, mixed=mixed)
    warnings += copied_rows_warnings(table)
    data, groups, ordered = _clean(table, value, by, paired_by, order, warnings, choice.column)
    control = _control(control, groups, by)
    units = _units(data, paired_by, choice.column, by, mixed)
    if (choice.column is None or choice.reason.startswith("default")) and not (paired_by or mixed):
        warnings += shared_units_warnings(table, by, choice.column)
    g = Groups(units, groups, paired_by, warnings, rows=_model_rows(table, data, by, choice.column,
                                                                    mixed, warnings),
               control=control)
    small = [f"{name} (n = {len(s)})" for name, s in zip(groups, g.samples) if len(s) < MIN_GROUP_N]
    if small and paired_by is None:
        warnings.append(f"group(s) {', '.join(small)} have fewer than {MIN_GROUP_N} "
                        f"{'units' if choice.column is None else choice.column + 's'}; their "
                        "tests and effect sizes are unreliable.")
    tests, reason = COMPARE_METHODS.get(method)(g)
    if mixed:
        note = few_groups_note(int(data["unit"].nunique()), f"{choice.column}s")
        warnings += [note + "."] if note else []
    check_cancelled(cancel, "Comparison cancelled.")
    report(progress, 1, steps, "summary")
    summary = _summary(units, groups)
    report(progress, 2, steps, "omnibus test")
    omnibus = {**tests.omnibus(g), "unit": choice.column or "row", "n_rows": len(data)}
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
        why = (omnibus["note"] if mixed else
               "no differences between groups within any subject, or no spread")
        warnings.append(f"the {omnibus['test']} test is undefined here ({why}); its p is empty.")
    report(progress, 5, steps, "done")
    return GroupComparison(
        value=value, by=by, method=tests.name, method_reason=reason, groups=groups, data=data,
        summary=summary, omnibus=pd.DataFrame([omnibus], columns=_OMNIBUS_COLUMNS),
        posthoc=posthoc, trend=trend, paired_by=paired_by, warnings=warnings,
        unit=choice.column, unit_reason=choice.reason, units=units, control=control,
    )


def _model_rows(table, data, by, unit, mixed, warnings) -> pd.DataFrame:
    """The mixed model's rows: averaged per finer unit (a donor's sample) when there is one."""
    finer = finer_unit(table, by, unit) if mixed and unit is not None else None
    if finer is None:
        return data
    keyed = data.assign(finer=table.loc[data.index, finer].to_numpy())
    warnings.append(f"the mixed model's rows are {finer} means ({keyed['finer'].nunique()} of "
                    f"them, from {len(data)} rows): rows of one {finer} are not independent "
                    f"given the {unit}.")
    return unit_means(keyed, ["unit", "finer", "group"])


def _check_columns(table, value, by, paired_by) -> None:
    for option, column in (("--value", value), ("--by", by), ("--paired-by", paired_by)):
        if column is not None and column not in table.columns:
            raise BadInputError(f"{option} column {column!r} is not in the table; its columns "
                                f"are: {', '.join(map(str, table.columns))}.")


def _control(control, groups, by):
    if control is None:
        return None
    control = label_text(control)
    if control not in groups:
        raise BadInputError(f"--control {control!r} is not a group of column {by!r}; its groups "
                            f"are: {', '.join(groups)}.")
    return control


def _units(data, paired_by, unit, by, mixed) -> pd.DataFrame:
    """One value per unit (per subject and group when paired): what the tests compare."""
    if paired_by is not None:
        keys = ["subject", "group"] if unit in (None, paired_by) else ["subject", "unit", "group"]
        units = unit_means(data, keys)
        return units.assign(unit=units["subject"]) if "unit" not in units else units
    units = unit_means(data, ["unit", "group"])
    spanning = spanning_groups(units)
    if len(spanning) and unit is not None and not mixed:
        name, where = spanning.index[0], ", ".join(map(str, spanning.iloc[0]))
        raise BadInputError(
            f"--unit {unit}: {len(spanning)} {unit}(s) are in several groups of {by!r} (e.g. "
            f"{name} in {where}), so the groups are not independent; use --paired-by {unit} "
            f"(repeated measures) or --mixed --unit {unit}, or a unit within the groups "
            f"(e.g. sample_id).")
    return units


def write_comparison(result: GroupComparison, path) -> Path:
    """Write every table: one CSV with a ``section`` column, or an XLSX with one sheet each."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        return write_xlsx(path, result.sections())
    return write_table(result.long_table(), path)
