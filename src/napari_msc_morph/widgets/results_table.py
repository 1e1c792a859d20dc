"""The per-viewer results table: one row per image layer, linked to the layer list.

Other widgets write into it with::

    from napari_msc_morph.widgets.results_table import get_results_table
    get_results_table(viewer).update_layer_row(layer, {"osscore": 0.71, "cell_count": 212})

Rows are keyed by the layer *object*, so renaming a layer keeps its row and
re-running a prediction updates the row instead of adding one. The link goes
both ways: clicking a row selects and shows its layer, selecting a layer
highlights its row, and removing a layer removes its row.

Sample metadata (``sample_id``, ``donor``, ``day``, ``condition``) is editable
in the table, taken from ``layer.metadata`` when a row is created, or parsed
from file names with a pattern such as ``{donor}_P{passage}_d{day}``; edits
are written back to ``layer.metadata`` so they travel with the layer.
"""
from __future__ import annotations

import weakref

from ._results_values import METADATA_COLUMNS
from ._results_widget import ResultsTable

__all__ = ["DOCK_NAME", "METADATA_COLUMNS", "ResultsTable", "get_results_table",
           "results_table_widget"]

#: Name of the dock; the same name napari gives the plugin's "Results table"
#: widget opened from the Plugins menu, so the menu toggles this very dock.
DOCK_NAME = "Results table (MSC Morph)"


# hash(viewer) -> its table. napari hands plugin widgets a proxy of the viewer
# (a different object per widget) whose hash is the viewer's own (ViewerModel
# hashes by id), so the hash is the one public key all docks agree on. Values
# are weak: a table goes when its window (its Qt parent) does.
_TABLES: weakref.WeakValueDictionary[int, ResultsTable] = weakref.WeakValueDictionary()


def _table_for(viewer) -> ResultsTable:
    table = _TABLES.get(hash(viewer))
    if table is None:
        table = ResultsTable(viewer)
        _TABLES[hash(viewer)] = table
    return table


def _dock_of(window, widget):
    """The napari dock widget currently holding ``widget``, or None.

    ``window.dock_widgets`` (public since napari 0.6.2) maps names to the
    inner widgets; the dock wrapper is the inner widget's Qt parent.
    """
    for inner in list(window.dock_widgets.values()):
        if inner is widget:
            return widget.parent()
    return None


def get_results_table(viewer, show: bool = True) -> ResultsTable:
    """Return the viewer's results table, creating and docking it on first use.

    Always the same widget for the same viewer. If its dock was closed, the
    table (with its rows) is docked and shown again.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
    show : bool
        Dock and show the table (default). ``False`` only returns it, for
        widgets that read the table without bringing it forward.

    Returns
    -------
    ResultsTable
    """
    table = _table_for(viewer)
    window = getattr(viewer, "window", None)
    if window is None or not show:  # a ViewerModel has no window to dock into
        return table
    dock = _dock_of(window, table)
    if dock is None:
        window.add_dock_widget(table, name=DOCK_NAME, area="right", tabify=True)
    else:
        dock.show()
        dock.raise_()
    return table


def results_table_widget(napari_viewer=None) -> ResultsTable:
    """npe2 widget factory for "Results table": the viewer's one table.

    napari calls function factories without arguments (only QWidget classes get
    ``napari_viewer``), so the current viewer is used when none is given. The
    table is handed back undocked so that napari docks it under the plugin's
    name; if it sits in a dock of ours, that dock is removed first.
    """
    if napari_viewer is None:
        import napari

        napari_viewer = napari.current_viewer()
    if napari_viewer is None:
        raise RuntimeError("The results table needs an open napari viewer.")
    table = _table_for(napari_viewer)
    window = getattr(napari_viewer, "window", None)
    if window is not None:
        dock = _dock_of(window, table)
        if dock is not None:
            window.remove_dock_widget(dock)
    return table
