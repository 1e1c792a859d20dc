"""The statistical tests behind :func:`~napari_msc_morph.analysis.compare.compare_groups`.

Plain functions over arrays and DataFrames (scipy only). Pairs are ``a`` -> ``b``
and every estimate and effect size is b - a, so positive means ``b`` is larger.

- independent groups: :func:`welch_anova` + :func:`games_howell`;
  :func:`kruskal` + :func:`dunn` (Holm); :func:`spearman_trend`
- repeated measures: :func:`paired_omnibus` (Friedman / Wilcoxon) +
  :func:`paired_posthoc` (Wilcoxon, Holm); :func:`page_trend`
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import BadInputError

__all__ = ["POSTHOC_COLUMNS", "dunn", "games_howell", "holm", "kruskal", "page_trend", "paired_omnibus",
           "paired_posthoc", "spearman_trend", "welch_anova", "wide_by_subject"]

POSTHOC_COLUMNS = ["group_a", "group_b", "n_a", "n_b", "estimate", "statistic", "df", "p",
                    "p_adjust", "effect", "effect_size", "test", "family"]

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
    return pd.DataFrame(rows, columns=POSTHOC_COLUMNS)


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
    out = pd.DataFrame(rows, columns=POSTHOC_COLUMNS)
    out["p_adjust"] = holm(out["p"])
    return out


def spearman_trend(data, groups) -> dict:
    rank = data["group"].map({g: r for r, g in enumerate(groups)})
    rho, p = stats.spearmanr(rank, data["value"])
    return {"test": "Spearman rho (value vs group order)", "statistic": float(rho),
            "p": float(p), "n": len(data), "order": ",".join(groups),
            "note": "positive rho: the value rises along the order"}


# --------------------------------------------------------------------------- paired
def wide_by_subject(data, groups, warnings, paired_by) -> pd.DataFrame:
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
    out = pd.DataFrame(rows, columns=POSTHOC_COLUMNS)
    out["p_adjust"] = holm(out["p"])
    return out


def page_trend(wide, groups) -> dict:
    res = stats.page_trend_test(wide[groups].to_numpy())
    return {"test": "Page's L (paired, increasing along the order)", "statistic": float(res.statistic),
            "p": float(res.pvalue), "n": len(wide), "order": ",".join(groups),
            "note": "one-sided: small p means the value rises along the order"}
