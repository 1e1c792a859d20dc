"""The Segment cells / Measure cells docks and the linked cell table, in a real viewer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from napari.utils._test_utils import read_only_mouse_event
from napari.utils.colormaps import DirectLabelColormap
from napari.utils.interactions import mouse_press_callbacks

from napari_msc_morph.synthetic import if_field
from napari_msc_morph.widgets.measure_widget import MeasureWidget
from napari_msc_morph.widgets.segment_widget import SegmentWidget


@pytest.fixture(scope="module")
def field():
    return if_field(size=(192, 192), n_cells=8, seed=5)


def add_field(viewer, field, labels=True):
    scale = (field.pixel_size_um, field.pixel_size_um)
    for name in ("DAPI", "actin", "RUNX2"):
        viewer.add_image(field.channels[name], name=name, scale=scale, colormap=field.channel_colormaps[name],
                         blending="additive")
    if labels:
        viewer.add_labels(field.nuclei, name="nuclei", scale=scale)
        return viewer.add_labels(field.cells, name="cells", scale=scale)
    return None


def wait_for(qtbot, widget, timeout=20000):
    """Wait until the dock's JobDock worker has finished (it clears ``widget.worker``)."""
    qtbot.waitUntil(lambda: not widget.busy and not widget.cancel_button.isEnabled(),
                    timeout=timeout)


def run_and_wait(qtbot, widget, timeout=20000):
    worker = widget.run()
    assert worker is not None, widget.status.text()   # a job was started
    wait_for(qtbot, widget, timeout)
    return worker


def measure(qtbot, widget, labels="cells"):
    widget.labels_combo.setCurrentText(labels)
    run_and_wait(qtbot, widget)


def test_segment_widget_adds_nuclei_and_cells_layers(make_napari_viewer, qtbot, field):
    viewer = make_napari_viewer()
    add_field(viewer, field, labels=False)
    widget = SegmentWidget(viewer)
    assert widget.nuclei_combo.currentText() == "DAPI"     # picked by name
    assert widget.exclude_border.isChecked()               # on by default
    widget.exclude_border.setChecked(False)                # this test counts every nucleus
    widget.cyto_combo.setCurrentText("actin")
    widget.min_diameter.setValue(10)
    widget.max_diameter.setValue(60)
    run_and_wait(qtbot, widget)
    nuclei, cells = viewer.layers["DAPI nuclei"], viewer.layers["DAPI cells"]
    assert nuclei.data.max() == field.nuclei.max() == 8
    assert set(np.unique(cells.data)) == set(np.unique(nuclei.data))
    np.testing.assert_allclose(cells.scale, viewer.layers["DAPI"].scale)
    # running again updates the same layers
    run_and_wait(qtbot, widget)
    assert [layer.name for layer in viewer.layers].count("DAPI nuclei") == 1
    assert "8 nuclei, 8 cells" in widget.status.text()


def test_measure_writes_features_table_and_results_row(make_napari_viewer, qtbot, field):
    viewer = make_napari_viewer()
    layer = add_field(viewer, field)
    widget = MeasureWidget(viewer)
    widget.labels_combo.setCurrentText("cells")
    assert widget.pixel_size.value() == pytest.approx(field.pixel_size_um, abs=1e-4)  # from the scale
    widget.nuclei_combo.setCurrentText("nuclei")
    widget.set_channels(["DAPI", "RUNX2"])
    measure(qtbot, widget)
    features = layer.features
    assert len(features) == len(field.truth)
    assert list(features["index"]) == list(features["label"])
    merged = features.merge(field.truth, on="label", suffixes=("", "_true"))
    assert (merged["area_px"] == merged["area_px_true"]).all()
    np.testing.assert_allclose(merged["area_um2"], merged["area_um2_true"], rtol=1e-4)  # spinbox: 4 decimals
    assert {"RUNX2_nuc_mean", "DAPI_mean", "nc_ratio"} <= set(features.columns)
    table = widget.cell_table()
    assert len(table.table) == len(field.truth) and table.model.rowCount() == len(field.truth)
    from napari_msc_morph.widgets.results_table import get_results_table

    results = get_results_table(viewer).to_dataframe()
    row = results[results["layer"] == "cells"].iloc[0]
    assert row["n_cells"] == len(field.truth) and row["area_um2_median"] > 0


def test_row_click_selects_and_centres_cell_and_canvas_click_selects_row(make_napari_viewer, qtbot, field):
    viewer = make_napari_viewer()
    layer = add_field(viewer, field)
    widget = MeasureWidget(viewer)
    measure(qtbot, widget)
    table = widget.cell_table()
    row = 3
    label = int(table.table.loc[row, "label"])
    table.highlight.setChecked(True)
    table.select_row(row)
    assert layer.selected_label == label and layer.show_selected_label
    expected = np.array([table.table.loc[row, "centroid_y_um"], table.table.loc[row, "centroid_x_um"]])
    camera = viewer.scene.camera if hasattr(viewer, "scene") else viewer.camera
    np.testing.assert_allclose(camera.center[-2:], expected, atol=1e-6)
    # sorting the view keeps the link: the clicked view row maps to the right cell
    from qtpy.QtCore import Qt

    table.view.sortByColumn(list(table.table.columns).index("area_px"), Qt.SortOrder.DescendingOrder)
    table.view.selectRow(0)
    biggest = table.table.loc[table.table["area_px"].idxmax(), "label"]
    assert layer.selected_label == biggest
    # canvas -> table: click inside another cell
    target = field.truth.iloc[5]
    cy, cx = np.argwhere(field.cells == target["label"]).mean(axis=0).round().astype(int)
    if field.cells[cy, cx] != target["label"]:
        cy, cx = np.argwhere(field.cells == target["label"])[0]
    world = layer.data_to_world((cy, cx))
    mouse_press_callbacks(layer, read_only_mouse_event(type="mouse_press", position=tuple(world)))
    assert table.table.loc[table.selected_row(), "label"] == target["label"]
    assert layer.selected_label == target["label"]


def test_colour_by_feature_histogram_and_export(make_napari_viewer, qtbot, field, tmp_path):
    viewer = make_napari_viewer()
    layer = add_field(viewer, field)
    widget = MeasureWidget(viewer)
    measure(qtbot, widget)
    table = widget.cell_table()
    table.colour_by_feature("area_um2", "viridis")
    assert isinstance(layer.colormap, DirectLabelColormap)
    small = int(table.table.loc[table.table["area_um2"].idxmin(), "label"])
    big = int(table.table.loc[table.table["area_um2"].idxmax(), "label"])
    assert not np.allclose(layer.get_color(small), layer.get_color(big))
    assert table.bar_axes.images and table.bar_axes.get_xlabel() == "area_um2"
    assert sum(p.get_height() for p in table.hist_axes.patches) == len(field.truth)
    table.colour_labels.setChecked(False)
    assert not isinstance(layer.colormap, DirectLabelColormap)
    table.export(tmp_path / "cells.csv")
    exported = pd.read_csv(tmp_path / "cells.csv")
    pd.testing.assert_frame_equal(exported, table.table, check_dtype=False)
    table.export(tmp_path / "cells.xlsx")
    assert len(pd.read_excel(tmp_path / "cells.xlsx")) == len(field.truth)


def test_no_pixel_size_gives_pixel_columns(make_napari_viewer, qtbot, field):
    viewer = make_napari_viewer()
    layer = viewer.add_labels(field.cells, name="cells")        # scale 1 = unknown
    widget = MeasureWidget(viewer)
    assert widget.pixel_size.value() == 0
    measure(qtbot, widget)
    assert "area_px" in layer.features and "area_um2" not in layer.features
    widget.pixel_size.setValue(0.5)
    measure(qtbot, widget)
    assert layer.features["area_um2"].iloc[0] == layer.features["area_px"].iloc[0] * 0.25


@pytest.mark.parametrize(
    "case,message",
    [
        ("rgb", "is an RGB image, not labels"),
        ("float", "labels must be whole numbers"),
        ("shape", "Channel layer “small” has shape (50, 50)"),
        ("nan", "Channel layer “holey” contains 1 NaN"),
        ("empty", "has no objects"),
        ("nothing", "Choose a Labels layer"),
    ],
)
def test_bad_input_is_explained_and_viewer_keeps_working(make_napari_viewer, qtbot, case, message):
    viewer = make_napari_viewer()
    labels = np.zeros((60, 60), np.int32)
    labels[10:20, 10:20] = 1
    if case == "rgb":
        viewer.add_image(np.zeros((60, 60, 3), np.uint8), name="photo", rgb=True)
        name = "photo"
    elif case == "float":
        viewer.add_image(np.ones((60, 60), np.float32), name="probabilities")
        name = "probabilities"
    elif case == "empty":
        viewer.add_labels(np.zeros((60, 60), np.int32), name="blank")
        name = "blank"
    elif case == "nothing":
        name = ""
    else:
        viewer.add_labels(labels, name="cells")
        name = "cells"
        if case == "shape":
            viewer.add_image(np.ones((50, 50)), name="small")
        else:
            image = np.ones((60, 60))
            image[5, 5] = np.nan
            viewer.add_image(image, name="holey")
    widget = MeasureWidget(viewer)
    if name:
        widget.labels_combo.setCurrentText(name)
    if case in ("rgb", "float"):
        widget.set_channels([])
    if case == "shape":  # not pre-checked (wrong size); the user ticks it anyway
        widget.set_channels(["small"])
    widget.run()
    assert message in widget.status.text()
    assert widget.worker is None and widget.run_button.isEnabled()


def test_segment_widget_rejects_an_empty_rgb_and_swapped_diameters(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((40, 40, 3), np.uint8), name="photo", rgb=True)
    widget = SegmentWidget(viewer)
    widget.run()
    assert "holds no signal" in widget.status.text()  # the colour used is empty too
    viewer.add_image(np.zeros((40, 40), np.uint16), name="DAPI")
    widget.refresh_layers()          # the dock re-lists the layers in the next event-loop turn
    widget.nuclei_combo.setCurrentText("DAPI")
    widget.min_diameter.setValue(50)
    widget.max_diameter.setValue(10)
    widget.run()
    assert "swap them" in widget.status.text()


def test_large_field_runs_in_a_worker_with_progress_and_cancel(make_napari_viewer, qtbot,
                                                               monkeypatch):
    from skimage.segmentation import expand_labels

    from napari_msc_morph.widgets import measure_widget

    rng = np.random.default_rng(0)
    seeds = np.zeros((1024, 1024), np.int32)
    seeds[tuple(rng.integers(0, 1024, (2, 800)))] = np.arange(1, 801)
    viewer = make_napari_viewer()
    viewer.add_labels(expand_labels(seeds, 15), name="cells")
    widget = MeasureWidget(viewer)
    steps = []
    engine = measure_widget.measure_field

    def spy(*args, progress=None, **kwargs):   # the progress the engine gives the dock
        def record(done, total, message):
            steps.append((done, total, message))
            progress(done, total, message)
        return engine(*args, progress=record, **kwargs)

    monkeypatch.setattr(measure_widget, "measure_field", spy)
    widget.run()
    assert widget.cancel_button.isEnabled()            # returned at once; work is off-thread
    wait_for(qtbot, widget)
    assert widget.last_table is not None and len(widget.last_table) > 700
    assert steps and steps[-1][0] == steps[-1][1]
    # Cancel: the worker stops at its next step and no table arrives
    widget.last_table = None
    widget.run()
    widget.cancel()
    wait_for(qtbot, widget)
    assert widget.last_table is None and widget.status.text() == "Cancelled."


def test_segment_dock_gives_the_engine_result(make_napari_viewer, qtbot, field):
    """The dock only translates layers: its labels are segment_field's, array for array."""
    from napari_msc_morph.morphology import segment_field

    viewer = make_napari_viewer()
    add_field(viewer, field, labels=False)
    widget = SegmentWidget(viewer)
    widget.cyto_combo.setCurrentText("actin")
    widget.min_diameter.setValue(10)
    widget.max_diameter.setValue(60)
    widget.exclude_border.setChecked(True)
    widget.threshold.setCurrentText("li")
    run_and_wait(qtbot, widget)
    expected = segment_field(field.channels["DAPI"], field.channels["actin"], diameter=(10, 60),
                             threshold_method="li", exclude_border=True)
    np.testing.assert_array_equal(viewer.layers["DAPI nuclei"].data, expected.nuclei)
    np.testing.assert_array_equal(viewer.layers["DAPI cells"].data, expected.cells)
    assert widget.status.text() == expected.summary() + "."


def test_segment_dock_choices_come_from_the_registries(make_napari_viewer):
    from napari_msc_morph.morphology import THRESHOLD_METHODS, available_backends

    widget = SegmentWidget(make_napari_viewer())
    assert [widget.threshold.itemText(i) for i in range(widget.threshold.count())] == \
        THRESHOLD_METHODS.names()
    assert [widget.backend.itemText(i) for i in range(widget.backend.count())] == \
        available_backends()


def test_segment_dock_reports_mismatched_cytoplasm_at_once(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((40, 40), np.uint16), name="DAPI")
    viewer.add_image(np.zeros((30, 40), np.uint16), name="actin")
    widget = SegmentWidget(viewer)
    widget.cyto_combo.setCurrentText("actin")
    assert widget.run() is None
    assert "Cytoplasm layer “actin” has shape (30, 40)" in widget.status.text()
    assert widget.worker is None and widget.run_button.isEnabled()


def test_measure_dock_gives_the_engine_result(make_napari_viewer, qtbot, field):
    """layer.features and the summary are measure_field's table and summary."""
    from napari_msc_morph.morphology import measure_field

    viewer = make_napari_viewer()
    layer = add_field(viewer, field)
    widget = MeasureWidget(viewer)
    widget.nuclei_combo.setCurrentText("nuclei")
    widget.set_channels(["DAPI", "RUNX2"])
    widget.labels_combo.setCurrentText("cells")
    widget.pixel_size.setValue(0.5)      # an edited size wins over the layer's scale
    measure(qtbot, widget)
    expected = measure_field(field.cells, {"DAPI": field.channels["DAPI"],
                                           "RUNX2": field.channels["RUNX2"]},
                             field.nuclei, 0.5, pixel_size_source="user")
    pd.testing.assert_frame_equal(layer.features.drop(columns="index"), expected.table)
    pd.testing.assert_frame_equal(widget.last_summary, expected.summary)
    assert widget.last_summary["pixel_size_source"].tolist() == ["user"]  # edited, not the scale


def test_rerun_from_plugin_docks_updates_one_row_per_layer(make_napari_viewer, qtbot, field):
    # napari gives plugin docks a proxy of the viewer (and of its layers): rows must
    # still be found again for the same layer, not duplicated
    from napari_msc_morph.widgets.results_table import get_results_table

    viewer = make_napari_viewer()
    viewer.add_labels(field.cells, name="cells")
    _, widget = viewer.window.add_plugin_dock_widget("napari-msc-morph", "Measure cells")
    widget.labels_combo.setCurrentText("cells")
    widget.run()
    wait_for(qtbot, widget)
    widget.pixel_size.setValue(0.5)
    widget.run()
    wait_for(qtbot, widget)
    table = get_results_table(viewer).to_dataframe()
    assert table["layer"].tolist() == ["cells"]
    assert table["pixel_size_source"].tolist() == ["user"]


def test_segment_dock_excludes_the_border_by_default_and_measure_reports_it(
        make_napari_viewer, qtbot, field):
    """Default dock run = segment_field's default (border exclusion on); the count reaches
    the status line and the Measure dock's summary column n_border_excluded; without a
    threshold the fraction positive is left empty and the status says how to give one."""
    from napari_msc_morph.morphology import segment_field

    viewer = make_napari_viewer()
    add_field(viewer, field, labels=False)
    widget = SegmentWidget(viewer)
    widget.cyto_combo.setCurrentText("actin")
    widget.min_diameter.setValue(10)
    widget.max_diameter.setValue(60)
    run_and_wait(qtbot, widget)
    expected = segment_field(field.channels["DAPI"], field.channels["actin"], diameter=(10, 60))
    assert expected.n_border_excluded is not None
    np.testing.assert_array_equal(viewer.layers["DAPI cells"].data, expected.cells)
    assert "touching the border excluded" in widget.status.text()
    assert viewer.layers["DAPI cells"].metadata["n_border_excluded"] == expected.n_border_excluded

    measure_dock = MeasureWidget(viewer)
    measure_dock.labels_combo.setCurrentText("DAPI cells")
    measure_dock.set_channels(["RUNX2"])
    run_and_wait(qtbot, measure_dock)
    summary = measure_dock.last_summary
    assert summary["n_border_excluded"].tolist() == [expected.n_border_excluded]
    assert summary["RUNX2_threshold_source"].tolist() == ["none"]
    assert np.isnan(summary["RUNX2_fraction_positive"].iloc[0])
    assert "No positive-cell threshold for RUNX2" in measure_dock.status.text()
    assert "--thresholds-from" in measure_dock.status.text()


def test_docks_default_to_the_layers_that_fit(make_napari_viewer, field):
    # Segment: the DAPI layer for nuclei and the open actin layer for whole cells;
    # Measure: cell labels (nuclei as their nucleus compartment), not the nuclei alone
    viewer = make_napari_viewer()
    viewer.add_image(field.channels["DAPI"], name="field DAPI")
    viewer.add_image(field.channels["actin"], name="field actin")
    segment = SegmentWidget(viewer)
    assert segment.nuclei_combo.currentText() == "field DAPI"
    assert segment.cyto_combo.currentText() == "field actin"
    viewer.add_labels(field.nuclei, name="field DAPI nuclei")
    viewer.add_labels(field.cells, name="field DAPI cells")
    measure = MeasureWidget(viewer)
    assert measure.labels_combo.currentText() == "field DAPI cells"
    assert measure.nuclei_combo.currentText() == "field DAPI nuclei"


def test_measure_does_not_precheck_a_score_map_as_a_channel(make_napari_viewer, field):
    # a score map (one pixel per tile) is offered but not pre-checked: measuring it
    # against full-size labels would fail the shape check
    viewer = make_napari_viewer()
    viewer.add_image(field.channels["DAPI"], name="field DAPI")
    viewer.add_image(np.zeros((3, 3), np.float32), name="field DAPI os_score")
    viewer.add_labels(field.cells, name="field DAPI cells")
    measure = MeasureWidget(viewer)
    assert measure.selected_channels() == ["field DAPI"]
    items = [measure.channel_list.item(i).text() for i in range(measure.channel_list.count())]
    assert "field DAPI os_score" in items


def test_segment_widget_uses_the_colour_with_signal_of_an_rgb_export(make_napari_viewer, qtbot):
    # issue 24: an 8-bit RGB export of DAPI needed a manual Split RGB; now the dock takes
    # the channel with signal (blue here) and says so
    field = if_field(size=(128, 128), n_cells=6, seed=3)
    rgb = np.zeros((128, 128, 3), np.uint8)
    rgb[..., 2] = (field.channels["DAPI"] / field.channels["DAPI"].max() * 255).astype(np.uint8)
    viewer = make_napari_viewer()
    viewer.add_image(rgb, name="day7_DAPI_40x", rgb=True)
    widget = SegmentWidget(viewer)
    widget.refresh_layers()
    widget.nuclei_combo.setCurrentText("day7_DAPI_40x")
    assert widget.run() is not None
    qtbot.waitUntil(lambda: not widget.busy, timeout=60_000)
    nuclei = viewer.layers["day7_DAPI_40x nuclei"].data
    assert nuclei.shape == (128, 128) and nuclei.max() >= 4
    assert "blue channel of RGB layer “day7_DAPI_40x”" in widget.status.text()
