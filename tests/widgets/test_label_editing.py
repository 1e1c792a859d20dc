"""Labels a person can fix (issue 23.6): edit after Segment, measure again, tables follow."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QListWidget

from napari_msc_morph.synthetic import if_field
from napari_msc_morph.widgets.label_tools import CLICKS_LAYER, LabelToolsWidget
from napari_msc_morph.widgets.measure_widget import MeasureWidget
from napari_msc_morph.widgets.results_table import get_results_table


@pytest.fixture(scope="module")
def field():
    return if_field(size=(192, 192), n_cells=8, seed=5)


def setup(viewer, field):
    scale = (field.pixel_size_um, field.pixel_size_um)
    viewer.add_image(field.channels["DAPI"], name="DAPI", scale=scale)
    return viewer.add_labels(field.nuclei.copy(), name="nuclei", scale=scale)


def measure(qtbot, widget):
    assert widget.run() is not None, widget.status.text()
    qtbot.waitUntil(lambda: not widget.busy and not widget.cancel_button.isEnabled(),
                    timeout=20000)


def inside(labels, label):
    """A pixel of ``label`` far from its border (the maximum of the distance map)."""
    from scipy import ndimage as ndi

    distance = ndi.distance_transform_edt(labels == label)
    return np.unravel_index(int(np.argmax(distance)), labels.shape)


def n_cells(viewer):
    results = get_results_table(viewer).to_dataframe()
    return int(results.loc[results["layer"] == "nuclei", "n_cells"].iloc[0])


def test_erasing_a_label_marks_the_table_outdated_and_measure_again_updates_it(
        make_napari_viewer, qtbot, field):
    viewer = make_napari_viewer()
    layer = setup(viewer, field)
    widget = MeasureWidget(viewer)
    widget.labels_combo.setCurrentText("nuclei")
    measure(qtbot, widget)
    table = widget.cell_table()
    n = len(table.table)
    assert n == field.nuclei.max() and n_cells(viewer) == n and not widget.edited
    # erase one nucleus the way napari's eraser does: through the layer's edit history
    gone = int(table.table["label"].iloc[0])
    rows, cols = np.nonzero(layer.data == gone)
    layer.data_setitem((rows, cols), 0)
    qtbot.waitUntil(lambda: widget.edited, timeout=5000)  # the debounced check ran
    assert widget.run_button.text() == "Measure again"
    assert "edited" in widget.status.text() and "measure again" in table.title.text()
    measure(qtbot, widget)
    assert len(table.table) == n - 1 and gone not in set(table.table["label"])
    assert len(layer.features) == n - 1 and n_cells(viewer) == n - 1
    assert not widget.edited and widget.run_button.text() == "Measure"
    # undoing the erase is an edit again; undoing back to what was measured is none
    layer.undo()
    assert widget.check_edits()
    layer.redo()
    assert not widget.check_edits()


def test_editing_the_nuclei_of_measured_cells_is_an_edit_too(make_napari_viewer, qtbot, field):
    viewer = make_napari_viewer()
    setup(viewer, field)
    viewer.add_labels(field.cells.copy(), name="cells", scale=viewer.layers["nuclei"].scale)
    widget = MeasureWidget(viewer)
    widget.labels_combo.setCurrentText("cells")
    widget.nuclei_combo.setCurrentText("nuclei")
    measure(qtbot, widget)
    before = viewer.layers["cells"].features.set_index("label").loc[1, "nc_ratio"]
    assert before > 0
    nuclei = viewer.layers["nuclei"]
    rows, cols = np.nonzero(nuclei.data == 1)
    nuclei.data_setitem((rows, cols), 0)
    assert widget.check_edits() and "“nuclei”" in widget.status.text()
    widget.auto_remeasure.setChecked(True)
    widget.labels_combo.setCurrentText("nuclei")  # the user looks elsewhere meanwhile
    widget.nuclei_combo.setCurrentText("(none)")
    nuclei.undo()
    nuclei.redo()
    qtbot.waitUntil(lambda: not widget.edited and not widget.busy, timeout=20000)
    cells = viewer.layers["cells"].features  # measured again: the same layers as before
    assert cells.set_index("label").loc[1, "nc_ratio"] == 0  # cell 1 lost its nucleus
    assert len(cells) == len(field.truth)


def test_painting_with_auto_remeasure_updates_the_area(make_napari_viewer, qtbot, field):
    viewer = make_napari_viewer()
    layer = setup(viewer, field)
    widget = MeasureWidget(viewer)
    widget.labels_combo.setCurrentText("nuclei")
    widget.auto_remeasure.setChecked(True)
    measure(qtbot, widget)
    table = widget.cell_table()
    label = int(table.table["label"].iloc[2])
    before = float(table.table.loc[table.table["label"] == label, "area_px"].iloc[0])
    cy, cx = inside(layer.data, label)
    # paint a 5 x 5 brush square on the background next to the nucleus
    ring = np.argwhere(layer.data == 0)
    ry, rx = ring[np.argmin(np.hypot(ring[:, 0] - cy, ring[:, 1] - cx))]
    square = np.mgrid[ry - 2:ry + 3, rx - 2:rx + 3].reshape(2, -1)
    square = square[:, layer.data[square[0], square[1]] == 0]
    layer.data_setitem((square[0], square[1]), label)
    qtbot.waitUntil(
        lambda: float(table.table.loc[table.table["label"] == label, "area_px"].iloc[0])
        == before + square.shape[1], timeout=20000)
    qtbot.waitUntil(lambda: not widget.busy, timeout=20000)
    assert not widget.edited
    feature = layer.features.loc[layer.features["label"] == label, "area_px"].iloc[0]
    assert feature == before + square.shape[1]


def click(viewer, layer, points):
    tools_points = viewer.layers[CLICKS_LAYER]
    tools_points.data = np.array([layer.data_to_world(p) for p in points])


def test_merge_tool_joins_two_clicked_nuclei_undoably_and_the_table_follows(
        make_napari_viewer, qtbot, field):
    viewer = make_napari_viewer()
    layer = setup(viewer, field)
    measure_dock = MeasureWidget(viewer)
    measure_dock.labels_combo.setCurrentText("nuclei")
    measure(qtbot, measure_dock)
    table = measure_dock.cell_table()
    n = len(table.table)
    tools = LabelToolsWidget(viewer)
    assert tools.labels_combo.currentText() == "nuclei"
    a, b = 2, 5
    areas = table.table.set_index("label")["area_px"]
    points = tools.start_clicking()
    assert points.mode == "add" and viewer.layers.selection.active is points
    click(viewer, layer, [inside(field.nuclei, a), inside(field.nuclei, b)])
    tools.merge()
    assert not np.any(layer.data == b) and np.count_nonzero(layer.data == a) == areas[a] + areas[b]
    assert len(viewer.layers[CLICKS_LAYER].data) == 0  # clicks used up
    assert measure_dock.check_edits()
    measure(qtbot, measure_dock)
    assert len(table.table) == n - 1
    assert table.table.set_index("label").loc[a, "area_px"] == areas[a] + areas[b]
    assert n_cells(viewer) == n - 1
    assert sum(bar.get_height() for bar in table.hist_axes.patches) == n - 1  # the plot too
    layer.undo()  # one Ctrl+Z takes the whole merge back
    np.testing.assert_array_equal(layer.data, field.nuclei)
    # typed ids work too, and a bad request is a message, not a traceback
    tools.ids.setText("1, 3")
    tools.merge_button.click()
    assert not np.any(layer.data == 3)
    tools.ids.setText("1")
    tools.merge_button.click()
    assert "two or more" in tools.status.text()


def test_split_and_cut_tools_make_new_objects(make_napari_viewer, field):
    viewer = make_napari_viewer()
    layer = setup(viewer, field)
    tools = LabelToolsWidget(viewer)
    tools.start_clicking()
    label = 4
    ys, xs = np.nonzero(field.nuclei == label)
    top = (ys.min() + 2, int(np.median(xs[ys == ys.min() + 2])))
    bottom = (ys.max() - 2, int(np.median(xs[ys == ys.max() - 2])))
    click(viewer, layer, [top, bottom])
    tools.image_combo.setCurrentText("DAPI")
    tools.split()
    new = int(field.nuclei.max()) + 1
    assert np.any(layer.data == label) and np.any(layer.data == new)
    assert np.count_nonzero(layer.data == label) + np.count_nonzero(layer.data == new) == len(ys)
    layer.undo()
    np.testing.assert_array_equal(layer.data, field.nuclei)
    # a cut along a horizontal line through the middle of the nucleus
    middle = int(np.median(ys))
    click(viewer, layer, [(middle, xs.min() - 3), (middle, xs.max() + 3)])
    tools.cut()
    assert set(np.unique(layer.data[field.nuclei == label])) == {label, new}
    assert (np.nonzero(layer.data == new)[0] > middle).all()


def test_every_measure_control_has_a_plain_words_tooltip(make_napari_viewer):
    viewer = make_napari_viewer()
    for dock in (MeasureWidget(viewer), LabelToolsWidget(viewer)):
        kinds = (QComboBox, QAbstractSpinBox, QListWidget, QAbstractButton)
        controls = dock.findChildren(kinds)
        assert len(controls) >= 6
        missing = [type(w).__name__ + ":" + (getattr(w, "text", lambda: "")() or "")
                   for w in controls if not w.toolTip().strip()]
        assert not missing, f"{type(dock).__name__}: controls without a tooltip: {missing}"


def test_merge_in_a_stack_edits_only_the_plane_on_screen(make_napari_viewer, field):
    viewer = make_napari_viewer()
    stack = np.stack([field.nuclei, field.nuclei])
    layer = viewer.add_labels(stack.copy(), name="nuclei over time")
    tools = LabelToolsWidget(viewer)
    tools.start_clicking()
    viewer.dims.set_current_step(0, 1)
    ya, xa = inside(field.nuclei, 2)
    yb, xb = inside(field.nuclei, 5)
    # a click left on plane 0 does not count on plane 1
    yc, xc = inside(field.nuclei, 3)
    viewer.layers[CLICKS_LAYER].data = np.array([(1, ya, xa), (1, yb, xb), (0, yc, xc)])
    tools.merge()
    np.testing.assert_array_equal(layer.data[0], field.nuclei)
    assert not np.any(layer.data[1] == 5) and np.any(layer.data[1] == 3)
    assert np.count_nonzero(layer.data[1] == 2) == np.count_nonzero(np.isin(field.nuclei, [2, 5]))
