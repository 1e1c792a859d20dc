"""Correlation statistics against scipy and hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from napari_msc_morph.analysis import (
    aggregate_to_samples,
    benjamini_hochberg,
    correlate,
    correlation,
    join_readouts,
    read_readouts,
    spearman_bootstrap_ci,
    time_course,
)
from napari_msc_morph.analysis.correlate import RESULT_COLUMNS, pearson

X = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
Y = np.array([2.1, 3.9, 6.2, 7.8, 9.9, 12.5, 13.1, 17.0])


def test_pearson_matches_scipy_and_fisher_ci_by_hand():
    out = correlation(X, Y, method="pearson")
    ref = stats.pearsonr(X, Y)
    assert out["n"] == 8
    assert out["r"] == pytest.approx(ref.statistic, abs=1e-12)
    assert out["p"] == pytest.approx(ref.pvalue, rel=1e-9)
    z = 0.5 * np.log((1 + ref.statistic) / (1 - ref.statistic))
    half = 1.959963984540054 / np.sqrt(8 - 3)
    assert out["ci_low"] == pytest.approx(np.tanh(z - half), abs=1e-9)
    assert out["ci_high"] == pytest.approx(np.tanh(z + half), abs=1e-9)
    # scipy >= 1.9 computes the same Fisher-z interval
    ci = ref.confidence_interval(0.95)
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((ci.low, ci.high), abs=1e-9)


def test_pearson_on_textbook_data():
    # x = 1..5, y = 2,4,5,4,5: r = 0.7746 (sqrt(0.6)), p = 0.1240
    out = correlation([1, 2, 3, 4, 5], [2, 4, 5, 4, 5], method="pearson")
    assert out["r"] == pytest.approx(np.sqrt(0.6), abs=1e-12)
    assert out["p"] == pytest.approx(0.1240, abs=1e-4)


def test_spearman_matches_scipy_and_bootstrap_loop():
    rng = np.random.default_rng(3)
    x = rng.normal(size=12)
    y = x + rng.normal(scale=0.8, size=12)
    out = correlation(x, y, method="spearman", n_boot=500, seed=7)
    ref = stats.spearmanr(x, y)
    assert out["r"] == pytest.approx(ref.statistic, abs=1e-12)
    assert out["p"] == pytest.approx(ref.pvalue, rel=1e-9)
    rhos = []
    # scipy.stats.bootstrap (paired) draws its resamples as (n_boot, n) indices from the seed
    for idx in np.random.default_rng(7).integers(0, 12, size=(500, 12)):
        if np.ptp(x[idx]) > 0 and np.ptp(y[idx]) > 0:
            rhos.append(stats.spearmanr(x[idx], y[idx]).statistic)
    low, high = np.quantile(rhos, [0.025, 0.975])
    assert out["ci_low"] == pytest.approx(low, abs=1e-12)
    assert out["ci_high"] == pytest.approx(high, abs=1e-12)
    assert out["ci_low"] <= out["r"] <= out["ci_high"]
    # same seed, same interval; another seed, a (slightly) different one
    assert spearman_bootstrap_ci(x, y, 500, 7) == (out["ci_low"], out["ci_high"])
    assert spearman_bootstrap_ci(x, y, 500, 8) != (out["ci_low"], out["ci_high"])


def test_fisher_ci_is_nan_for_three_or_fewer_samples():
    assert np.isnan(pearson([1.0, 2.0, 3.0], [1.0, 2.0, 3.5])[2:]).all()


def test_below_four_samples_a_warning_replaces_r():
    out = correlation([1, 2, 3], [1, 2, 3.5], method="pearson")
    assert out["n"] == 3 and np.isnan(out["r"]) and np.isnan(out["p"])
    assert "only 3 sample" in out["warning"]
    constant = correlation([1, 1, 1, 1], [1, 2, 3, 4])
    assert np.isnan(constant["r"]) and "constant" in constant["warning"]


def test_nan_pairs_are_dropped():
    out = correlation([1, 2, np.nan, 4, 5, 6], [1, 2, 3, np.nan, 5, 7])
    ref = stats.pearsonr([1, 2, 5, 6], [1, 2, 5, 7])
    assert out["n"] == 4 and out["r"] == pytest.approx(ref.statistic)


def test_benjamini_hochberg_against_hand_computation():
    p = np.array([0.04, 0.001, 0.03, np.nan, 0.2, 0.012])
    # by hand: sorted finite p = .001 .012 .03 .04 .2 (m = 5)
    # p*m/rank = .005 .030 .050 .050 .2 ; running min from the top keeps them
    expected = np.array([0.05, 0.005, 0.05, np.nan, 0.2, 0.03])
    np.testing.assert_allclose(benjamini_hochberg(p), expected, rtol=1e-12)
    # the step-up minimum matters here: sorted .01 .03 .04 -> .03 .045 .04 -> running min from top .03 .04 .04
    np.testing.assert_allclose(benjamini_hochberg([0.01, 0.04, 0.03]), [0.03, 0.04, 0.04])
    if hasattr(stats, "false_discovery_control"):
        finite = p[np.isfinite(p)]
        np.testing.assert_allclose(benjamini_hochberg(finite), stats.false_discovery_control(finite))


def test_correlate_end_to_end(images, readouts_long):
    samples = aggregate_to_samples(images, on="sample_id")
    readouts = read_readouts(readouts_long)
    table = correlate(samples, readouts, on="sample_id", method="both", n_boot=300)
    assert list(table.columns) == RESULT_COLUMNS
    scores = {"osscore", "median_area_um2", "cell_count"}
    assert set(table["score"]) == scores
    assert len(table) == len(scores) * 4 * 2  # 4 marker/assay pairs x 2 methods
    runx2 = table[(table.score == "osscore") & (table.marker == "RUNX2") & (table.method == "pearson")]
    assert runx2["n"].item() == 24
    assert runx2["r"].item() > 0.9 and runx2["q"].item() < 1e-6
    p16 = table[(table.score == "osscore") & (table.marker == "p16") & (table.method == "pearson")]
    assert abs(p16["r"].item()) < 0.6
    # each row equals scipy on the joined values
    joined = join_readouts(samples, readouts, on="sample_id")
    block = joined[(joined.marker == "OCN")]
    ref = stats.spearmanr(block["osscore"], block["value"])
    row = table[(table.score == "osscore") & (table.marker == "OCN") & (table.method == "spearman")]
    assert row["r"].item() == pytest.approx(ref.statistic)
    # q is BH within each method
    for method in ("pearson", "spearman"):
        part = table[table.method == method]
        np.testing.assert_allclose(part["q"], benjamini_hochberg(part["p"]))


def test_join_on_day_and_condition(images, readouts_long):
    samples = aggregate_to_samples(images, on=["day", "condition"])
    readouts = read_readouts(readouts_long.drop(columns=["sample_id"]))
    table = correlate(samples, readouts, on="day,condition", method="pearson",
                      scores=["osscore"])
    assert set(table["n"]) == {8}  # 4 days x 2 conditions
    assert table.set_index("marker").loc["OCN", "r"] > 0.9


def test_missing_join_column_and_no_overlap_are_clear(images, readouts_long):
    samples = aggregate_to_samples(images, on="sample_id")
    readouts = read_readouts(readouts_long)
    with pytest.raises(ValueError, match=r"readouts table has no join column\(s\) \['donor'\]"):
        correlate(samples, readouts.drop(columns=[]), on=["sample_id", "donor"])
    other = readouts.assign(sample_id="X" + readouts["sample_id"])
    with pytest.raises(ValueError, match="No samples in common.*XD1_control_d0"):
        correlate(samples, other, on="sample_id")


def test_few_samples_give_warnings_not_r(images, readouts_long):
    keep = images["sample_id"].isin(sorted(images["sample_id"].unique())[:3])
    samples = aggregate_to_samples(images[keep])
    table = correlate(samples, read_readouts(readouts_long), method="pearson")
    assert table["r"].isna().all() and table["q"].isna().all()
    assert table["warning"].str.contains("only 3 sample").all()


def test_time_course_mean_and_sd_per_condition(images, readouts_long):
    samples = aggregate_to_samples(images)
    readouts = read_readouts(readouts_long)
    course = time_course(samples, readouts, scores=["osscore"])
    induced = course[(course.variable == "osscore") & (course.group == "induced")].sort_values("day")
    assert list(induced["day"]) == [0, 7, 14, 21]
    assert list(induced["n"]) == [3, 3, 3, 3]  # three donors per day
    expected = samples[samples.condition == "induced"].groupby("day")["osscore"]
    np.testing.assert_allclose(induced["mean"], expected.mean())
    np.testing.assert_allclose(induced["sd"], expected.std(ddof=1))
    assert induced["mean"].is_monotonic_increasing
    assert "RUNX2 (qPCR)" in set(course["variable"])
    # readouts without day/condition borrow them from the scores via sample_id
    borrowed = time_course(samples, read_readouts(readouts_long.drop(columns=["day", "condition"])),
                           scores=["osscore"])
    pd.testing.assert_frame_equal(borrowed, course)
    with pytest.raises(ValueError, match="no 'day' column"):
        time_course(samples.drop(columns=["day"]), None)
