"""--repeated-by donor: rm_corr equals pingouin's, the mixed model equals statsmodels'."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.multitest import multipletests

from napari_msc_morph.analysis import correlate_study
from napari_msc_morph.analysis.repeated import REPEATED_COLUMNS
from napari_msc_morph.cli import main
from napari_msc_morph.errors import BadInputError

DONORS = ("D1", "D2", "D3", "D4")
DAYS = (0, 3, 7, 14, 21)


def donor_study(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Within each donor the marker rises with the score; between donors it falls.

    Donors with larger scores have lower marker levels (a donor effect), so the
    pooled r understates the within-donor association that rm_corr measures.
    """
    rng = np.random.default_rng(seed)
    images, readouts = [], []
    for d, donor in enumerate(DONORS):
        for day in DAYS:
            sample = f"{donor}_d{day}"
            score = 0.03 * day + 0.25 * d
            for k in range(2):
                images.append({"image": f"{sample}_{k}.tif", "sample_id": sample, "donor": donor,
                               "day": day, "condition": "induced",
                               "os_score": score + rng.normal(0, 0.02)})
            for marker, slope in (("RUNX2", 2.0), ("OCN", 4.0), ("OSX", 0.0)):
                level = slope * score - 3.0 * d + rng.normal(0, 0.2)
                for rep in (1, 2):
                    readouts.append({"sample_id": sample, "marker": marker, "assay": "qPCR",
                                     "replicate": rep, "value": level + rng.normal(0, 0.1)})
    return pd.DataFrame(images), pd.DataFrame(readouts)


@pytest.fixture(scope="module")
def study():
    images, readouts = donor_study()
    return correlate_study(images, readouts, method="pearson", repeated_by="donor")


@pytest.mark.filterwarnings("ignore::DeprecationWarning:pingouin")  # pingouin's own pandas use
def test_rm_corr_equals_pingouin_on_the_same_samples(study):
    results = study.results
    assert list(results.columns) == [
        "score", "marker", "assay", "method", "n", "r", "ci_low", "ci_high", "p", "q",
        *REPEATED_COLUMNS, "warning"]
    for row in results.itertuples():
        block = study.joined[study.joined.marker == row.marker]
        assert row.n == len(block) == 20 and row.n_groups == 4  # samples, not images
        ref = pingouin.rm_corr(data=block, x="os_score", y="value", subject="donor")
        assert row.rm_r == pytest.approx(ref["r"].iloc[0], rel=1e-12)
        assert row.rm_p == pytest.approx(ref["pval"].iloc[0], rel=1e-9)
        assert row.rm_dof == ref["dof"].iloc[0] == 20 - 4 - 1
        low, high = ref["CI95"].iloc[0]  # pingouin rounds its interval to 2 decimals
        assert row.rm_ci_low == pytest.approx(low, abs=0.006)
        assert row.rm_ci_high == pytest.approx(high, abs=0.006)
        # the pooled r is still there, and it is scipy's on the same samples
        assert row.r == pytest.approx(stats.pearsonr(block["os_score"], block["value"]).statistic)
    runx2 = results.set_index("marker").loc["RUNX2"]
    # the donor effect hides the within-donor association from the pooled r
    assert runx2["rm_r"] > 0.9 and runx2["r"] < 0


def test_mixed_model_equals_a_direct_statsmodels_fit(study):
    for row in study.results.itertuples():
        block = study.joined[study.joined.marker == row.marker]
        fit = smf.mixedlm("value ~ os_score", block, groups=block["donor"]).fit(reml=True)
        assert fit.converged
        # the same REML optimum, up to the optimiser's tolerance (well below one SE)
        assert row.lmm_slope == pytest.approx(fit.params["os_score"],
                                              abs=1e-3 * fit.bse["os_score"])
        assert row.lmm_se == pytest.approx(fit.bse["os_score"], rel=1e-3)
        # a Wald p far in the tail: compare its exponent
        assert np.log10(row.lmm_p) == pytest.approx(np.log10(fit.pvalues["os_score"]), rel=1e-3)
    ocn = study.results.set_index("marker").loc["OCN"]
    assert ocn["lmm_slope"] == pytest.approx(4.0, abs=0.5)


def test_repeated_q_is_bh_over_the_pairs_tested(study):
    results = study.results
    assert len(results) == 3  # one score x three markers
    for p, q in (("rm_p", "rm_q"), ("lmm_p", "lmm_q")):
        np.testing.assert_allclose(results[q], multipletests(results[p], method="fdr_bh")[1])


def test_too_few_donors_give_a_warning_not_a_number():
    images, readouts = donor_study()
    keep = images["donor"].isin(["D1", "D2"])
    study = correlate_study(images[keep], readouts, method="pearson", repeated_by="donor")
    assert study.results["rm_r"].isna().all() and study.results["lmm_slope"].isna().all()
    assert study.results["r"].notna().all()  # the pooled r still stands
    assert study.results["warning"].str.contains("in 2 donor group").all()
    assert any("needs 3 groups" in w for w in study.warnings)


def test_donor_within_a_day_condition_sample_must_be_in_the_key():
    images, readouts = donor_study()
    readouts = readouts.merge(images[["sample_id", "donor", "day", "condition"]]
                              .drop_duplicates(), on="sample_id").drop(columns=["sample_id"])
    with pytest.raises(BadInputError, match=r"--on donor,day,condition"):
        correlate_study(images.drop(columns=["sample_id"]), readouts, on="day, condition",
                        method="pearson", repeated_by="donor")
    keyed = correlate_study(images.drop(columns=["sample_id"]), readouts,
                            on="donor, day, condition", method="pearson", repeated_by="donor")
    assert set(keyed.results["n"]) == {20} and set(keyed.results["n_groups"]) == {4}


def test_cli_writes_the_repeated_columns(tmp_path, capsys):
    images, readouts = donor_study()
    images.to_csv(tmp_path / "scores.csv", index=False)
    readouts.to_csv(tmp_path / "readouts.csv", index=False)
    out = tmp_path / "correlations.csv"
    assert main(["correlate", str(tmp_path / "scores.csv"), str(tmp_path / "readouts.csv"),
                 "--method", "pearson", "--repeated-by", "donor", "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert {"n", "n_groups", "rm_r", "rm_p", "rm_q", "lmm_slope", "lmm_se", "lmm_p"} <= set(
        table.columns)
    assert set(table["n"]) == {20}
    assert "over n = 20 samples (sample_id), repeated measures by donor (4 groups)" in (
        capsys.readouterr().out)
