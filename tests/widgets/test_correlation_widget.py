"""The correlation dock in a real viewer: results table -> correlation -> plots -> layer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.backend_bases import MouseEvent

from napari_msc_morph.analysis import (
    CORRELATION_METHODS,
    SAMPLE_KEYS,
    aggregate_to_samples,
    correlate,
    correlate_study,
    method_choices,
    read_readouts,
)
from napari_msc_morph.widgets.correlation_widget import CorrelationWidget
from napari_msc_morph.widgets.results_table import get_results_table

DAYS = (0, 7, 14, 21)


def _fill_viewer(viewer, donors=("D1", "D2")):
    """One small image layer per sample with an OsScore rising with day, in the results table."""
    rng = np.random.default_rng(0)
    table = get_results_table(viewer)
    truth = {}
    for donor in donors:
        for day in DAYS:
            sample = f"{donor}_d{day}"
            layer = viewer.add_image(np.zeros((8, 8), dtype=np.uint8), name=sample)
            score = day / 21 + rng.normal(0, 0.05)
            truth[sample] = score
            table.update_layer_row(layer, {"osscore": score, "cell_count": int(rng.integers(80, 120)),
                                           "sample_id": sample, "donor": donor, "day": day,
                                           "condition": "induced"})
    rows = []
    for sample, score in truth.items():
        for rep in (1, 2):
            rows.append({"sample_id": sample, "replicate": rep,
                         "RUNX2_qPCR": 3 * score + 1 + rng.normal(0, 0.2),
                         "OCN_western": 2 * score + rng.normal(0, 0.2)})
    return table, pd.DataFrame(rows)


def test_correlate_from_the_results_table_and_click_a_point(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    table, readouts = _fill_viewer(viewer)
    widget = CorrelationWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Correlation")
    readout_file = tmp_path / "readouts.csv"
    readouts.to_csv(readout_file, index=False)
    widget.load_readouts(readout_file)
    results = widget.compute()
    expected = correlate(aggregate_to_samples(table.to_dataframe()), read_readouts(readouts))
    pd.testing.assert_frame_equal(results, expected)
    runx2 = results[(results.marker == "RUNX2") & (results.method == "pearson")
                    & (results.score == "osscore")]
    assert runx2["n"].item() == 8 and runx2["r"].item() > 0.9
    assert widget.table.rowCount() == len(results)
    assert widget.score_combo.currentText() == "osscore"
    widget.wait_for_plots()  # built and drawn in the plot thread
    panels = [ax for ax in widget.scatter_canvas.figure.axes if ax.get_visible()]
    assert len(panels) == 2
    assert len(widget.heatmap_canvas.figure.axes[0].images) == 1
    # osscore, cell_count, RUNX2 (qPCR), OCN (western) against day
    assert len([ax for ax in widget.time_canvas.figure.axes if ax.get_visible()]) == 4

    # click the point of one sample in the RUNX2 panel: its layer is selected and shown
    viewer.layers["D2_d14"].visible = False
    viewer.layers.selection.active = viewer.layers["D1_d0"]
    widget.tabs.setCurrentIndex(0)
    canvas = widget.scatter_canvas
    canvas.draw()
    ax = next(ax for ax in panels if ax.get_title().startswith("RUNX2"))
    joined = widget.joined
    point = joined[(joined.marker == "RUNX2") & (joined.sample_id == "D2_d14")].iloc[0]
    x, y = ax.transData.transform((point["osscore"], point["value"]))
    MouseEvent("button_press_event", canvas, x, y, button=1)._process()
    assert viewer.layers.selection.active is viewer.layers["D2_d14"]
    assert viewer.layers["D2_d14"].visible
    assert table.highlighted_rows() == [6]
    assert "D2_d14" in widget.status.text()

    written = widget.save_plots(tmp_path / "plots")
    assert sorted(p.suffix for p in written) == [".png", ".png", ".png", ".svg", ".svg", ".svg"]


def test_join_on_day_and_condition(make_napari_viewer):
    viewer = make_napari_viewer()
    table, readouts = _fill_viewer(viewer)
    by_day = readouts.assign(day=readouts["sample_id"].str.split("_d").str[1].astype(int),
                             condition="induced").drop(columns=["sample_id"])
    widget = CorrelationWidget(viewer)
    widget.join_combo.setCurrentText("day, condition")
    widget.method_combo.setCurrentText("spearman")
    widget.load_readouts(by_day)
    results = widget.compute()
    assert set(results["method"]) == {"spearman"} and set(results["n"]) == {4}
    # clicking a day/condition point selects both donors' layers of that day
    layers = widget.select_samples([(14.0, "induced")])
    assert {layer.name for layer in layers} == {"D1_d14", "D2_d14"}
    assert set(viewer.layers.selection) == set(layers)


def test_run_button_reports_user_errors_without_raising(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    table, readouts = _fill_viewer(viewer)
    widget = CorrelationWidget(viewer)
    readouts.drop(columns=["sample_id"]).assign(batch=1).to_csv(tmp_path / "r.csv", index=False)
    widget.readout_path.setText(str(tmp_path / "r.csv"))
    widget.run_button.click()
    qtbot.waitUntil(lambda: widget.run_button.isEnabled(), timeout=10000)
    assert "no sample column" in widget.status.text()
    # a good file through the button: computed off the GUI thread, then drawn
    readouts.to_csv(tmp_path / "r.csv", index=False)
    widget.run_button.click()
    qtbot.waitUntil(lambda: widget.results is not None, timeout=10000)
    qtbot.waitUntil(lambda: widget.run_button.isEnabled(), timeout=10000)
    assert widget.table.rowCount() == len(widget.results) == 2 * 2 * 2  # 2 scores, 2 pairs, both


def test_few_samples_warn_in_the_status(make_napari_viewer):
    viewer = make_napari_viewer()
    table, readouts = _fill_viewer(viewer, donors=("D1",))
    widget = CorrelationWidget(viewer)
    widget.load_readouts(readouts[readouts.sample_id != "D1_d21"])
    results = widget.compute()
    assert results["r"].isna().all()
    # the status line counts the warnings; its tooltip and Details… list them
    assert "2 warnings" in widget.status.text()
    assert "only 3 sample" in widget.status.toolTip()
    assert widget.warnings_button.isVisibleTo(widget)
    box = widget.show_warnings()
    assert "only 3 sample" in box.detailedText()
    box.close()


def test_missing_readout_file_is_a_clear_error(make_napari_viewer):
    viewer = make_napari_viewer()
    widget = CorrelationWidget(viewer)
    with pytest.raises(ValueError, match="Choose a readout file"):
        widget.compute()


def test_button_and_compute_equal_a_direct_correlate_study_call(make_napari_viewer, qtbot,
                                                                  tmp_path):
    viewer = make_napari_viewer()
    table, readouts = _fill_viewer(viewer)
    readouts.to_csv(tmp_path / "r.csv", index=False)
    direct = correlate_study(table.to_dataframe(), tmp_path / "r.csv", on="sample_id",
                             method="spearman")
    widget = CorrelationWidget(viewer)
    widget.load_readouts(tmp_path / "r.csv")
    widget.method_combo.setCurrentText("spearman")
    pd.testing.assert_frame_equal(widget.compute(), direct.results)
    widget.results = None
    widget.run_button.click()
    assert widget.worker is not None and not widget.run_button.isEnabled()
    assert widget.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: widget.results is not None, timeout=20000)
    qtbot.waitUntil(lambda: widget.run_button.isEnabled(), timeout=10000)
    pd.testing.assert_frame_equal(widget.results, direct.results)
    pd.testing.assert_frame_equal(widget.joined, direct.joined)
    # the engine's progress reached the shared panel's bar
    assert widget.progress.maximum() == widget.progress.value() == 1  # finished, succeeded
    assert not widget.cancel_button.isEnabled()


def test_combos_come_from_the_registries(make_napari_viewer):
    widget = CorrelationWidget(make_napari_viewer())
    items = lambda combo: [combo.itemText(i) for i in range(combo.count())]  # noqa: E731
    assert items(widget.method_combo) == method_choices()
    assert widget.method_combo.currentText() == "both"
    assert items(widget.plot_method_combo) == CORRELATION_METHODS.names()
    assert items(widget.join_combo) == SAMPLE_KEYS.names()


def test_progress_moves_the_bar_and_cancel_stops_the_job(make_napari_viewer, qtbot, tmp_path,
                                                         monkeypatch):
    import threading

    from napari_msc_morph.widgets import correlation_widget as module

    viewer = make_napari_viewer()
    table, readouts = _fill_viewer(viewer)
    widget = CorrelationWidget(viewer)
    widget.load_readouts(readouts)
    release = threading.Event()

    def held(*args, progress=None, cancel=None, **kwargs):
        progress(1, 10, "half way there")  # through the panel's relay to the GUI thread
        release.wait(10)  # the user presses Cancel meanwhile
        return correlate_study(*args, progress=progress, cancel=cancel, **kwargs)

    monkeypatch.setattr(module, "correlate_study", held)
    widget.run_button.click()
    qtbot.waitUntil(lambda: widget.status.text() == "half way there", timeout=10000)
    assert widget.progress.maximum() == 10 and widget.progress.value() == 1
    widget.cancel_button.click()
    release.set()
    qtbot.waitUntil(lambda: widget.run_button.isEnabled(), timeout=10000)
    assert widget.status.text() == "Cancelled."
    assert widget.results is None


def test_works_with_the_viewer_napari_hands_a_plugin_dock(make_napari_viewer):
    # napari gives plugin docks a restricted (public-only) view of the viewer; the dock
    # must correlate and select layers through it as it is.
    viewer = make_napari_viewer()
    table, readouts = _fill_viewer(viewer)
    _, widget = viewer.window.add_plugin_dock_widget("napari-msc-morph",
                                                     "Correlation with readouts")
    assert isinstance(widget, CorrelationWidget)
    widget.load_readouts(readouts)
    results = widget.compute()
    pd.testing.assert_frame_equal(results,
                                  correlate_study(table.to_dataframe(), readouts).results)
    layers = widget.select_samples([("D1_d7",)])
    assert [layer.name for layer in layers] == ["D1_d7"]
    assert viewer.layers.selection.active is viewer.layers["D1_d7"]
