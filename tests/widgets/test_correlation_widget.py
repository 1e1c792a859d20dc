"""The correlation dock in a real viewer: results table -> correlation -> plots -> layer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.backend_bases import MouseEvent

from napari_msc_morph.analysis import aggregate_to_samples, correlate, read_readouts
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
    assert "only 3 sample" in widget.status.text()


def test_missing_readout_file_is_a_clear_error(make_napari_viewer):
    viewer = make_napari_viewer()
    widget = CorrelationWidget(viewer)
    with pytest.raises(ValueError, match="Choose a readout file"):
        widget.compute()
