"""One row per biological sample: n counts samples, and the BH family is the pairs tested."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from conftest import make_images, make_readouts_long
from napari_msc_morph.analysis import correlate_study
from napari_msc_morph.analysis.plots import heatmap_figure, scatter_figure, time_course_figure
from napari_msc_morph.analysis.score_defaults import default_score_columns


def test_join_on_day_condition_counts_each_sample_once():
    images = make_images()  # 3 donors x 2 conditions x 4 days x 2 images
    readouts = make_readouts_long(images)  # one readout per donor sample (sample_id)
    study = correlate_study(images, readouts, on="day, condition", method="pearson",
                            score_columns=["osscore"])
    # 8 day/condition samples, not 24 donor readouts repeated against 8 scores
    assert set(study.results["n"]) == {8}
    assert study.n_samples == 8
    assert study.joined.groupby(["marker", "assay"]).size().eq(8).all()
    assert not study.joined.duplicated(["day", "condition", "marker", "assay"]).any()
    # the readout of a day/condition sample is the mean of its donors' readouts
    per_donor = readouts[readouts.marker == "OCN"].groupby("sample_id").agg(
        value=("value", "mean"), day=("day", "first"), condition=("condition", "first"))
    expected = per_donor.groupby(["day", "condition"])["value"].mean()
    ocn = study.joined[study.joined.marker == "OCN"].set_index(["day", "condition"])["value"]
    np.testing.assert_allclose(ocn.sort_index(), expected.sort_index())
    # and r is scipy's on those 8 pairs
    block = study.joined[study.joined.marker == "OCN"]
    row = study.results[study.results.marker == "OCN"]
    assert row["r"].item() == stats.pearsonr(block["osscore"], block["value"]).statistic
    assert any("averaged into one sample each" in w and "n counts day / condition" in w
               for w in study.warnings)
    assert "n = 8 samples (day / condition)" in study.summary()


def test_per_image_scores_become_one_row_per_sample_id():
    images = make_images()  # 48 images of 24 samples
    study = correlate_study(images, make_readouts_long(images), method="pearson",
                            score_columns=["osscore"])
    assert len(images) == 48
    assert set(study.results["n"]) == {24}
    assert len(study.joined) == 24 * 4  # one row per sample and marker/assay
    # no pooling note: each key already was one sample
    assert not any("averaged into one sample" in w for w in study.warnings)


def _prediction_table() -> pd.DataFrame:
    """Per-image predictions as `msc-morph predict` writes them, plus a morphometry column."""
    images = make_images(seed=3)
    return images.assign(os_score=images["osscore"].clip(0, 1), p_induced=images["osscore"].clip(0, 1),
                         p_control=1 - images["osscore"].clip(0, 1),
                         pixel_size_um=0.65).drop(columns=["osscore"])


def test_default_scores_are_one_per_task_not_its_probabilities():
    table = _prediction_table()
    assert default_score_columns(table.drop(columns=["layer"]),
                                 exclude=["sample_id"]) == ["median_area_um2", "cell_count",
                                                            "os_score"]
    # an ordinal task's interval columns are functions of the same probabilities too
    ordinal = pd.DataFrame({"expected_passage": [4.2], "p_P1": [0.1], "interval3_lo": [3],
                            "interval3_hi": [5], "interval3_p": [0.8]})
    assert default_score_columns(ordinal) == ["expected_passage"]
    study = correlate_study(table, make_readouts_long(make_images(seed=3)), method="pearson")
    assert set(study.score_columns) == {"os_score", "median_area_um2", "cell_count"}
    assert not {"p_control", "p_induced"} & set(study.results["score"])
    # naming them still tests them
    named = correlate_study(table, make_readouts_long(make_images(seed=3)), method="pearson",
                            score_columns=["os_score", "p_induced"])
    assert set(named.results["score"]) == {"os_score", "p_induced"}


def test_bh_family_is_exactly_the_score_marker_pairs_tested():
    table = _prediction_table()
    readouts = make_readouts_long(make_images(seed=3))
    study = correlate_study(table, readouts, method="both", n_boot=0)
    for method in ("pearson", "spearman"):
        part = study.results[study.results.method == method]
        # 3 scores x 4 marker/assay pairs: 12 tests per method, not 20 with the probabilities
        assert len(part) == 3 * 4 and part["p"].notna().sum() == 12
        reject, q, _, _ = multipletests(part["p"].to_numpy(), method="fdr_bh")
        np.testing.assert_allclose(part["q"].to_numpy(), q, rtol=1e-12)


def test_n_is_in_every_table_and_plot():
    images = make_images()
    study = correlate_study(images, make_readouts_long(images), method="pearson",
                            score_columns=["osscore"], repeated_by="donor")
    assert "n" in study.results.columns and "n" in study.time_course.columns
    assert set(study.time_course[study.time_course.kind == "score"]["n"]) == {3}
    scatter = scatter_figure(study.joined, study.results, "osscore", on=study.on)
    titles = [ax.get_title() for ax in scatter.axes if ax.get_visible()]
    assert len(titles) == 4
    assert all("n = 24" in t for t in titles)
    assert all(", 3 donor groups" in t for t in titles)
    assert "n = 24 samples" in heatmap_figure(study.results).axes[0].get_title()
    course = time_course_figure(study.time_course)
    assert any("(n = 3 per point)" in ax.get_title() for ax in course.axes)
