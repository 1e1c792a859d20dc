"""The statistical tests behind :func:`~napari_msc_morph.analysis.compare.compare_groups`.

The libraries compute what they provide (pingouin, scipy, statsmodels via
:mod:`.mixed`); Dunn's test, the rank-biserial effect sizes and :func:`holm` are
owned code. Each method is a :class:`GroupTests` over a :class:`Groups`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import BadInputError

POSTHOC_COLUMNS = ["group_a", "group_b", "n_a", "n_b", "estimate", "statistic", "df", "p",
                    "p_adjust", "effect", "effect_size", "test", "family"]


@dataclass
class Groups:
    """What is compared, in group order: ``data`` one value per unit, ``rows`` the rows
    (for the mixed model), ``control`` the group the others are compared with (None: all pairs)."""

    data: pd.DataFrame
    groups: list
    paired_by: str | None
    warnings: list[str]
    rows: pd.DataFrame | None = None
    control: str | None = None

    @cached_property
    def mixed(self):
        """The mixed model's fit, the value's SD and the group effects' names."""
        from .mixed import group_model

        return group_model(self.rows, self.groups)

    @cached_property
    def samples(self) -> list[np.ndarray]:
        return [self.data.loc[self.data["group"] == g, "value"].to_numpy() for g in self.groups]

    @cached_property
    def wide(self) -> pd.DataFrame:
        """One row per subject with a value in every group (paired tests only)."""
        paired_by = self.paired_by
        counts = self.data.groupby(["subject", "group"]).size()
        if (counts > 1).any():
            self.warnings.append(f"several rows per {paired_by} and group: their mean is "
                                 f"compared ({int((counts > 1).sum())} {paired_by}-group cell(s)).")
        wide = self.data.groupby(["subject", "group"])["value"].mean().unstack("group")
        wide = wide.reindex(columns=self.groups)
        incomplete = wide.index[wide.isna().any(axis=1)]
        if len(incomplete):
            self.warnings.append(f"{paired_by} {', '.join(map(str, incomplete))} lack(s) a value "
                                 "in some group and is left out of the paired tests.")
        wide = wide.dropna()
        if len(wide) < 2:
            raise BadInputError(
                f"--paired-by column {paired_by!r}: only {len(wide)} {paired_by}(s) have a value "
                f"in every group of the comparison; paired tests need at least 2 (drop --paired-by "
                "to compare the groups as independent)."
            )
        return wide


@dataclass(frozen=True)
class GroupTests:
    """A comparison method: omnibus row, pairwise table and trend row (None: no trend test)."""

    name: str
    omnibus: Callable[[Groups], dict]
    posthoc: Callable[[Groups], pd.DataFrame]
    trend: Callable[[Groups], dict | None]


# --------------------------------------------------------------------------- helpers
def holm(p) -> np.ndarray:
    """Holm's step-down adjusted p-values over all values given.

    Owned code, equal to ``statsmodels.stats.multitest.multipletests(p, method="holm")``
    (the test checks it) but without its ``gc.collect()`` on every call (0.1-0.2 s,
    more than the whole Kruskal-Wallis comparison).
    """
    p = np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(len(p))
    adjusted[order] = np.minimum(np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order]), 1.0)
    return adjusted


def _long(samples) -> pd.DataFrame:
    """Samples as one table; ``g`` is the group's position, so pingouin keeps our group order."""
    return pd.DataFrame({"g": np.repeat(np.arange(len(samples)), [len(s) for s in samples]),
                         "value": np.concatenate(samples).astype(float)})


def _rank_biserial(a, b) -> float:
    """Positive when b tends to be larger than a."""
    u_b = stats.mannwhitneyu(b, a, alternative="two-sided").statistic
    return 2 * u_b / (len(a) * len(b)) - 1


def _family(k: int, how: str) -> str:
    pairs = k * (k - 1) // 2
    return f"all {pairs} pair{'s' if pairs > 1 else ''} of {k} groups ({how})"


def _control_family(k: int, control, how: str) -> str:
    return f"{k - 1} group{'s' if k > 2 else ''} vs control {control} ({how})"


def _pairs(groups, control=None) -> list[tuple[int, int]]:
    """Every pair (i < j), or (control, other) for each other group."""
    if control is None:
        return list(combinations(range(len(groups)), 2))
    c = groups.index(control)
    return [(c, j) for j in range(len(groups)) if j != c]


def _pairwise(groups, test: str, effect: str, pair: Callable[[int, int], dict],
              control=None, adjusted_by: str | None = None) -> pd.DataFrame:
    """One row per pair of groups (or per group vs ``control``), ``pair(i, j)`` giving its
    numbers; Holm over the pairs compared, unless ``adjusted_by`` names the test's own
    adjustment (its p is adjusted already)."""
    how = adjusted_by or "Holm"
    family = (_family(len(groups), how) if control is None
              else _control_family(len(groups), control, how))
    rows = [{"group_a": groups[i], "group_b": groups[j], "df": np.nan, "effect": effect,
             "test": test, "family": family, **pair(i, j)} for i, j in _pairs(groups, control)]
    out = pd.DataFrame(rows, columns=POSTHOC_COLUMNS)
    out["p_adjust"] = out["p"] if adjusted_by else holm(out["p"])
    return out


def versus_control(table: pd.DataFrame, control) -> pd.DataFrame:
    """The rows of an all-pairs table that involve ``control``, with the control as ``a``.

    For Games-Howell, whose p is adjusted over all pairs by the studentized range:
    kept as it is (conservative for the smaller family), and the family says so.
    """
    if control is None:
        return table
    out = table[(table["group_a"] == control) | (table["group_b"] == control)].copy()
    flip = out["group_b"] == control
    out.loc[flip, ["group_a", "group_b"]] = out.loc[flip, ["group_b", "group_a"]].to_numpy()
    out.loc[flip, ["n_a", "n_b"]] = out.loc[flip, ["n_b", "n_a"]].to_numpy()
    for column in ("estimate", "statistic", "effect_size"):
        out.loc[flip, column] = -out.loc[flip, column]
    out["family"] = out["family"] + f"; the {len(out)} pairs with control {control} shown"
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- unpaired
def welch_anova(samples) -> dict:
    """Welch's F test for equal means with unequal variances (``pingouin.welch_anova``)."""
    import pingouin  # 0.6 s of imports (matplotlib, seaborn): only when Welch runs

    row = pingouin.welch_anova(_long(samples), dv="value", between="g").iloc[0]
    return {"test": "Welch ANOVA", "statistic": float(row["F"]), "df1": float(row["ddof1"]),
            "df2": float(row["ddof2"]), "p": float(row["p_unc"]), "effect": "eta2",
            "effect_size": float(row["np2"])}


def games_howell(samples, groups) -> pd.DataFrame:
    """Games-Howell over all pairs with Hedges' g (``pingouin.pairwise_gameshowell``)."""
    import pingouin

    table = pingouin.pairwise_gameshowell(_long(samples), dv="value", between="g",
                                          effsize="hedges")
    a, b = table["A"].to_numpy(int), table["B"].to_numpy(int)
    # pingouin reports a - b; here every difference is b - a
    out = pd.DataFrame({
        "group_a": [groups[i] for i in a], "group_b": [groups[j] for j in b],
        "n_a": [len(samples[i]) for i in a], "n_b": [len(samples[j]) for j in b],
        "estimate": -table["diff"], "statistic": -table["T"], "df": table["df"],
        "p": table["pval"], "p_adjust": table["pval"].clip(upper=1.0), "effect": "hedges_g",
        "effect_size": -table["hedges"], "test": "Games-Howell",
        "family": _family(len(groups), "studentized range")})
    return out[POSTHOC_COLUMNS]


def kruskal(samples) -> dict:
    h, p = stats.kruskal(*samples)
    n = sum(len(s) for s in samples)
    return {"test": "Kruskal-Wallis", "statistic": h, "df1": len(samples) - 1.0, "df2": np.nan,
            "p": float(p), "effect": "epsilon2", "effect_size": h / (n - 1)}


def dunn(samples, groups, control=None) -> pd.DataFrame:
    """Dunn's (1964) z test on mean ranks, tie-corrected, Holm-adjusted over the pairs."""
    allv = np.concatenate(samples)
    ranks = stats.rankdata(allv)
    n_total = len(allv)
    _, ties = np.unique(allv, return_counts=True)
    tie_term = np.sum(ties ** 3 - ties) / (12 * (n_total - 1))
    bounds = np.cumsum([0, *[len(s) for s in samples]])
    mean_rank = [ranks[bounds[i]:bounds[i + 1]].mean() for i in range(len(samples))]

    def pair(i, j):
        a, b = np.asarray(samples[i]), np.asarray(samples[j])
        se = np.sqrt((n_total * (n_total + 1) / 12 - tie_term) * (1 / len(a) + 1 / len(b)))
        z = (mean_rank[j] - mean_rank[i]) / se
        return {"n_a": len(a), "n_b": len(b), "estimate": np.median(b) - np.median(a),
                "statistic": z, "p": float(2 * stats.norm.sf(abs(z))),
                "effect_size": _rank_biserial(a, b)}

    return _pairwise(groups, "Dunn", "rank_biserial", pair, control)


def one_way_anova(samples) -> dict:
    """Fisher's one-way ANOVA (``scipy.stats.f_oneway``), effect size eta²."""
    f, p = stats.f_oneway(*samples)
    values = np.concatenate(samples)
    between = sum(len(s) * (np.mean(s) - values.mean()) ** 2 for s in samples)
    n, k = len(values), len(samples)
    return {"test": "one-way ANOVA", "statistic": float(f), "df1": k - 1.0, "df2": n - k - 0.0,
            "p": float(p), "effect": "eta2",
            "effect_size": float(between / ((values - values.mean()) ** 2).sum())}


def _hedges(a, b) -> float:
    import pingouin

    return float(pingouin.compute_effsize(b, a, eftype="hedges"))


def tukey(samples, groups) -> pd.DataFrame:
    """Tukey's HSD over all pairs (``scipy.stats.tukey_hsd``), Hedges' g."""
    res = stats.tukey_hsd(*samples)

    def pair(i, j):
        return {"n_a": len(samples[i]), "n_b": len(samples[j]),
                "estimate": float(res.statistic[j, i]), "statistic": float(res.statistic[j, i]),
                "p": float(res.pvalue[i, j]), "effect_size": _hedges(samples[i], samples[j])}

    return _pairwise(groups, "Tukey HSD", "hedges_g", pair, adjusted_by="studentized range")


def dunnett(samples, groups, control) -> pd.DataFrame:
    """Dunnett's (1955) many-to-one test of every group against ``control`` (scipy)."""
    c = groups.index(control)
    others = [j for j in range(len(groups)) if j != c]
    # scipy integrates the multivariate t by quasi-Monte Carlo: a fixed seed, the same p twice
    res = stats.dunnett(*[samples[j] for j in others], control=samples[c],
                        rng=np.random.default_rng(0))

    def pair(_, j):
        m = others.index(j)
        return {"n_a": len(samples[c]), "n_b": len(samples[j]),
                "estimate": float(np.mean(samples[j]) - np.mean(samples[c])),
                "statistic": float(res.statistic[m]), "p": float(res.pvalue[m]),
                "effect_size": _hedges(samples[c], samples[j])}

    return _pairwise(groups, "Dunnett", "hedges_g", pair, control, adjusted_by="Dunnett")


def spearman_trend(g: Groups) -> dict:
    rank = g.data["group"].map({name: r for r, name in enumerate(g.groups)})
    rho, p = stats.spearmanr(rank, g.data["value"])
    return {"test": "Spearman rho (value vs group order)", "statistic": float(rho),
            "p": float(p), "n": len(g.data), "order": ",".join(g.groups),
            "note": "positive rho: the value rises along the order"}


# --------------------------------------------------------------------------- paired
def paired_omnibus(g: Groups) -> dict:
    wide = g.wide
    n, k = wide.shape
    counts = {"n": n, "k": k, "note": f"n = {g.paired_by}s with a value in every group"}
    if k == 2:
        res = stats.wilcoxon(wide.iloc[:, 1], wide.iloc[:, 0])
        return {"test": "Wilcoxon signed-rank", "statistic": float(res.statistic), "df1": np.nan,
                "df2": np.nan, "p": float(res.pvalue), "effect": "matched_rank_biserial",
                "effect_size": _matched_rank_biserial(wide.iloc[:, 0], wide.iloc[:, 1]), **counts}
    chi2, p = stats.friedmanchisquare(*[wide[c] for c in wide.columns])
    return {"test": "Friedman", "statistic": float(chi2), "df1": k - 1.0, "df2": np.nan,
            "p": float(p), "effect": "kendall_w", "effect_size": chi2 / (n * (k - 1)), **counts}


def _matched_rank_biserial(a, b) -> float:
    d = np.asarray(b, float) - np.asarray(a, float)
    d = d[d != 0]
    if len(d) == 0:
        return 0.0
    r = stats.rankdata(np.abs(d))
    return float((r[d > 0].sum() - r[d < 0].sum()) / r.sum())


def paired_posthoc(g: Groups) -> pd.DataFrame:
    """Wilcoxon signed-rank test for every pair of groups (or each vs the control), Holm."""

    def pair(i, j):
        a, b = g.wide[g.groups[i]], g.wide[g.groups[j]]
        res = stats.wilcoxon(b, a)
        return {"n_a": len(a), "n_b": len(b), "estimate": float(np.median(b - a)),
                "statistic": float(res.statistic), "p": float(res.pvalue),
                "effect_size": _matched_rank_biserial(a, b)}

    return _pairwise(g.groups, "Wilcoxon signed-rank", "matched_rank_biserial", pair, g.control)


def page_trend(g: Groups) -> dict | None:
    if len(g.groups) < 3:  # Page's L needs 3 groups
        return None
    res = stats.page_trend_test(g.wide[g.groups].to_numpy())
    return {"test": "Page's L (paired, increasing along the order)", "statistic": float(res.statistic),
            "p": float(res.pvalue), "n": len(g.wide), "order": ",".join(g.groups),
            "note": "one-sided: small p means the value rises along the order"}


# --------------------------------------------------------------------------- mixed model
def mixed_omnibus(g: Groups) -> dict:
    """Wald F of ``value ~ group + (1 | unit)`` over the rows, containment df; effect: ICC."""
    from .mixed import containment_df, group_f_test, unit_share

    fit, _, names = g.mixed
    df2 = containment_df(g.rows, len(g.groups))
    base = {"test": "mixed model (Wald F, 1|unit)", "df1": float(len(names)), "df2": df2,
            "effect": "icc", "n": int(g.rows["unit"].nunique()), "k": len(g.groups)}
    if fit.result is None:
        return {**base, "statistic": np.nan, "p": np.nan, "effect_size": np.nan,
                "note": fit.reason}
    f, _, p = group_f_test(fit, names, df2)
    return {**base, "statistic": f, "p": p, "effect_size": unit_share(fit),
            "note": f"random intercept per unit; REML, best valid fit ({fit.optimizer})"}


def mixed_posthoc(g: Groups) -> pd.DataFrame:
    """Wald t of each pair's difference in the mixed model (containment df), Holm."""
    from .mixed import containment_df, group_effects

    fit, sd, names = g.mixed
    df = containment_df(g.rows, len(g.groups))
    n = g.data.groupby("group")["unit"].nunique()
    if fit.result is None:
        effects, cov = np.full(len(g.groups), np.nan), np.full((len(g.groups),) * 2, np.nan)
    else:
        effects, cov = group_effects(fit, names)

    def pair(i, j):
        se = np.sqrt(cov[i, i] + cov[j, j] - 2 * cov[i, j])
        t = (effects[j] - effects[i]) / se
        return {"n_a": int(n[g.groups[i]]), "n_b": int(n[g.groups[j]]),
                "estimate": (effects[j] - effects[i]) * sd, "statistic": t, "df": df,
                "p": float(2 * stats.t.sf(abs(t), df)) if df > 0 else np.nan,
                "effect_size": effects[j] - effects[i]}

    return _pairwise(g.groups, "mixed-model contrast (Wald t)", "difference_in_sd", pair,
                       g.control)


def mixed_trend(g: Groups) -> dict:
    """Mixed-model slope of the value against the group's rank in the order, per step."""
    from .mixed import mixed_model_slope

    rank = g.rows["group"].map({name: r for r, name in enumerate(g.groups)})
    lmm, note = mixed_model_slope(rank, g.rows["value"], g.rows["unit"])
    return {"test": "mixed-model slope per step of the order (Wald)",
            "statistic": lmm["lmm_slope"], "p": lmm["lmm_p"], "n": g.rows["unit"].nunique(),
            "order": ",".join(g.groups),
            "note": note or "positive slope: the value rises along the order"}


# --------------------------------------------------------------------------- methods
def _unpaired_omnibus(test: Callable[[list], dict]) -> Callable[[Groups], dict]:
    return lambda g: {**test(g.samples), "n": len(g.data), "k": len(g.groups), "note": ""}


WELCH = GroupTests("welch", _unpaired_omnibus(welch_anova),
                   lambda g: versus_control(games_howell(g.samples, g.groups), g.control),
                   spearman_trend)
ANOVA = GroupTests("anova", _unpaired_omnibus(one_way_anova),
                   lambda g: (tukey(g.samples, g.groups) if g.control is None
                              else dunnett(g.samples, g.groups, g.control)),
                   spearman_trend)
KRUSKAL = GroupTests("kruskal", _unpaired_omnibus(kruskal),
                     lambda g: dunn(g.samples, g.groups, g.control), spearman_trend)
FRIEDMAN = GroupTests("friedman", paired_omnibus, paired_posthoc, page_trend)
MIXED = GroupTests("mixed", mixed_omnibus, mixed_posthoc, mixed_trend)
