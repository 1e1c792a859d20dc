"""The results table dock: one per viewer, rows keyed by layer, linked both ways to the layer list."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_msc_morph.io import read_table
from napari_msc_morph.widgets.results_table import (
    DOCK_NAME,
    ResultsTable,
    get_results_table,
    results_table_widget,
)


def _image(viewer, name, **kwargs):
    return viewer.add_image(np.zeros((8, 8), dtype=np.uint8), name=name, **kwargs)


def test_one_table_per_viewer_docked_on_first_call(make_napari_viewer):
    viewer = make_napari_viewer()
    table = get_results_table(viewer)
    assert isinstance(table, ResultsTable)
    assert get_results_table(viewer) is table
    assert DOCK_NAME in viewer.window._wrapped_dock_widgets
    # closing the dock (its X button) and asking again re-docks the same table, rows kept
    layer = _image(viewer, "a")
    table.update_layer_row(layer, {"osscore": 0.5})
    viewer.window._wrapped_dock_widgets[DOCK_NAME].destroyOnClose()
    assert DOCK_NAME not in viewer.window._wrapped_dock_widgets
    assert get_results_table(viewer) is table
    assert DOCK_NAME in viewer.window._wrapped_dock_widgets
    assert table.to_dataframe()["osscore"].tolist() == [0.5]


def test_show_false_returns_the_table_without_bringing_it_forward(make_napari_viewer):
    viewer = make_napari_viewer()
    table = get_results_table(viewer, show=False)
    assert DOCK_NAME not in viewer.window._wrapped_dock_widgets
    assert get_results_table(viewer) is table
    assert DOCK_NAME in viewer.window._wrapped_dock_widgets


def test_a_second_viewer_gets_its_own_table(make_napari_viewer):
    first, second = make_napari_viewer(), make_napari_viewer()
    assert get_results_table(first) is not get_results_table(second)


def test_update_layer_row_upserts_by_layer_object(make_napari_viewer):
    viewer = make_napari_viewer()
    a, b = _image(viewer, "a"), _image(viewer, "b")
    table = get_results_table(viewer)
    table.update_layer_row(a, {"osscore": 0.5})
    table.update_layer_row(b, {"cell_count": 10})
    table.update_layer_row(a, {"osscore": 0.7, "donor": "D1"})  # a re-run updates the row
    frame = table.to_dataframe()
    assert list(frame.columns) == ["layer", "osscore", "cell_count", "sample_id", "donor", "day",
                                   "condition"]
    assert list(frame["layer"]) == ["a", "b"]
    assert frame.loc[0, "osscore"] == 0.7 and np.isnan(frame.loc[1, "osscore"])
    assert frame.loc[1, "cell_count"] == 10
    assert frame.loc[0, "donor"] == "D1" and a.metadata["donor"] == "D1"
    assert table.table_widget.rowCount() == 2


def test_rename_and_remove_follow_the_layer_list(make_napari_viewer):
    viewer = make_napari_viewer()
    a, b = _image(viewer, "a"), _image(viewer, "b")
    table = get_results_table(viewer)
    table.update_layer_row(a, {"osscore": 0.1})
    table.update_layer_row(b, {"osscore": 0.2})
    a.name = "renamed"
    assert table.to_dataframe()["layer"].tolist() == ["renamed", "b"]
    assert table.table_widget.item(0, 0).text() == "renamed"
    table.update_layer_row(a, {"osscore": 0.3})  # still the same row after the rename
    assert len(table.to_dataframe()) == 2
    viewer.layers.remove(b)
    assert table.to_dataframe()["layer"].tolist() == ["renamed"]
    assert table.table_widget.rowCount() == 1


def test_row_click_selects_and_shows_layer_and_selection_highlights_row(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    a, b, c = _image(viewer, "a"), _image(viewer, "b", visible=False), _image(viewer, "c")
    table = get_results_table(viewer)
    for layer in (a, b, c):
        table.update_layer_row(layer, {"osscore": 0.5})
    # table -> layer list: a real click on row 1
    rect = table.table_widget.visualItemRect(table.table_widget.item(1, 0))
    qtbot.mouseClick(table.table_widget.viewport(), qtbot_left(), pos=rect.center())
    assert viewer.layers.selection.active is b
    assert set(viewer.layers.selection) == {b}
    assert b.visible
    # layer list -> table
    viewer.layers.selection.active = c
    assert table.highlighted_rows() == [2]
    viewer.layers.selection.update({a, c})
    assert table.highlighted_rows() == [0, 2]
    viewer.layers.selection.clear()
    assert table.highlighted_rows() == []


def qtbot_left():
    from qtpy.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_metadata_from_layer_metadata_edits_and_name_pattern(make_napari_viewer):
    viewer = make_napari_viewer()
    a = _image(viewer, "D3_P4_d14", metadata={"sample_id": "S1", "condition": "induced"})
    b = _image(viewer, "UC7_P10_d0")
    c = _image(viewer, "unrelated")
    table = get_results_table(viewer)
    for layer in (a, b, c):
        table.update_layer_row(layer, {"osscore": 0.1})
    assert table.to_dataframe().loc[0, "sample_id"] == "S1"
    assert table.fill_metadata_from_names("{donor}_P{passage}_d{day}") == 2
    frame = table.to_dataframe()
    assert list(frame.columns[-5:]) == ["sample_id", "donor", "day", "condition", "passage"]
    assert frame.loc[0, ["donor", "day", "passage", "condition"]].tolist() == ["D3", 14, 4, "induced"]
    assert frame.loc[1, ["donor", "day", "passage"]].tolist() == ["UC7", 0, 10]
    assert b.metadata["day"] == 0
    # editing a metadata cell in the table (as a user would type it)
    column = table.columns().index("sample_id")
    table.table_widget.item(2, column).setText("S9")
    assert table.to_dataframe().loc[2, "sample_id"] == "S9" and c.metadata["sample_id"] == "S9"
    day_column = table.columns().index("day")
    table.table_widget.item(2, day_column).setText("21")
    assert table.to_dataframe().loc[2, "day"] == 21
    # value cells are read-only
    from qtpy.QtCore import Qt

    flags = table.table_widget.item(0, table.columns().index("osscore")).flags()
    assert not flags & Qt.ItemFlag.ItemIsEditable
    # a new layer gets the pattern applied when its row is created
    d = _image(viewer, "BM1_P2_d7")
    table.update_layer_row(d, {"osscore": 0.4})
    assert table.to_dataframe().loc[3, "donor"] == "BM1"


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_export_and_import_back(make_napari_viewer, tmp_path, suffix):
    viewer = make_napari_viewer()
    a, b = _image(viewer, "a"), _image(viewer, "b")
    table = get_results_table(viewer)
    table.update_layer_row(a, {"osscore": 0.25, "predicted_passage": "P3", "sample_id": "s1",
                               "day": 7})
    table.update_layer_row(b, {"osscore": 0.75, "sample_id": "s2", "condition": "induced"})
    path = table.export(tmp_path / f"results{suffix}")
    exported = table.to_dataframe()
    on_disk = read_table(path)
    assert list(on_disk.columns) == list(exported.columns)
    table.clear()
    assert table.to_dataframe().empty
    # import back: rows of open layers are re-linked, others kept without a layer
    on_disk = pd.concat([on_disk, pd.DataFrame([{"layer": "closed", "osscore": 0.5}])])
    if suffix == ".xlsx":
        on_disk.to_excel(path, index=False)
    elif suffix == ".parquet":
        on_disk.to_parquet(path, index=False)
    else:
        on_disk.to_csv(path, index=False)
    assert table.import_table(path) == 2
    frame = table.to_dataframe()
    assert frame["layer"].tolist() == ["a", "b", "closed"]
    assert frame["osscore"].tolist() == [0.25, 0.75, 0.5]
    assert frame.loc[0, "day"] == 7 and frame.loc[1, "condition"] == "induced"
    assert table.layer_at(0) is a and table.layer_at(2) is None
    # a later layer of that name adopts the imported row
    closed = _image(viewer, "closed")
    table.update_layer_row(closed, {"osscore": 0.6})
    assert len(table.to_dataframe()) == 3 and table.layer_at(2) is closed
    with pytest.raises(ValueError, match=r"\.csv, \.xlsx, \.parquet"):
        table.export(tmp_path / "results.txt")


def test_import_without_layer_column_is_refused(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    table = get_results_table(viewer)
    pd.DataFrame({"x": [1]}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(ValueError, match="no 'layer' column"):
        table.import_table(tmp_path / "t.csv")


def test_plugin_menu_factory_returns_the_same_table(make_napari_viewer):
    viewer = make_napari_viewer()
    table = get_results_table(viewer)
    assert results_table_widget(viewer) is table
    dock, widget = viewer.window.add_plugin_dock_widget("napari-msc-morph", "Results table")
    assert widget is table
    assert get_results_table(viewer) is table
    assert dock.isVisible() or not viewer.window._qt_window.isVisible()
