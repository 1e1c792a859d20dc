"""The results table dock: one per viewer, rows keyed by layer, linked to the layer list."""

from __future__ import annotations

import numpy as np

from napari_msc_morph.widgets.results_table import (
    DOCK_NAME,
    ResultsTable,
    get_results_table,
    results_table_widget,
)


def _image(viewer, name):
    return viewer.add_image(np.zeros((8, 8), dtype=np.uint8), name=name)


def test_one_table_per_viewer_docked_on_first_call(make_napari_viewer):
    viewer = make_napari_viewer()
    table = get_results_table(viewer)
    assert isinstance(table, ResultsTable)
    assert get_results_table(viewer) is table
    assert DOCK_NAME in viewer.window._wrapped_dock_widgets
    # closing the dock (its X button) and asking again re-docks the same table
    viewer.window.remove_dock_widget(viewer.window._wrapped_dock_widgets[DOCK_NAME])
    assert DOCK_NAME not in viewer.window._wrapped_dock_widgets
    assert get_results_table(viewer) is table
    assert DOCK_NAME in viewer.window._wrapped_dock_widgets


def test_update_layer_row_upserts_by_layer_object(make_napari_viewer):
    viewer = make_napari_viewer()
    a, b = _image(viewer, "a"), _image(viewer, "b")
    table = get_results_table(viewer)
    table.update_layer_row(a, {"osscore": 0.5})
    table.update_layer_row(b, {"cell_count": 10})
    table.update_layer_row(a, {"osscore": 0.7, "donor": "D1"})
    frame = table.to_dataframe()
    assert list(frame["layer"]) == ["a", "b"]
    assert frame.loc[0, "osscore"] == 0.7
    assert frame.loc[1, "cell_count"] == 10
    assert frame.loc[0, "donor"] == "D1"
    for column in ("sample_id", "donor", "day", "condition"):
        assert column in frame.columns


def test_plugin_menu_factory_returns_the_same_table(make_napari_viewer):
    viewer = make_napari_viewer()
    table = get_results_table(viewer)
    assert results_table_widget(viewer) is table
    dock, widget = viewer.window.add_plugin_dock_widget("napari-msc-morph", "Results table")
    assert widget is table
    assert get_results_table(viewer) is table
