"""Group comparisons match scipy, pingouin and the textbook formulas; the issue's two questions."""

from __future__ import annotations

import argparse
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from napari_msc_morph import cli
from napari_msc_morph.analysis import COMPARE_METHODS, compare_groups
from napari_msc_morph.analysis.compare import holm
from napari_msc_morph.commands import compare as command


def _days_table(seed=1) -> pd.DataFrame:
    """4 days, unequal n and spread; OsScore rising with day."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"day": np.repeat([0, 3, 7, 14], [8, 7, 9, 6])})
    df["os"] = 0.02 * df["day"] + rng.normal(0, [0.05 + 0.01 * d for d in df["day"]])
    return df


def _welch_by_hand(samples):
    k = len(samples)
    n = np.array([len(s) for s in samples], float)
    m = np.array([np.mean(s) for s in samples])
    w = n / np.array([np.var(s, ddof=1) for s in samples])
    grand = (w * m).sum() / w.sum()
    lam = sum((1 - wi / w.sum()) ** 2 / (ni - 1) for wi, ni in zip(w, n))
    f = ((w * (m - grand) ** 2).sum() / (k - 1)) / (1 + 2 * (k - 2) / (k ** 2 - 1) * lam)
    df2 = (k ** 2 - 1) / (3 * lam)
    return f, df2, stats.f.sf(f, k - 1, df2)


def test_methods_registry_drives_the_cli_choices():
    assert COMPARE_METHODS.names() == ["auto", "welch", "anova", "kruskal", "friedman", "mixed"]
    assert "compare" in cli.COMMANDS
    parser = argparse.ArgumentParser()
    action = next(a for a in command.add_parser(parser.add_subparsers())._actions
                  if a.dest == "method")
    assert list(action.choices) == COMPARE_METHODS.names()


def test_welch_anova_matches_the_formula_and_pingouin():
    df = _days_table()
    result = compare_groups(df, "os", "day", method="welch")
    samples = [df.loc[df.day == d, "os"].to_numpy() for d in (0, 3, 7, 14)]
    f, df2, p = _welch_by_hand(samples)
    row = result.omnibus.iloc[0]
    assert row["test"] == "Welch ANOVA"
    assert row["statistic"] == pytest.approx(f, rel=1e-10)
    assert row["df2"] == pytest.approx(df2, rel=1e-10)
    assert row["p"] == pytest.approx(p, rel=1e-10)
    # pingouin 0.7.0 welch_anova(df, dv="os", between="day") on this table: F, ddof2, p, np2
    assert row[["statistic", "df2", "p", "effect_size"]].to_numpy(float) == pytest.approx(
        [7.80852707, 12.7143716, 3.27603406e-03, 0.242755672], rel=1e-6)


def test_games_howell_matches_pingouin():
    result = compare_groups(_days_table(), "os", "day", method="welch")
    gh = result.posthoc
    assert list(zip(gh.group_a, gh.group_b)) == list(combinations(["0", "3", "7", "14"], 2))
    # pingouin 0.7.0 pairwise_gameshowell: T, pval, hedges (its sign is a - b, ours b - a)
    expected_t = [-2.49391790, -4.89573616, -1.24736303, -3.25019433, -0.739852430, 0.292667583]
    expected_p = [0.108714429, 2.01467413e-03, 0.626717306, 3.12208986e-02, 0.877460524,
                  0.990367424]
    expected_g = [-1.21484278, -2.16776129, -0.732465402, -1.41978492, -0.414929599, 0.172367442]
    assert gh["statistic"].to_numpy() == pytest.approx(-np.array(expected_t), rel=1e-6)
    assert gh["p"].to_numpy() == pytest.approx(expected_p, rel=1e-5)
    assert gh["effect_size"].to_numpy() == pytest.approx(-np.array(expected_g), rel=1e-6)
    assert gh["family"].iloc[0] == "all 6 pairs of 4 groups (studentized range)"


def test_two_groups_welch_is_the_welch_t_test():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"g": ["a"] * 12 + ["b"] * 9,
                       "v": np.r_[rng.normal(0, 1, 12), rng.normal(1, 2, 9)]})
    result = compare_groups(df, "v", "g", method="welch")
    t = stats.ttest_ind(df.v[df.g == "b"], df.v[df.g == "a"], equal_var=False)
    assert result.omnibus.p.iloc[0] == pytest.approx(t.pvalue, rel=1e-8)
    assert result.omnibus.statistic.iloc[0] == pytest.approx(t.statistic ** 2, rel=1e-8)
    assert result.posthoc.p.iloc[0] == pytest.approx(t.pvalue, rel=1e-6)
    assert result.posthoc.statistic.iloc[0] == pytest.approx(t.statistic, rel=1e-8)


def test_kruskal_and_dunn_match_scipy_and_hand_computation():
    df = _days_table()
    result = compare_groups(df, "os", "day", method="kruskal")
    samples = [df.loc[df.day == d, "os"].to_numpy() for d in (0, 3, 7, 14)]
    h, p = stats.kruskal(*samples)
    row = result.omnibus.iloc[0]
    assert (row["statistic"], row["p"]) == pytest.approx((h, p), rel=1e-12)
    assert row["effect_size"] == pytest.approx(h / (len(df) - 1))
    # Dunn without ties: z = (mean rank b - mean rank a) / sqrt(N(N+1)/12 (1/na + 1/nb))
    ranks = stats.rankdata(df.os)
    mean_rank = {d: ranks[df.day.to_numpy() == d].mean() for d in (0, 3, 7, 14)}
    n = {d: (df.day == d).sum() for d in (0, 3, 7, 14)}
    big_n = len(df)
    z = [(mean_rank[b] - mean_rank[a]) / np.sqrt(big_n * (big_n + 1) / 12 * (1 / n[a] + 1 / n[b]))
         for a, b in combinations((0, 3, 7, 14), 2)]
    p_raw = 2 * stats.norm.sf(np.abs(z))
    assert result.posthoc.statistic.to_numpy() == pytest.approx(z, rel=1e-12)
    assert result.posthoc.p.to_numpy() == pytest.approx(p_raw, rel=1e-10)
    assert result.posthoc.p_adjust.to_numpy() == pytest.approx(holm(p_raw))
    assert set(result.posthoc.test) == {"Dunn"}
    assert result.posthoc.family.iloc[0] == "all 6 pairs of 4 groups (Holm)"
    # rank-biserial r of the first pair from Mann-Whitney U
    u = stats.mannwhitneyu(samples[1], samples[0]).statistic
    assert result.posthoc.effect_size.iloc[0] == pytest.approx(2 * u / (8 * 7) - 1)


def test_holm_by_hand_and_statsmodels():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.001]) == pytest.approx([0.5, 0.002])
    assert holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])
    p = np.random.default_rng(2).uniform(0, 0.2, 15).round(3)  # ties included
    assert holm(p) == pytest.approx(multipletests(p, method="holm")[1], abs=1e-15)


def test_spearman_trend_matches_scipy():
    df = _days_table()
    result = compare_groups(df, "os", "day")
    rho, p = stats.spearmanr(df.day.map({0: 0, 3: 1, 7: 2, 14: 3}), df.os)
    row = result.trend.iloc[0]
    assert row["test"].startswith("Spearman")
    assert (row["statistic"], row["p"]) == pytest.approx((rho, p))
    assert row["order"] == "0,3,7,14"


def test_summary_table():
    df = _days_table()
    summary = compare_groups(df, "os", "day").summary
    assert summary.group.tolist() == ["0", "3", "7", "14"]
    day7 = df.os[df.day == 7]
    row = summary.set_index("group").loc["7"]
    assert row["n"] == 9
    assert row[["mean", "sd", "median"]].to_numpy(float) == pytest.approx(
        [day7.mean(), day7.std(), day7.median()])
    assert row["iqr"] == pytest.approx(day7.quantile(0.75) - day7.quantile(0.25))


def test_auto_chooses_by_normality():
    rng = np.random.default_rng(0)
    normal = pd.DataFrame({"g": np.repeat(["a", "b", "c"], 20), "v": rng.normal(0, 1, 60)})
    assert compare_groups(normal, "v", "g").method == "welch"
    skewed = normal.assign(v=np.exp(3 * normal.v))
    result = compare_groups(skewed, "v", "g")
    assert result.method == "kruskal" and "Shapiro-Wilk" in result.method_reason
    assert result.trend.empty and any("no trend test" in w for w in result.warnings)


def test_friedman_and_page_match_scipy(images):
    induced = images[images.condition == "induced"]
    result = compare_groups(induced, "osscore", "day", paired_by="donor")
    wide = induced.groupby(["donor", "day"]).osscore.mean().unstack("day")[[0, 7, 14, 21]]
    chi2, p = stats.friedmanchisquare(*[wide[c] for c in wide])
    assert result.method == "friedman"
    assert (result.omnibus.statistic.iloc[0], result.omnibus.p.iloc[0]) == pytest.approx((chi2, p))
    assert result.omnibus.effect_size.iloc[0] == pytest.approx(chi2 / (3 * 3))
    page = stats.page_trend_test(wide.to_numpy())
    assert result.trend.statistic.iloc[0] == pytest.approx(page.statistic)
    assert result.trend.p.iloc[0] == pytest.approx(page.pvalue)
    # 2 images per sample: n counts donors, the rows are averaged per donor and day
    assert result.unit == "donor" and result.omnibus.n.item() == 3
    assert result.summary.n_rows.tolist() == [6, 6, 6, 6]


def test_order_accepts_text_labels_for_numeric_days():
    df = _days_table()
    result = compare_groups(df, "os", "day", order=["14", "7", "3", "0"])
    assert result.groups == ["14", "7", "3", "0"]
    assert result.trend.statistic.iloc[0] < 0  # reversed order: falling


def test_small_groups_warn():
    df = pd.DataFrame({"g": ["a", "a", "b", "b", "b", "b"], "v": [1.0, 2, 3, 4, 5, 6.5]})
    result = compare_groups(df, "v", "g")
    assert any("a (n = 2)" in w for w in result.warnings)
    assert result.method == "kruskal"


# ------------------------------------------------------------ the two questions
def test_osscore_rises_with_induction_day_and_not_when_shuffled(images):
    induced = images[images.condition == "induced"]
    rising = compare_groups(induced, "osscore", "day", order=[0, 7, 14, 21])
    assert rising.unit == "sample_id" and rising.omnibus.n.iloc[0] == 12  # not 24 images
    assert rising.trend.statistic.iloc[0] > 0.8 and rising.trend.p.iloc[0] < 1e-4
    assert rising.omnibus.p.iloc[0] < 0.05
    rng = np.random.default_rng(5)
    shuffled = induced.assign(osscore=rng.permutation(induced.osscore.to_numpy()))
    flat = compare_groups(shuffled, "osscore", "day", order=[0, 7, 14, 21])
    assert flat.trend.p.iloc[0] > 0.05
    assert flat.omnibus.p.iloc[0] > 0.05


def test_induced_cells_are_larger_than_controls(images):
    late = images[images.day >= 14]
    result = compare_groups(late, "median_area_um2", "condition", order=["control", "induced"])
    pair = result.posthoc.iloc[0]
    assert (pair.group_a, pair.group_b) == ("control", "induced")
    assert pair.estimate > 0 and pair.effect_size > 0.9 and pair.p_adjust < 1e-3
    means = result.summary.set_index("group")["mean"]
    assert means["induced"] > means["control"]


# ------------------------------------------------------------ CLI
def _run(argv):
    parser = argparse.ArgumentParser(prog="msc-morph")
    command.add_parser(parser.add_subparsers(dest="command"))
    return command.run(parser.parse_args(["compare", *argv]))


def test_cli_writes_sections_and_plot(tmp_path, images, capsys):
    images.to_csv(tmp_path / "scores.csv", index=False)
    out, plot = tmp_path / "res" / "compare.csv", tmp_path / "box.png"
    code = _run([str(tmp_path / "scores.csv"), "--value", "osscore", "--by", "day",
                 "--order", "0,7,14,21", "--method", "kruskal", "--out", str(out),
                 "--plot", str(plot)])
    assert code == 0
    table = pd.read_csv(out)
    assert list(dict.fromkeys(table.section)) == ["summary", "omnibus", "posthoc", "trend"]
    assert (table.section == "posthoc").sum() == 6
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Kruskal-Wallis" in capsys.readouterr().out


def test_cli_xlsx_has_one_sheet_per_section(tmp_path, images):
    import openpyxl  # noqa: F401  (in the [testing] extra: the .xlsx path is always tested)
    images.to_csv(tmp_path / "scores.csv", index=False)
    out = tmp_path / "compare.xlsx"
    assert _run([str(tmp_path / "scores.csv"), "--value", "osscore", "--by", "day",
                 "--paired-by", "donor", "--out", str(out), "--plot", str(tmp_path / "b.svg")]) == 0
    sheets = pd.read_excel(out, sheet_name=None)
    assert list(sheets) == ["summary", "omnibus", "posthoc", "trend"]
    assert sheets["omnibus"].test.iloc[0] == "Friedman"
    assert (tmp_path / "b.svg").read_text().lstrip().startswith("<?xml")
