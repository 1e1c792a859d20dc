"""The per-viewer results table: one row per image layer, linked to the layer list.

Other widgets write into it with::

    from napari_msc_morph.widgets.results_table import get_results_table
    get_results_table(viewer).update_layer_row(layer, {"osscore": 0.71, "cell_count": 212})

Rows are keyed by the layer *object*, so renaming a layer keeps its row and
re-running a prediction updates the row instead of adding one.
"""

from __future__ import annotations

import weakref
from typing import Any

import pandas as pd
from qtpy.QtWidgets import QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

#: Sample metadata columns, editable in the table.
METADATA_COLUMNS = ("sample_id", "donor", "day", "condition")

#: Name of the dock; napari names a plugin widget's dock "<display_name> (<plugin>)".
DOCK_NAME = "Results table (MSC Morph)"


class _Row:
    """One table row: a layer, its result values and its sample metadata."""

    def __init__(self, layer, name: str):
        self.layer = layer
        self.name = name
        self.values: dict[str, Any] = {}
        self.metadata: dict[str, Any] = {key: None for key in METADATA_COLUMNS}


class ResultsTable(QWidget):
    """A table of per-image results with one row per napari layer.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
        The viewer whose layers the rows refer to.
    """

    def __init__(self, napari_viewer, parent=None):
        super().__init__(parent)
        self._viewer_ref = weakref.ref(napari_viewer)
        self._rows: list[_Row] = []
        self._value_columns: list[str] = []
        self._table = QTableWidget(0, 0, self)
        layout = QVBoxLayout(self)
        layout.addWidget(self._table)
        self._refresh()

    @property
    def viewer(self):
        return self._viewer_ref()

    # ----------------------------------------------------------------- rows
    def _row_index(self, layer) -> int | None:
        for index, row in enumerate(self._rows):
            if row.layer is layer:
                return index
        return None

    def update_layer_row(self, layer, values: dict) -> None:
        """Insert or update the row of ``layer`` with ``values``.

        New keys become new columns; existing keys are overwritten.
        """
        index = self._row_index(layer)
        if index is None:
            row = _Row(layer, str(layer.name))
            self._rows.append(row)
        else:
            row = self._rows[index]
        for key, value in dict(values).items():
            key = str(key)
            if key in METADATA_COLUMNS:
                row.metadata[key] = value
                continue
            if key == "layer":
                continue
            if key not in self._value_columns:
                self._value_columns.append(key)
            row.values[key] = value
        self._refresh()

    def columns(self) -> list[str]:
        """Column names in display order."""
        return ["layer", *self._value_columns, *METADATA_COLUMNS]

    def to_dataframe(self) -> pd.DataFrame:
        """The table as a DataFrame: ``layer``, the result values, then the metadata."""
        records = []
        for row in self._rows:
            record = {"layer": row.name}
            record.update({key: row.values.get(key) for key in self._value_columns})
            record.update(row.metadata)
            records.append(record)
        return pd.DataFrame.from_records(records, columns=self.columns())

    # -------------------------------------------------------------- display
    def _refresh(self) -> None:
        columns = self.columns()
        self._table.blockSignals(True)
        self._table.setColumnCount(len(columns))
        self._table.setHorizontalHeaderLabels(columns)
        self._table.setRowCount(len(self._rows))
        for r, row in enumerate(self._rows):
            record = {"layer": row.name, **row.values, **row.metadata}
            for c, column in enumerate(columns):
                value = record.get(column)
                text = "" if value is None else _format(value)
                self._table.setItem(r, c, QTableWidgetItem(text))
        self._table.blockSignals(False)


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


# viewer id -> (weak reference to the viewer, its table)
_TABLES: dict[int, tuple[weakref.ref, ResultsTable]] = {}


def _unwrap_viewer(viewer):
    # napari hands plugin widgets a PublicOnlyProxy; key the table by the real viewer.
    return getattr(viewer, "__wrapped__", viewer)


def _existing_table(viewer) -> ResultsTable | None:
    entry = _TABLES.get(id(viewer))
    if entry is not None and entry[0]() is viewer:
        return entry[1]
    return None


def _table_for(viewer) -> ResultsTable:
    viewer = _unwrap_viewer(viewer)
    table = _existing_table(viewer)
    if table is None:
        table = ResultsTable(viewer)
        _TABLES[id(viewer)] = (weakref.ref(viewer), table)
    return table


def _dock_of(window, widget):
    """The napari dock widget currently holding ``widget``, or None."""
    docks = getattr(window, "_wrapped_dock_widgets", None) or {}
    for dock in list(docks.values()):
        if dock.widget() is widget or (
            hasattr(dock, "inner_widget") and dock.inner_widget() is widget
        ):
            return dock
    return None


def get_results_table(viewer) -> ResultsTable:
    """Return the viewer's results table, creating and docking it on first use.

    Always the same widget for the same viewer. If its dock was closed, the
    table (with its rows) is docked and shown again.

    Parameters
    ----------
    viewer : napari.viewer.Viewer

    Returns
    -------
    ResultsTable
    """
    viewer = _unwrap_viewer(viewer)
    table = _table_for(viewer)
    window = getattr(viewer, "window", None)
    if window is None:  # a ViewerModel without a window: nothing to dock into
        return table
    dock = _dock_of(window, table)
    if dock is None:
        window.add_dock_widget(table, name=DOCK_NAME, area="right")
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
    viewer = _unwrap_viewer(napari_viewer)
    table = _table_for(viewer)
    window = getattr(viewer, "window", None)
    if window is not None:
        dock = _dock_of(window, table)
        if dock is not None:
            window.remove_dock_widget(dock)
    return table
