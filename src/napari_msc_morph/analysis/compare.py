"""Group comparisons: does a value differ between groups, and does it rise with their order?

One call, :func:`compare_groups`, answers "does OsScore rise with induction
day" and "are induced cells larger than controls" from the plugin's own tables
(scipy only; no pingouin needed). It returns a :class:`GroupComparison` whose
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

from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import BadInputError
from ..io import atomic_path, write_table
from ..jobs import CancelToken, ProgressFn, check_cancelled, report
from ..registry import Registry

__all__ = ["COMPARE_METHODS", "GroupComparison", "compare_groups", "holm", "method_choices",
           "write_comparison"]

#: Omnibus methods; ``msc-morph compare --method`` choices come from here.
COMPARE_METHODS: Registry[str] = Registry("comparison method")
COMPARE_METHODS.add(
    "auto", "auto",
    help="Welch's ANOVA + Games-Howell when every group has n >= 3 and passes Shapiro-Wilk "
         "(p >= 0.05), otherwise Kruskal-Wallis + Dunn/Holm; with --paired-by, Friedman",
)
COMPARE_METHODS.add("welch", "welch", help="Welch's ANOVA (unequal variances) + Games-Howell; "
                                           "effect sizes eta² and Hedges g")
COMPARE_METHODS.add("kruskal", "kruskal", help="Kruskal-Wallis + Dunn's test with Holm; "
                                               "effect sizes epsilon² and rank-biserial r")
COMPARE_METHODS.add("friedman", "friedman",
                    help="repeated measures (needs --paired-by): Friedman (Wilcoxon signed-rank "
                         "for 2 groups) + pairwise Wilcoxon with Holm; Kendall's W")

NORMALITY_ALPHA = 0.05
MIN_GROUP_N = 3

_SUMMARY_COLUMNS = ["group", "rank", "n", "mean", "sd", "median", "q1", "q3", "iqr"]
_OMNIBUS_COLUMNS = ["test", "statistic", "df1", "df2", "p", "effect", "effect_size", "n", "k",
                    "note"]
_POSTHOC_COLUMNS = ["group_a", "group_b", "n_a", "n_b", "estimate", "statistic", "df", "p",
                    "p_adjust", "effect", "effect_size", "test", "family"]
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
def _label(value) -> str:
    """A group label as text: 7.0 and 7 and "7" are the same group."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _numeric_key(labels):
    try:
        return [float(x) for x in labels]
    except ValueError:
        return None


def _require_columns(table: pd.DataFrame, columns: dict[str, str]) -> None:
    for option, column in columns.items():
        if column not in table.columns:
            raise BadInputError(
                f"{option} column {column!r} is not in the table; its columns are: "
                f"{', '.join(map(str, table.columns))}."
            )


def _rows(index) -> str:
    shown = [str(int(i) + 2) for i in list(index)[:10]]  # file row: header is row 1
    more = f" and {len(index) - 10} more" if len(index) > 10 else ""
    return ", ".join(shown) + more


def _clean(table, value, by, paired_by, order, warnings):
    columns = {"--value": value, "--by": by}
    if paired_by is not None:
        columns["--paired-by"] = paired_by
    _require_columns(table, columns)
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
    data = data.assign(group=data["group"].map(_label))
    present = list(dict.fromkeys(data["group"]))
    if order is not None:
        order = [_label(o) for o in order]
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


# --------------------------------------------------------------------------- helpers
def holm(p) -> np.ndarray:
    """Holm's step-down adjusted p-values (family: all values given)."""
    p = np.asarray(p, dtype=float)
    m = len(p)
    if m == 0:
        return p
    sorted_idx = np.argsort(p, kind="stable")
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[sorted_idx])
    out = np.empty(m)
    out[sorted_idx] = np.minimum(adjusted, 1.0)
    return out


def _summary(data, groups) -> pd.DataFrame:
    rows = []
    for rank, g in enumerate(groups):
        v = data.loc[data["group"] == g, "value"].to_numpy()
        q1, q3 = np.percentile(v, [25, 75])
        rows.append({"group": g, "rank": rank, "n": len(v), "mean": v.mean(),
                     "sd": v.std(ddof=1) if len(v) > 1 else np.nan, "median": np.median(v),
                     "q1": q1, "q3": q3, "iqr": q3 - q1})
    return pd.DataFrame(rows, columns=_SUMMARY_COLUMNS)


def _hedges_g(a, b) -> float:
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        return np.nan
    pooled = np.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2))
    if pooled == 0:
        return np.nan
    return (b.mean() - a.mean()) / pooled * (1 - 3 / (4 * (na + nb) - 9))


def _rank_biserial(a, b) -> float:
    """Positive when b tends to be larger than a."""
    u_b = stats.mannwhitneyu(b, a, alternative="two-sided").statistic
    return 2 * u_b / (len(a) * len(b)) - 1


def _family(k: int, how: str) -> str:
    pairs = k * (k - 1) // 2
    return f"all {pairs} pair{'s' if pairs > 1 else ''} of {k} groups ({how})"


def _pairs(groups):
    return list(combinations(range(len(groups)), 2))


# --------------------------------------------------------------------------- unpaired
def welch_anova(samples) -> dict:
    """Welch's F test for equal means with unequal variances (Welch 1951)."""
    n = np.array([len(s) for s in samples], float)
    m = np.array([np.mean(s) for s in samples])
    v = np.array([np.var(s, ddof=1) for s in samples])
    k = len(samples)
    w = n / v
    mw = np.sum(w * m) / w.sum()
    a = np.sum(w * (m - mw) ** 2) / (k - 1)
    tmp = np.sum((1 - w / w.sum()) ** 2 / (n - 1)) / (k ** 2 - 1)
    f = a / (1 + 2 * (k - 2) * tmp)
    df2 = 1 / (3 * tmp)
    allv = np.concatenate(samples)
    ss_between = np.sum(n * (m - allv.mean()) ** 2)
    ss_total = np.sum((allv - allv.mean()) ** 2)
    return {"test": "Welch ANOVA", "statistic": f, "df1": k - 1.0, "df2": df2,
            "p": float(stats.f.sf(f, k - 1, df2)), "effect": "eta2",
            "effect_size": ss_between / ss_total if ss_total > 0 else np.nan}


def games_howell(samples, groups) -> pd.DataFrame:
    k = len(samples)
    rows = []
    for i, j in _pairs(groups):
        a, b = np.asarray(samples[i]), np.asarray(samples[j])
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        t = (b.mean() - a.mean()) / np.sqrt(va + vb)
        df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
        p = float(stats.studentized_range.sf(abs(t) * np.sqrt(2), k, df))
        rows.append({"group_a": groups[i], "group_b": groups[j], "n_a": len(a), "n_b": len(b),
                     "estimate": b.mean() - a.mean(), "statistic": t, "df": df, "p": p,
                     "p_adjust": min(p, 1.0), "effect": "hedges_g",
                     "effect_size": _hedges_g(a, b), "test": "Games-Howell",
                     "family": _family(k, "studentized range")})
    return pd.DataFrame(rows, columns=_POSTHOC_COLUMNS)


def kruskal(samples) -> dict:
    h, p = stats.kruskal(*samples)
    n = sum(len(s) for s in samples)
    return {"test": "Kruskal-Wallis", "statistic": h, "df1": len(samples) - 1.0, "df2": np.nan,
            "p": float(p), "effect": "epsilon2", "effect_size": h / (n - 1)}


def dunn(samples, groups) -> pd.DataFrame:
    """Dunn's (1964) z test on mean ranks, tie-corrected, Holm-adjusted over all pairs."""
    allv = np.concatenate(samples)
    ranks = stats.rankdata(allv)
    n_total = len(allv)
    _, ties = np.unique(allv, return_counts=True)
    tie_term = np.sum(ties ** 3 - ties) / (12 * (n_total - 1))
    bounds = np.cumsum([0, *[len(s) for s in samples]])
    mean_rank = [ranks[bounds[i]:bounds[i + 1]].mean() for i in range(len(samples))]
    rows = []
    for i, j in _pairs(groups):
        a, b = np.asarray(samples[i]), np.asarray(samples[j])
        se = np.sqrt((n_total * (n_total + 1) / 12 - tie_term) * (1 / len(a) + 1 / len(b)))
        z = (mean_rank[j] - mean_rank[i]) / se
        rows.append({"group_a": groups[i], "group_b": groups[j], "n_a": len(a), "n_b": len(b),
                     "estimate": np.median(b) - np.median(a), "statistic": z, "df": np.nan,
                     "p": float(2 * stats.norm.sf(abs(z))), "effect": "rank_biserial",
                     "effect_size": _rank_biserial(a, b), "test": "Dunn",
                     "family": _family(len(groups), "Holm")})
    out = pd.DataFrame(rows, columns=_POSTHOC_COLUMNS)
    out["p_adjust"] = holm(out["p"])
    return out


def spearman_trend(data, groups) -> dict:
    rank = data["group"].map({g: r for r, g in enumerate(groups)})
    rho, p = stats.spearmanr(rank, data["value"])
    return {"test": "Spearman rho (value vs group order)", "statistic": float(rho),
            "p": float(p), "n": len(data), "order": ",".join(groups),
            "note": "positive rho: the value rises along the order"}


# --------------------------------------------------------------------------- paired
def _wide(data, groups, warnings, paired_by) -> pd.DataFrame:
    counts = data.groupby(["subject", "group"]).size()
    if (counts > 1).any():
        warnings.append(f"several rows per {paired_by} and group: their mean is compared "
                        f"({int((counts > 1).sum())} {paired_by}-group cell(s)).")
    wide = data.groupby(["subject", "group"])["value"].mean().unstack("group")
    wide = wide.reindex(columns=groups)
    incomplete = wide.index[wide.isna().any(axis=1)]
    if len(incomplete):
        warnings.append(f"{paired_by} {', '.join(map(str, incomplete))} lack(s) a value in some "
                        f"group and is left out of the paired tests.")
    wide = wide.dropna()
    if len(wide) < 2:
        raise BadInputError(
            f"--paired-by column {paired_by!r}: only {len(wide)} {paired_by}(s) have a value in "
            f"every group of the comparison; paired tests need at least 2 (drop --paired-by to "
            "compare the groups as independent)."
        )
    return wide


def paired_omnibus(wide) -> dict:
    n, k = wide.shape
    if k == 2:
        res = stats.wilcoxon(wide.iloc[:, 1], wide.iloc[:, 0])
        return {"test": "Wilcoxon signed-rank", "statistic": float(res.statistic), "df1": np.nan,
                "df2": np.nan, "p": float(res.pvalue), "effect": "matched_rank_biserial",
                "effect_size": _matched_rank_biserial(wide.iloc[:, 0], wide.iloc[:, 1])}
    chi2, p = stats.friedmanchisquare(*[wide[c] for c in wide.columns])
    return {"test": "Friedman", "statistic": float(chi2), "df1": k - 1.0, "df2": np.nan,
            "p": float(p), "effect": "kendall_w", "effect_size": chi2 / (n * (k - 1))}


def _matched_rank_biserial(a, b) -> float:
    d = np.asarray(b, float) - np.asarray(a, float)
    d = d[d != 0]
    if len(d) == 0:
        return 0.0
    r = stats.rankdata(np.abs(d))
    return float((r[d > 0].sum() - r[d < 0].sum()) / r.sum())


def paired_posthoc(wide, groups) -> pd.DataFrame:
    rows = []
    for i, j in _pairs(groups):
        a, b = wide[groups[i]], wide[groups[j]]
        res = stats.wilcoxon(b, a)
        rows.append({"group_a": groups[i], "group_b": groups[j], "n_a": len(a), "n_b": len(b),
                     "estimate": float(np.median(b - a)), "statistic": float(res.statistic),
                     "df": np.nan, "p": float(res.pvalue), "effect": "matched_rank_biserial",
                     "effect_size": _matched_rank_biserial(a, b),
                     "test": "Wilcoxon signed-rank", "family": _family(len(groups), "Holm")})
    out = pd.DataFrame(rows, columns=_POSTHOC_COLUMNS)
    out["p_adjust"] = holm(out["p"])
    return out


def page_trend(wide, groups) -> dict:
    res = stats.page_trend_test(wide[groups].to_numpy())
    return {"test": "Page's L (paired, increasing along the order)", "statistic": float(res.statistic),
            "p": float(res.pvalue), "n": len(wide), "order": ",".join(groups),
            "note": "one-sided: small p means the value rises along the order"}


# --------------------------------------------------------------------------- engine
def _choose(method, samples, groups, paired_by, warnings) -> tuple[str, str]:
    COMPARE_METHODS.entry(method)  # unknown names: BadInputError listing the choices
    if paired_by is not None:
        if method in ("welch", "kruskal"):
            raise BadInputError(
                f"--method {method} compares independent groups, but --paired-by {paired_by} was "
                "given; use --method friedman (or auto) for repeated measures, or drop --paired-by."
            )
        return "friedman", f"repeated measures by {paired_by}"
    if method == "friedman":
        raise BadInputError("--method friedman needs --paired-by COLUMN (e.g. donor) naming "
                            "the subject measured in every group.")
    flat = [g for g, s in zip(groups, samples) if len(s) < 2 or np.var(s) == 0]
    if method == "welch":
        if flat:
            raise BadInputError(
                f"--method welch needs at least 2 different values per group; group(s) "
                f"{', '.join(flat)} have fewer; use --method kruskal."
            )
        return "welch", "chosen"
    if method == "kruskal":
        return "kruskal", "chosen"
    if flat or any(len(s) < MIN_GROUP_N for s in samples):
        return "kruskal", f"auto: a group has n < {MIN_GROUP_N} or no spread"
    non_normal = [g for g, s in zip(groups, samples) if stats.shapiro(s).pvalue < NORMALITY_ALPHA]
    if non_normal:
        return "kruskal", f"auto: Shapiro-Wilk p < {NORMALITY_ALPHA} in group(s) {', '.join(non_normal)}"
    return "welch", f"auto: every group passes Shapiro-Wilk (p >= {NORMALITY_ALPHA})"


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
    samples = [data.loc[data["group"] == g, "value"].to_numpy() for g in groups]
    small = [f"{g} (n = {len(s)})" for g, s in zip(groups, samples) if len(s) < MIN_GROUP_N]
    if small:
        warnings.append(f"group(s) {', '.join(small)} have fewer than {MIN_GROUP_N} values; "
                        "their tests and effect sizes are unreliable.")
    used, reason = _choose(method, samples, groups, paired_by, warnings)
    check_cancelled(cancel, "Comparison cancelled.")
    report(progress, 1, steps, "summary")
    summary = _summary(data, groups)
    report(progress, 2, steps, "omnibus test")
    if used == "friedman":
        wide = _wide(data, groups, warnings, paired_by)
        omnibus = {**paired_omnibus(wide), "n": len(wide), "k": len(groups),
                   "note": f"n = {paired_by}s with a value in every group"}
    elif used == "welch":
        omnibus = {**welch_anova(samples), "n": len(data), "k": len(groups), "note": ""}
    else:
        omnibus = {**kruskal(samples), "n": len(data), "k": len(groups), "note": ""}
    check_cancelled(cancel, "Comparison cancelled.")
    report(progress, 3, steps, "pairwise tests")
    if used == "friedman":
        posthoc = paired_posthoc(wide, groups)
    elif used == "welch":
        posthoc = games_howell(samples, groups)
    else:
        posthoc = dunn(samples, groups)
    report(progress, 4, steps, "trend test")
    trend = pd.DataFrame(columns=_TREND_COLUMNS)
    if not ordered:
        warnings.append(f"groups of {by!r} are not numbers and no --order was given: no trend test.")
    elif used == "friedman" and len(groups) >= 3:
        trend = pd.DataFrame([page_trend(wide, groups)], columns=_TREND_COLUMNS)
    elif used != "friedman":
        trend = pd.DataFrame([spearman_trend(data, groups)], columns=_TREND_COLUMNS)
    report(progress, 5, steps, "done")
    return GroupComparison(
        value=value, by=by, method=used, method_reason=reason, groups=groups, data=data,
        summary=summary, omnibus=pd.DataFrame([omnibus], columns=_OMNIBUS_COLUMNS),
        posthoc=posthoc, trend=trend, paired_by=paired_by, warnings=warnings,
    )


def write_comparison(result: GroupComparison, path) -> Path:
    """Write every table: one CSV with a ``section`` column, or an XLSX with one sheet each."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        with atomic_path(path) as tmp, pd.ExcelWriter(tmp) as writer:
            for name, table in result.sections().items():
                table.to_excel(writer, sheet_name=name, index=False)
        return path
    return write_table(result.long_table(), path)
