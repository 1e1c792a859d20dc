"""The "Compare groups" tab of the Correlation dock, plot export, point -> layer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.backend_bases import MouseEvent

from napari_msc_morph.analysis.compare import compare_groups
from napari_msc_morph.errors import BadInputError
from napari_msc_morph.widgets import _figure_export
from napari_msc_morph.widgets._figure_export import export_figure
from napari_msc_morph.widgets.compare_panel import (
    CELLS_SOURCE,
    FILE_SOURCE,
    LAYER_PREFIX,
    RESULTS_SOURCE,
    ROWS_UNIT,
    ComparePanel,
)
from napari_msc_morph.widgets.correlation_widget import CorrelationWidget
from napari_msc_morph.widgets.results_table import get_results_table

DAYS = (0, 3, 7, 14)


def _results_with_days(viewer, per_day=4):
    """One image layer per sample, OsScore rising with day, in the results table."""
    rng = np.random.default_rng(1)
    table = get_results_table(viewer)
    for day in DAYS:
        for rep in range(per_day):
            name = f"D{rep % 2 + 1}_d{day}_r{rep}"
            layer = viewer.add_image(np.zeros((8, 8), dtype=np.uint8), name=name)
            table.update_layer_row(layer, {"os_score": 0.1 + day / 20 + rng.normal(0, 0.04),
                                           "sample_id": name, "donor": f"D{rep % 2 + 1}",
                                           "day": day, "condition": "induced"})
    return table


def _strip_point_xy(panel, point):
    ax = panel.canvas.figure.axes[0]
    x, y = panel._strip.get_offsets()[point]
    return ax.transData.transform((x, y))


def test_compare_tab_answers_does_osscore_rise_with_day(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    table = _results_with_days(viewer)
    widget = CorrelationWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Correlation")
    panel = widget.compare_panel
    assert widget.tabs.tabText(widget.tabs.indexOf(panel)) == "Compare groups"
    assert panel.source_combo.findText(LAYER_PREFIX + "late") < 0
    late = viewer.add_labels(np.zeros((8, 8), dtype=np.int32), name="late")
    late.features = pd.DataFrame({"index": [1], "label": [1], "area_px": [3.0]})
    panel.source_combo.showPopup()  # opening the Table list re-lists the tables
    panel.source_combo.hidePopup()
    assert panel.source_combo.findText(LAYER_PREFIX + "late") >= 0
    panel.set_source(RESULTS_SOURCE)
    # the column combos default to the score and the day
    assert panel.value_combo.currentText() == "os_score"
    assert panel.by_combo.currentText() == "day"
    assert panel.run() is not None  # the Compare button: a thread worker
    qtbot.waitUntil(lambda: not panel.busy, timeout=30000)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=5000)
    direct = compare_groups(table.to_dataframe(), "os_score", "day")
    assert panel.result.omnibus["p"].item() == direct.omnibus["p"].item()
    assert panel.result.trend["p"].item() == direct.trend["p"].item()
    assert direct.trend["p"].item() < 0.001 and direct.trend["statistic"].item() > 0.9
    pd.testing.assert_frame_equal(panel.result.posthoc, direct.posthoc)
    assert panel.tests.rowCount() == len(direct.long_table())
    assert f"{direct.omnibus['p'].item():.3g}" in panel.status.text()
    assert panel.canvas.wait()  # the plot is built and drawn in the plot thread
    ax = panel.canvas.figure.axes[0]
    # one row per sample: the sample is the unit (the donors span the days)
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"{d}\nn=4 sample_ids" for d in DAYS]
    assert "n = 16 sample_ids" in panel.status.text()

    # paired by donor: the repeated-measures test, the same as the engine's
    panel.paired_combo.setCurrentText("donor")
    paired = panel.compute()
    direct = compare_groups(table.to_dataframe(), "os_score", "day", paired_by="donor")
    assert paired.method == "friedman"
    assert paired.omnibus["p"].item() == direct.omnibus["p"].item()


def test_clicking_a_strip_point_selects_its_layer_and_row(make_napari_viewer):
    viewer = make_napari_viewer()
    table = _results_with_days(viewer)
    panel = ComparePanel(viewer)
    viewer.window.add_dock_widget(panel, name="Compare")
    result = panel.compute()
    viewer.layers.selection.active = viewer.layers[0]
    point = 9
    row = int(result.data.index[point])
    name = table.to_dataframe()["layer"].iloc[row]
    viewer.layers[name].visible = False
    panel.canvas.draw()
    x, y = _strip_point_xy(panel, point)
    MouseEvent("button_press_event", panel.canvas, x, y, button=1)._process()
    assert viewer.layers.selection.active is viewer.layers[name]
    assert viewer.layers[name].visible
    assert table.highlighted_rows() == [row]
    assert name in panel.status.text()


def _measured_labels(viewer, name, radius, condition):
    """A labels layer of 6 disks with a per-cell table, plus an image row with its condition."""
    labels = np.zeros((64, 96), dtype=np.int32)
    yy, xx = np.mgrid[:64, :96]
    for i in range(6):
        cy, cx = 16 + 32 * (i // 3), 16 + 32 * (i % 3)
        labels[(yy - cy) ** 2 + (xx - cx) ** 2 <= (radius + i % 2) ** 2] = i + 1
    layer = viewer.add_labels(labels, name=name)
    area = np.bincount(labels.ravel())[1:]
    layer.features = pd.DataFrame({"index": np.arange(1, 7), "label": np.arange(1, 7),
                                   "area_px": area.astype(float)})
    get_results_table(viewer).update_layer_row(layer, {"n_cells": 6, "condition": condition})
    return layer


def test_are_induced_cells_larger_from_measured_labels(make_napari_viewer):
    viewer = make_napari_viewer()
    _measured_labels(viewer, "ctrl_labels", 5, "control")
    _measured_labels(viewer, "ind_labels", 9, "induced")
    panel = ComparePanel(viewer)
    panel.refresh()
    items = [panel.source_combo.itemText(i) for i in range(panel.source_combo.count())]
    assert LAYER_PREFIX + "ind_labels" in items and CELLS_SOURCE in items
    panel.set_source(CELLS_SOURCE)
    panel.value_combo.setCurrentText("area_px")
    panel.by_combo.setCurrentText("condition")
    # cells of one image per condition: no unit is known, so the engine refuses to count cells
    with pytest.raises(BadInputError, match="'label' column"):
        panel.compute()
    panel.unit_combo.setCurrentText(ROWS_UNIT)  # said explicitly: every cell is a unit
    result = panel.compute()
    cells = panel.current_table()
    assert len(cells) == 12 and set(cells["condition"]) == {"control", "induced"}
    direct = compare_groups(cells, "area_px", "condition", unit="none")
    assert result.omnibus["p"].item() == direct.omnibus["p"].item() < 0.01
    pair = result.posthoc.iloc[0]
    assert (pair["group_a"], pair["group_b"]) == ("control", "induced") and pair["estimate"] > 0
    assert result.trend.empty and "no trend test" in panel.status.text()
    panel.order_edit.setText("control, induced")  # an order: the trend test runs too
    result = panel.compute()
    ordered = compare_groups(cells, "area_px", "condition", order=["control", "induced"],
                             unit="none")
    assert result.trend["p"].item() == ordered.trend["p"].item() < 0.01

    # a click on an induced cell's point selects its Labels layer and that cell's label
    point = int(np.flatnonzero(result.data["group"].to_numpy() == "induced")[2])
    row = cells.iloc[int(result.data.index[point])]
    panel.canvas.draw()
    x, y = _strip_point_xy(panel, point)
    MouseEvent("button_press_event", panel.canvas, x, y, button=1)._process()
    assert viewer.layers.selection.active is viewer.layers["ind_labels"]
    assert viewer.layers["ind_labels"].selected_label == int(row["label"]), panel.status.text()


def test_compare_from_a_csv_file_and_errors_in_the_status(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    panel = ComparePanel(viewer)
    assert panel.run() is None  # empty results table: a message, no exception
    assert "empty" in panel.status.text()
    frame = pd.DataFrame({"day": np.repeat([0, 7, 14], 5),
                          "size": np.r_[np.arange(5), np.arange(5) + 3, np.arange(5) + 6]})
    path = tmp_path / "cells.csv"
    frame.to_csv(path, index=False)
    panel.path_edit.setText(str(path))
    panel.set_source(FILE_SOURCE)
    assert panel.value_combo.currentText() == "size" and panel.by_combo.currentText() == "day"
    result = panel.compute()
    assert result.trend["p"].item() == compare_groups(frame, "size", "day").trend["p"].item()
    # only some rows: the same as comparing the filtered table directly
    frame["condition"] = np.tile(["control", "induced", "induced"], 5)
    frame.to_csv(path, index=False)
    panel.where_edit.setText("condition=induced")
    only = panel.compute()
    direct = compare_groups(frame[frame.condition == "induced"], "size", "day")
    assert only.summary["n"].sum() == 10
    assert only.omnibus["p"].item() == direct.omnibus["p"].item()
    panel.where_edit.setText("conditon=induced")
    assert panel.run() is None and "'conditon'" in panel.status.text()
    panel.where_edit.setText("")
    panel.value_combo.setCurrentText("no_such_column")
    assert panel.run() is not None  # the engine names the missing column; the dock shows it
    qtbot.waitUntil(lambda: not panel.busy, timeout=30000)
    qtbot.waitUntil(lambda: "no_such_column" in panel.status.text(), timeout=5000)
    assert "size" in panel.status.text()  # the message lists the table's columns
    assert panel.result is only  # the last good result stays shown


def test_export_writes_a_valid_png_and_svg(make_napari_viewer, tmp_path, monkeypatch):
    viewer = make_napari_viewer()
    _results_with_days(viewer)
    panel = ComparePanel(viewer)
    panel.compute()
    png = export_figure(panel.canvas.figure, tmp_path / "box.png")
    svg = export_figure(panel.canvas.figure, tmp_path / "box", "svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert svg.name == "box.svg" and b"<svg" in svg.read_bytes()[:2000]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["box.png", "box.svg"]  # no temp files
    # the menu's / buttons' action: a file dialog, then the atomic save
    chosen = tmp_path / "menu" / "chosen.svg"
    monkeypatch.setattr(_figure_export.QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(chosen), "SVG vector image (*.svg)"))
    assert _figure_export._save_dialog(panel.canvas, "svg", "compare") == chosen
    assert b"<svg" in chosen.read_bytes()[:2000]
    widget = CorrelationWidget(viewer)  # every correlation canvas offers the right-click menu
    for canvas in (widget.scatter_canvas, widget.heatmap_canvas, widget.time_canvas,
                   widget.compare_panel.canvas):
        assert "PNG or SVG" in canvas.toolTip()


def test_unit_and_control_in_the_tab(make_napari_viewer, tmp_path):
    """Cells of 3 donors per source: the tab tests donors; a control gives Dunnett."""
    viewer = make_napari_viewer()
    rng = np.random.default_rng(125)
    frame = pd.DataFrame([{"passage": p, "donor": f"{p}_d{d}", "area_um2": m + shift + c}
                          for p, m in (("P2", 1500), ("P6", 1700), ("P10", 1900))
                          for d, shift in enumerate(rng.normal(0, 40, 3))
                          for c in rng.normal(0, 200, 50)])
    path = tmp_path / "cells.csv"
    frame.to_csv(path, index=False)
    panel = ComparePanel(viewer)
    panel.path_edit.setText(str(path))
    panel.set_source(FILE_SOURCE)
    panel.value_combo.setCurrentText("area_um2")
    panel.by_combo.setCurrentText("passage")
    controls = [panel.control_combo.itemText(i) for i in range(panel.control_combo.count())]
    assert controls == ["(none)", "P10", "P2", "P6"]
    result = panel.compute()
    assert result.unit == "donor" and "n = 9 donors (450 rows)" in panel.status.text()
    panel.control_combo.setCurrentText("P10")
    panel.method_combo.setCurrentText("anova")
    result = panel.compute()
    direct = compare_groups(frame, "area_um2", "passage", control="P10", method="anova")
    assert result.posthoc.test.unique().tolist() == ["Dunnett"]
    assert result.posthoc.p.tolist() == direct.posthoc.p.tolist()
    panel.method_combo.setCurrentText("mixed")
    mixed = panel.compute()
    assert mixed.method == "mixed" and mixed.omnibus.n.item() == 9
