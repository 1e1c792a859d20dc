"""Issue 22 point 1 (the experimental unit), point 9 (ANOVA, Tukey, Dunnett) and issue 25
(rows copied 200 times) in ``compare_groups`` and ``msc-morph compare``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from napari_msc_morph.analysis import compare_groups
from napari_msc_morph.analysis.compare import holm
from napari_msc_morph.cli import main
from napari_msc_morph.errors import BadInputError


def _donor_cells(seed=125, donor_sd=60.0, cell_sd=300.0, cells=300) -> pd.DataFrame:
    """3 UC and 3 BM donors x 300 cells, no true source effect, a random effect per donor."""
    rng = np.random.default_rng(seed)
    parts = []
    for source in ("UC", "BM"):
        for donor in range(1, 4):
            shift = rng.normal(0, donor_sd)
            parts.append(pd.DataFrame({"source": source, "donor": f"{source}{donor}",
                                       "area_um2": 1500 + shift + rng.normal(0, cell_sd, cells)}))
    return pd.concat(parts, ignore_index=True)


# ------------------------------------------------------------------ the experimental unit
def test_default_tests_donors_not_cells():
    cells = _donor_cells()
    rows = compare_groups(cells, "area_um2", "source", unit="none", method="welch")
    default = compare_groups(cells, "area_um2", "source")
    assert rows.omnibus.p.item() < 1e-3  # the issue: row-level Welch p = 2.3e-4 (n = 1800)
    assert default.omnibus.p.item() > 0.4  # the issue: donor level p = 0.57
    assert default.unit == "donor" and default.omnibus.n.item() == 6
    assert default.omnibus.unit.item() == "donor" and default.omnibus.n_rows.item() == 1800
    summary = default.summary.set_index("group")
    assert summary.loc["UC", "n"] == 3 and summary.loc["UC", "n_rows"] == 900
    # the test is Welch's t on the six donor means
    means = cells.groupby(["source", "donor"]).area_um2.mean()
    t = stats.ttest_ind(means["BM"], means["UC"], equal_var=False)
    assert default.omnibus.p.item() == pytest.approx(t.pvalue, rel=1e-8)
    assert "n = 6 donors (1800 rows)" in default.text()


def test_false_positives_stay_near_five_percent_at_the_donor_level():
    row_hits = unit_hits = 0
    for seed in range(40):
        cells = _donor_cells(seed, cells=100)
        unit_hits += compare_groups(cells, "area_um2", "source", method="welch").omnibus.p.item() < 0.05
        row_hits += compare_groups(cells, "area_um2", "source", unit="none",
                                   method="welch").omnibus.p.item() < 0.05
    assert row_hits >= 10  # pseudo-replication: a quarter or more 'significant' with no effect
    assert unit_hits <= 4


def test_sample_is_the_unit_when_donors_span_the_groups(images):
    induced = images[images.condition == "induced"]  # 3 donors x 4 days x 2 images
    result = compare_groups(induced, "osscore", "day")
    assert result.unit == "sample_id" and result.omnibus.n.item() == 12
    assert result.summary.n.tolist() == [3, 3, 3, 3]
    assert result.summary.n_rows.tolist() == [6, 6, 6, 6]
    assert any("donor spans several groups" in w and "--paired-by donor" in w
               for w in result.warnings)
    means = induced.groupby(["day", "sample_id"]).osscore.mean()
    h = stats.kruskal(*[means[d] for d in (0, 7, 14, 21)])
    assert result.method == "kruskal" and result.omnibus.p.item() == pytest.approx(h.pvalue)


def test_rows_that_repeat_within_groups_stop_and_name_the_columns():
    cells = _donor_cells().rename(columns={"donor": "image"})
    with pytest.raises(BadInputError) as err:
        compare_groups(cells, "area_um2", "source")
    assert "image" in str(err.value) and "--unit image" in str(err.value)
    assert "--unit none" in str(err.value)
    assert compare_groups(cells, "area_um2", "source", unit="image").omnibus.n.item() == 6


def test_a_cell_table_without_an_image_column_stops():
    cells = _donor_cells().drop(columns="donor").assign(label=lambda t: t.index % 300 + 1)
    with pytest.raises(BadInputError, match="'label' column"):
        compare_groups(cells, "area_um2", "source")


def test_a_unit_in_several_groups_is_refused_for_independent_groups(images):
    induced = images[images.condition == "induced"]
    with pytest.raises(BadInputError) as err:
        compare_groups(induced, "osscore", "day", unit="donor")
    assert "--paired-by donor" in str(err.value) and "--mixed" in str(err.value)


def test_paired_tests_count_subjects(images):
    induced = images[images.condition == "induced"]
    result = compare_groups(induced, "osscore", "day", paired_by="donor", unit="sample_id")
    assert result.unit == "sample_id" and result.omnibus.n.item() == 3
    assert "n = 3 sample_ids (24 rows)" in result.text()


# ------------------------------------------------------------------ the mixed model
def test_balanced_mixed_model_equals_the_anova_of_the_unit_means():
    cells = _donor_cells(cells=60)
    mixed = compare_groups(cells, "area_um2", "source", method="mixed")
    means = cells.groupby(["source", "donor"]).area_um2.mean()
    f = stats.f_oneway(means["BM"], means["UC"])
    row = mixed.omnibus.iloc[0]
    assert row["test"].startswith("mixed model") and row["n"] == 6 and row["df2"] == 4
    assert row["statistic"] == pytest.approx(f.statistic, rel=1e-4)
    assert row["p"] == pytest.approx(f.pvalue, rel=1e-4)
    pair = mixed.posthoc.iloc[0]
    assert pair["estimate"] == pytest.approx(means["UC"].mean() - means["BM"].mean(), rel=1e-4)
    assert 0 < row["effect_size"] < 1  # the donors' share of the variance (ICC)


def test_mixed_model_with_donors_across_days_has_a_trend(images):
    induced = images[images.condition == "induced"]
    induced = induced.assign(osscore=induced.osscore + induced.donor.map(
        {"D1": 0.1, "D2": -0.1, "D3": 0.25}))  # donors differ: a random intercept to fit
    result = compare_groups(induced, "osscore", "day", method="mixed", unit="donor")
    assert result.unit == "donor" and result.omnibus.n.item() == 3
    assert result.trend.statistic.item() > 0 and result.trend.p.item() < 1e-3
    assert any("anti-conservative" in w for w in result.warnings)  # 3 donors < 5
    # the 2 images of a sample are averaged first: one random intercept (the donor's) only
    assert any("sample_id means (12 of them, from 24 rows)" in w for w in result.warnings)
    assert result.omnibus.df2.item() == 12 - 3 - 3  # rows - units - (groups - 1)
    # donors identical (the fixture as it is): the donor variance is 0, no valid fit, and why
    flat = compare_groups(images[images.condition == "induced"], "osscore", "day",
                          method="mixed", unit="donor")
    assert np.isnan(flat.omnibus.p.item()) and "no valid REML fit" in flat.trend.note.item()


def test_mixed_needs_repeated_rows_per_unit():
    table = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 4, "v": np.arange(8.0),
                          "sample_id": [f"s{i}" for i in range(8)]})
    with pytest.raises(BadInputError, match="several rows per unit"):
        compare_groups(table, "v", "g", method="mixed")


# ------------------------------------------------------------------ copied rows (issue 25)
def test_rows_copied_200_times_warn():
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"day": np.repeat([0, 7, 14], 4), "os": rng.normal(0, 1, 12)})
    copied = pd.concat([table] * 200, ignore_index=True)
    result = compare_groups(copied, "os", "day")
    assert any("2388 of 2400 rows are exact copies" in w for w in result.warnings)
    assert not any("exact copies" in w for w in compare_groups(table, "os", "day").warnings)


def test_cli_warns_about_copies_and_says_n_units(tmp_path, capsys):
    cells = _donor_cells(cells=20)
    pd.concat([cells] * 3).to_csv(tmp_path / "cells.csv", index=False)
    code = main(["compare", str(tmp_path / "cells.csv"), "--value", "area_um2", "--by", "source",
                 "--out", str(tmp_path / "out.csv")])
    captured = capsys.readouterr()
    assert code == 0
    assert "n = 6 donors (360 rows)" in captured.out
    assert "exact copies" in captured.err
    omnibus = pd.read_csv(tmp_path / "out.csv").query("section == 'omnibus'")
    assert omnibus.n.item() == 6 and omnibus.unit.item() == "donor"


# ------------------------------------------------------------------ ANOVA, Tukey, Dunnett
def _passages(seed=4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = {"P2": 1500, "P4": 1520, "P6": 1650, "P8": 1800, "P10": 1900}
    return pd.DataFrame([{"passage": p, "sample_id": f"{p}_{i}", "area": m + rng.normal(0, 60)}
                         for p, m in sizes.items() for i in range(5)])


ORDER = ["P2", "P4", "P6", "P8", "P10"]


def test_anova_and_tukey_match_scipy():
    table = _passages()
    result = compare_groups(table, "area", "passage", order=ORDER, method="anova")
    samples = [table.loc[table.passage == p, "area"].to_numpy() for p in ORDER]
    f = stats.f_oneway(*samples)
    assert result.omnibus.statistic.item() == pytest.approx(f.statistic)
    assert result.omnibus.p.item() == pytest.approx(f.pvalue)
    tukey = stats.tukey_hsd(*samples)
    pair = result.posthoc.set_index(["group_a", "group_b"]).loc[("P4", "P10")]
    assert pair["p"] == pytest.approx(tukey.pvalue[1, 4])
    assert pair["estimate"] == pytest.approx(samples[4].mean() - samples[1].mean())
    assert len(result.posthoc) == 10 and set(result.posthoc.test) == {"Tukey HSD"}


def test_dunnett_against_the_control_matches_scipy_and_the_cli(tmp_path, capsys):
    table = _passages()
    result = compare_groups(table, "area", "passage", order=ORDER, control="P10")
    assert result.method == "anova" and "Dunnett" in result.method_reason
    samples = {p: table.loc[table.passage == p, "area"].to_numpy() for p in ORDER}
    ref = stats.dunnett(*[samples[p] for p in ORDER[:-1]], control=samples["P10"],
                        rng=np.random.default_rng(0))
    post = result.posthoc
    assert post.group_a.tolist() == ["P10"] * 4 and post.group_b.tolist() == ORDER[:-1]
    assert post.p.to_numpy() == pytest.approx(ref.pvalue, rel=1e-6)
    assert post.statistic.to_numpy() == pytest.approx(ref.statistic)
    assert post.family.iloc[0] == "4 groups vs control P10 (Dunnett)"
    table.to_csv(tmp_path / "passages.csv", index=False)
    assert main(["compare", str(tmp_path / "passages.csv"), "--value", "area", "--by", "passage",
                 "--control", "P10", "--order", ",".join(ORDER),
                 "--out", str(tmp_path / "out.csv")]) == 0
    written = pd.read_csv(tmp_path / "out.csv").query("section == 'posthoc'")
    assert written.test.unique().tolist() == ["Dunnett"]
    assert written.p.to_numpy() == pytest.approx(ref.pvalue, rel=1e-6)


def test_control_with_kruskal_is_holm_over_the_k_minus_1_pairs():
    table = _passages()
    result = compare_groups(table, "area", "passage", order=ORDER, control="P2",
                            method="kruskal")
    assert result.posthoc.group_a.tolist() == ["P2"] * 4
    assert result.posthoc.p_adjust.to_numpy() == pytest.approx(holm(result.posthoc.p))
    assert (result.posthoc.estimate > 0).sum() >= 3  # later passages larger than P2


def test_control_with_welch_keeps_games_howell_oriented_to_the_control():
    table = _passages()
    result = compare_groups(table, "area", "passage", order=ORDER, control="P10",
                            method="welch")
    assert result.posthoc.group_a.tolist() == ["P10"] * 4
    assert (result.posthoc.estimate < 0).all()  # every earlier passage smaller than P10


def test_unknown_control_names_the_groups():
    with pytest.raises(BadInputError) as err:
        compare_groups(_passages(), "area", "passage", control="P12")
    assert "--control 'P12'" in str(err.value) and "P10" in str(err.value)


def test_counts_that_repeat_are_never_offered_as_the_unit():
    """The osteogenic page's step 5: two control fields of 36 cells each made the refusal
    suggest `--unit n_cells`."""
    import pandas as pd
    import pytest

    from napari_msc_morph.analysis.units import choose_unit
    from napari_msc_morph.errors import BadInputError

    table = pd.DataFrame({"image": [f"f{k}" for k in range(6)],
                          "condition": ["control"] * 3 + ["induced"] * 3,
                          "n_cells": [36, 36, 40, 41, 41, 50],
                          "n_cells_sized": [30, 30, 33, 35, 35, 44],
                          "area_um2_median": [300.0, 310, 320, 400, 410, 420]})
    try:
        choose_unit(table, "area_um2_median", "condition")
    except BadInputError as err:
        assert "n_cells" not in str(err)
    table["culture"] = ["c1", "c1", "c2", "c3", "c3", "c4"]
    with pytest.raises(BadInputError, match="--unit culture") as err:
        choose_unit(table, "area_um2_median", "condition")
    assert "n_cells" not in str(err.value)
