"""``correlate_study``: the one entry point of the correlation job."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_msc_morph.analysis import (
    CORRELATION_METHODS,
    SAMPLE_KEYS,
    CorrelationStudy,
    aggregate_to_samples,
    correlate,
    correlate_study,
    join_readouts,
    method_choices,
    parse_columns,
    read_readouts,
    time_course,
)
from napari_msc_morph.analysis.correlate import resolve_methods
from napari_msc_morph.errors import BadInputError, Cancelled
from napari_msc_morph.jobs import CancelToken


def test_study_equals_the_three_steps(images, readouts_long):
    study = correlate_study(images, readouts_long, n_boot=300)
    assert isinstance(study, CorrelationStudy)
    samples = aggregate_to_samples(images, on="sample_id")
    readouts = read_readouts(readouts_long)
    expected = correlate(samples, readouts, on="sample_id", method="both", n_boot=300)
    pd.testing.assert_frame_equal(study.results, expected)
    pd.testing.assert_frame_equal(study.samples, samples)
    pd.testing.assert_frame_equal(study.readouts, readouts)
    pd.testing.assert_frame_equal(study.joined, join_readouts(samples, readouts))
    pd.testing.assert_frame_equal(study.time_course,
                                  time_course(samples, readouts, scores=study.score_columns))
    assert study.on == ["sample_id"]
    assert study.score_columns == ["osscore", "median_area_um2", "cell_count"]
    assert study.methods == ["pearson", "spearman"]
    assert study.warnings == [] and study.plot_files == [] and study.results_file is None
    assert study.summary() == ("24 correlations of 3 score(s) with 4 marker/assay pair(s) "
                               "over n = 24 samples (sample_id)")


def test_paths_give_the_same_study_and_files_are_written(tmp_path, images, readouts_long):
    images.to_csv(tmp_path / "scores.csv", index=False)
    readouts_long.to_excel(tmp_path / "readouts.xlsx", index=False)
    from_frames = correlate_study(images, readouts_long, method="pearson",
                                  score_columns=["osscore"], n_boot=100)
    study = correlate_study(tmp_path / "scores.csv", str(tmp_path / "readouts.xlsx"),
                            method="pearson", score_columns=["osscore"], n_boot=100,
                            out=tmp_path / "c.csv", plots_dir=tmp_path / "plots",
                            plot_formats=("png",))
    pd.testing.assert_frame_equal(study.results, from_frames.results)
    assert study.results_file == tmp_path / "c.csv"
    written = pd.read_csv(tmp_path / "c.csv", keep_default_na=False, na_values=[""])
    np.testing.assert_allclose(written["r"], study.results["r"], rtol=1e-12)
    assert sorted(p.name for p in study.plot_files) == [
        "heatmap_pearson.png", "scatter_osscore_pearson.png", "time_course.png"]
    assert all(p.exists() for p in study.plot_files)
    assert "3 plot files" in study.summary()


def test_join_on_day_and_condition_as_text(images, readouts_long):
    study = correlate_study(images, readouts_long.drop(columns=["sample_id"]),
                            on="day, condition", method="pearson", score_columns=["osscore"])
    assert study.on == ["day", "condition"]
    assert set(study.results["n"]) == {8}


def test_progress_counts_up_to_its_total(images, readouts_long, tmp_path):
    calls = []
    study = correlate_study(images, readouts_long, n_boot=100, plots_dir=tmp_path / "plots",
                            plot_formats=("png",),
                            progress=lambda done, total, message: calls.append(
                                (done, total, message)))
    assert calls[0] == (0, 0, "reading scores")  # total unknown until the join
    done = [d for d, _, _ in calls]
    assert done == sorted(done)
    total = calls[-1][1]
    n_plots = 3 * 2 + 2 + 1  # scatter per score and method, heatmap per method, time course
    assert total == 4 + len(study.results) + n_plots
    assert calls[-1][0] == total
    assert {t for _, t, _ in calls[4:]} == {total}
    assert any("osscore vs RUNX2 (qPCR), spearman" in m for _, _, m in calls)
    assert any(m.startswith("plot heatmap_") for _, _, m in calls)


def test_cancel_raises_cancelled_and_writes_nothing(images, readouts_long, tmp_path):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        correlate_study(images, readouts_long, cancel=token)

    # cancelled from the progress callback after the third correlation
    token = CancelToken()

    def progress(done, total, message):
        if total and done >= 4 + 3:
            token.cancel()

    with pytest.raises(Cancelled, match="cancelled"):
        correlate_study(images, readouts_long, n_boot=100, out=tmp_path / "c.csv",
                        progress=progress, cancel=token)
    assert not (tmp_path / "c.csv").exists()


def test_cancel_while_plotting_keeps_finished_figures(images, readouts_long, tmp_path):
    token = CancelToken()

    def progress(done, total, message):
        if message.startswith("plot "):
            token.cancel()  # after the first figure

    with pytest.raises(Cancelled):
        correlate_study(images, readouts_long, method="pearson", n_boot=100,
                        out=tmp_path / "c.csv", plots_dir=tmp_path / "plots",
                        plot_formats=("png",), progress=progress, cancel=token)
    assert (tmp_path / "c.csv").exists()
    assert [p.name for p in (tmp_path / "plots").iterdir()] == ["scatter_osscore_pearson.png"]


def test_warnings_come_back_as_data(images, readouts_long):
    keep = images["sample_id"].isin(sorted(images["sample_id"].unique())[:3])
    study = correlate_study(images[keep], readouts_long, method="pearson")
    assert study.results["r"].isna().all()
    assert study.warnings[-1] == "only 3 sample(s): r is not reported below 4"
    # every readout sample without scores is listed as left out, with its file rows
    left_out = [w for w in study.warnings if "but not in the scores table" in w]
    assert len(left_out) == readouts_long["sample_id"].nunique() - 3
    # a day column on one side only: no time course, said as a warning; r still computed
    no_day = correlate_study(images.drop(columns=["day"]), readouts_long, method="pearson",
                             n_boot=100)
    assert no_day.time_course is None and no_day.results["r"].notna().all()
    assert len(no_day.warnings) == 1 and no_day.warnings[0].startswith("no time course:")
    assert "'day'" in no_day.warnings[0]
    # no day anywhere is normal: no time course, no warning
    nowhere = correlate_study(images.drop(columns=["day"]),
                              readouts_long.drop(columns=["day"]), method="pearson")
    assert nowhere.time_course is None and nowhere.warnings == []


def test_bad_input_names_the_file_and_column(tmp_path, images, readouts_long):
    images.drop(columns=["sample_id"]).to_csv(tmp_path / "scores.csv", index=False)
    with pytest.raises(BadInputError, match=r"scores.csv has no column\(s\) \['sample_id'\]"):
        correlate_study(tmp_path / "scores.csv", readouts_long)
    with pytest.raises(BadInputError, match="the results table has no rows"):
        correlate_study(images.iloc[:0], readouts_long, scores_name="the results table")
    with pytest.raises(BadInputError, match=r"unknown correlation method 'kendal'.*pearson"):
        correlate_study(images, tmp_path / "never-read.csv", method="kendal")
    with pytest.raises(BadInputError, match="identify a sample"):
        correlate_study(images, readouts_long, on=" , ")
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        correlate_study(tmp_path / "nope.csv", readouts_long)


def test_method_and_sample_key_registries():
    assert CORRELATION_METHODS.names() == ["pearson", "spearman"]
    assert method_choices() == ["pearson", "spearman", "both"]
    assert resolve_methods("both") == ("pearson", "spearman")
    assert "Fisher" in CORRELATION_METHODS.help("pearson")
    assert SAMPLE_KEYS.names() == ["sample_id", "day, condition", "donor, day, condition"]
    assert [parse_columns(name) for name in SAMPLE_KEYS.names()] == [
        list(SAMPLE_KEYS.get(name)) for name in SAMPLE_KEYS.names()]


def test_parse_columns():
    assert parse_columns("day, condition") == ["day", "condition"]
    assert parse_columns("sample_id") == ["sample_id"]
    assert parse_columns(["day", " condition "]) == ["day", "condition"]
    assert parse_columns(" , ") == []


def test_docs_tables_are_the_registries():
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "results-and-correlation.md").read_text()
    assert CORRELATION_METHODS.markdown_table() in doc
    assert SAMPLE_KEYS.markdown_table("when") in doc
