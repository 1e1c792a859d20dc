"""The per-viewer results table: one row per image layer, linked to the layer list.

Docks write into it with ``get_results_table(viewer).update_layer_row(layer, {...})``.
Rows are keyed by the layer *object* (a renamed layer keeps its row); sample metadata
edited in the table is written back to ``layer.metadata`` so it travels with the layer.
"""
from __future__ import annotations

import weakref

from ._results_widget import ResultsTable

__all__ = ["DOCK_NAME", "ResultsTable", "get_results_table", "results_table_widget"]

#: Name of the dock; the same name napari gives the plugin's "Results table"
#: widget opened from the Plugins menu, so the menu toggles this very dock.
DOCK_NAME = "Results table (MSC Morph)"


# hash(viewer) -> its table: each plugin widget gets its own proxy of the viewer, whose
# hash is the viewer's (ViewerModel hashes by id). A table goes with its window.
_TABLES: weakref.WeakValueDictionary[int, ResultsTable] = weakref.WeakValueDictionary()


def _table_for(viewer) -> ResultsTable:
    table = _TABLES.get(hash(viewer))
    if table is None:
        table = ResultsTable(viewer)
        _TABLES[hash(viewer)] = table
    return table


def _dock_of(window, widget):
    """The napari dock widget holding ``widget`` (its Qt parent), or None."""
    docked = any(inner is widget for inner in list(window.dock_widgets.values()))
    return widget.parent() if docked else None


def get_results_table(viewer, show: bool = True) -> ResultsTable:
    """Return the viewer's one results table, docking and showing it (again) if needed.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
    show : bool
        Dock and show the table; ``False`` only returns it.

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
    """npe2 widget factory for "Results table": the viewer's one table (default: the
    current viewer), undocked from a dock of ours so that napari docks it."""
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
