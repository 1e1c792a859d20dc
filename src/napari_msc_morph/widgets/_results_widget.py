"""The results-table widget itself; see :mod:`.results_table` for the per-viewer dock."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from qtpy.QtCore import QItemSelectionModel, Qt
from qtpy.QtGui import QBrush, QColor
from qtpy.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from ..errors import BadInputError
from ..io import read_table
from ..table_export import export_table, file_filters, read_table_metadata
from ._panel import CoalescedRefresh, DockWidget, button, hbox, show_failure
from ._results_rows import ResultRows
from ._results_values import (
    METADATA_COLUMNS,
    NUMERIC_METADATA,
    _is_missing,
    _Row,
    cell_text,
    plane_key,
    results_provenance,
    row_pixel_size,
    same_layer,
    select_layers,
    show_plane,
)
from ._table_view import export_dialog, line_edit


class ResultsTable(ResultRows, DockWidget):
    """A table of per-image results: one row per image layer, one per plane of a stack."""

    def __init__(self, napari_viewer, parent=None):
        DockWidget.__init__(self, parent)
        ResultRows.__init__(self)
        # A strong reference: the table lives in the viewer's window, and while
        # it is registered the viewer's id (its hash) cannot be reused.
        self.viewer = napari_viewer
        self._syncing = False
        self._imported: list[dict] = []  # metadata of imported tables (provenance)
        # deleting many layers removes their rows one event each; the view is rebuilt once
        self._view_refresh = CoalescedRefresh(self, self._refresh)

        self._table = QTableWidget(0, 0, self)
        self._table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        edit = QAbstractItemView.EditTrigger
        self._table.setEditTriggers(edit.DoubleClicked | edit.EditKeyPressed | edit.AnyKeyPressed)
        self._table.itemSelectionChanged.connect(self._on_table_selection)
        self._table.cellChanged.connect(self._on_cell_changed)

        self.pattern_edit = line_edit(
            self, "{donor}_P{passage}_d{day}", "File-name pattern: fields in braces become "
            "metadata columns; day/passage/replicate are numbers; * matches anything.")
        layout = QVBoxLayout(self)
        layout.addLayout(hbox(QLabel("Name pattern:", self), (self.pattern_edit, 1), button(
            self, "Fill from names", "Read donor, day, condition... from every layer's file "
            "name with the pattern on the left.", self._fill_clicked)))
        layout.addWidget(self._table, 1)
        layout.addLayout(hbox(
            button(self, "Export…", "Save the table (CSV or XLSX) with a provenance sidecar.",
                   self._export_clicked),
            button(self, "Import…", "Load a table saved before (or sample metadata) and match "
                   "its rows to the open layers by name.", self._import_clicked), 1))

        layers = napari_viewer.layers
        layers.events.removed.connect(self._on_layer_removed)
        layers.selection.events.changed.connect(self._on_layer_selection)
        self._refresh()

    @property
    def table_widget(self) -> QTableWidget:
        """The ``QTableWidget``, up to date."""
        self._view_refresh.flush()
        return self._table

    def _name_pattern(self) -> str:
        return self.pattern_edit.text().strip()

    def _watch(self, layer) -> None:
        self._unwatch(layer)  # once per layer, however many planes it has
        layer.events.name.connect(self._on_layer_renamed)

    def _unwatch(self, layer) -> None:
        try:
            layer.events.name.disconnect(self._on_layer_renamed)
        except (TypeError, ValueError, RuntimeError):  # already gone
            pass

    def remove_layer_row(self, layer) -> None:
        """Drop the rows of ``layer`` (no-op if it has none); columns only they filled go."""
        rows = self._rows_of(layer)
        if rows:
            self._unwatch(layer)
            self._rows = [row for row in self._rows if row not in rows]
            self._view_refresh.schedule()

    def clear(self) -> None:
        """Remove every row and value column."""
        for row in self._rows:
            if row.layer is not None:
                self._unwatch(row.layer)
        self._rows.clear()
        self._value_columns.clear()
        self._imported.clear()
        self._metadata_columns = list(METADATA_COLUMNS)
        self._refresh()

    # -------------------------------------------------------------- metadata
    def fill_metadata_from_names(self, pattern: str | None = None, overwrite: bool = True) -> int:
        """Parse every row's file (or layer) name with ``pattern`` into metadata.

        Parameters
        ----------
        pattern : str, optional
            Such as ``{donor}_P{passage}_d{day}``; default: the pattern box.
        overwrite : bool
            Replace metadata already set, or fill empty cells only.

        Returns
        -------
        int
            How many rows matched.
        """
        pattern = (pattern if pattern is not None else self.pattern_edit.text()).strip()
        if not pattern:
            raise BadInputError("Type a file-name pattern first, e.g. {donor}_P{passage}_d{day}.")
        if self.pattern_edit.text().strip() != pattern:
            self.pattern_edit.setText(pattern)
        matched = sum(self._apply_pattern(row, pattern, overwrite) for row in self._rows)
        self._refresh()
        return matched

    # ------------------------------------------------------------ export
    def export(self, path: str | os.PathLike) -> Path:
        """Write the table to CSV, XLSX or Parquet (by suffix) with its provenance
        (:func:`~napari_msc_morph.table_export.export_table`), and a ``pixel_size_um``
        for every row whenever one is known."""
        frame = self.to_dataframe()
        metadata = self.export_metadata(frame)
        sizes = [row_pixel_size(row) for row in self._rows]
        if any(size is not None for size in sizes):
            # every row says the size its numbers were made at, as the sidecar's top level does
            sizes = [float("nan") if size is None else size for size in sizes]
            if "pixel_size_um" in frame:
                frame["pixel_size_um"] = sizes
            else:
                frame.insert(1, "pixel_size_um", sizes)
        return export_table(frame, path, metadata)

    def export_metadata(self, frame: pd.DataFrame | None = None) -> dict:
        """The provenance an export carries (:func:`results_provenance`)."""
        frame = self.to_dataframe() if frame is None else frame
        return results_provenance(self._rows, frame, self._imported)

    def import_table(self, path: str | os.PathLike) -> int:
        """Merge in a table exported before, matching rows by layer name; returns how many
        matched an open layer (the others wait for a layer of their name)."""
        frame = read_table(path)
        if "layer" not in frame.columns:
            raise BadInputError(
                f"{Path(path).name} has no 'layer' column; import a table exported from the "
                f"results table. Its columns are {list(frame.columns)}."
            )
        try:
            provenance = read_table_metadata(path)
        except (OSError, ValueError, ImportError):  # a broken sidecar must not block the rows
            provenance = {}
        if provenance:
            self._imported.append({"file": Path(path).name, **provenance})
        layers = {layer.name: layer for layer in self.viewer.layers}
        matched = 0
        for record in frame.to_dict("records"):
            name = str(record.pop("layer"))
            plane = plane_key(record.pop("plane", None))
            layer = layers.get(name)
            if layer is not None:
                row = self._row_for(layer, plane)
                matched += 1
            else:
                row = next((r for r in self._rows if r.layer is None and r.name == name
                            and r.plane == plane), None)
                if row is None:
                    row = _Row(None, name, plane)
                    self._rows.append(row)
            self._set_values(row, {key: None if _is_missing(value) else value
                                   for key, value in record.items()}, also_metadata=NUMERIC_METADATA)
        self._refresh()
        return matched

    # -------------------------------------------------------------- display
    def _refresh(self) -> None:
        columns = self.columns()
        self._syncing = True
        self._table.blockSignals(True)
        try:
            self._table.setColumnCount(len(columns))
            self._table.setHorizontalHeaderLabels(columns)
            self._table.setRowCount(len(self._rows))
            editable = set(self._metadata_columns)
            for r, row in enumerate(self._rows):
                record = {"layer": row.name, **row.values, **row.metadata}
                for c, column in enumerate(columns):
                    item = QTableWidgetItem(cell_text(record.get(column), 4))
                    flags = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled
                    if column in editable and column not in row.fixed:
                        flags |= Qt.ItemFlag.ItemIsEditable
                    item.setFlags(flags)
                    if row.layer is None and column == "layer":
                        item.setForeground(QBrush(QColor("#888888")))
                        item.setToolTip("no open layer of this name")
                    self._table.setItem(r, c, item)
            self._table.resizeColumnsToContents()
        finally:
            self._table.blockSignals(False)
            self._syncing = False
        self._highlight_selected_layers()

    def highlighted_rows(self) -> list[int]:
        """Indices of the rows highlighted (selected) in the table."""
        self._view_refresh.flush()
        return sorted({index.row() for index in self._table.selectionModel().selectedRows()})

    # ------------------------------------------------------- layer list link
    def _on_layer_removed(self, event) -> None:
        self.remove_layer_row(event.value)

    def _on_layer_renamed(self, event) -> None:
        rows = self._rows_of(event.source)
        for row in rows:
            row.name = str(event.source.name)
        if rows:
            self._refresh()

    def _on_layer_selection(self, event=None) -> None:
        if not self._syncing:
            self._highlight_selected_layers()

    def _highlight_selected_layers(self) -> None:
        selected = list(self.viewer.layers.selection)
        rows = [i for i, row in enumerate(self._rows)
                if row.layer is not None and any(same_layer(row.layer, s) for s in selected)]
        self._syncing = True
        try:
            self._table.clearSelection()
            model = self._table.selectionModel()
            flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
            for index in rows:
                model.select(self._table.model().index(index, 0), flags)
            if rows:
                self._table.scrollToItem(self._table.item(rows[0], 0))
        finally:
            self._syncing = False

    def _on_table_selection(self) -> None:
        if self._syncing:
            return
        viewer = self.viewer
        # the rows clicked, read before a pending rebuild re-highlights whole layers
        clicked = sorted({index.row() for index in self._table.selectionModel().selectedRows()})
        rows = [self._rows[i] for i in clicked
                if i < len(self._rows) and self._rows[i].layer is not None]
        layers = []
        for row in rows:
            if row.layer in viewer.layers and not any(same_layer(row.layer, x) for x in layers):
                layers.append(row.layer)
        if not layers:
            return
        self._syncing = True
        try:
            select_layers(viewer, layers)
            if len(rows) == 1 and rows[0].plane is not None:
                show_plane(viewer, rows[0].layer, rows[0].plane)
        finally:
            self._syncing = False

    def select_row(self, index: int) -> None:
        """Select row ``index`` as a click would: selects and shows its layer."""
        self._table.selectRow(index)

    def _on_cell_changed(self, r: int, c: int) -> None:
        if self._syncing:
            return
        column = self.columns()[c]
        if column not in self._metadata_columns or r >= len(self._rows):
            return
        # one edit changes every plane of a stack: the rows are rebuilt after it
        self._set_metadata(self._rows[r], column, self._table.item(r, c).text())
        if self._rows[r].layer is not None and len(self._rows_of(self._rows[r].layer)) > 1:
            self._view_refresh.schedule()

    # --------------------------------------------------------------- buttons
    def _fill_clicked(self) -> None:
        from napari.utils.notifications import show_info, show_warning

        try:
            matched = self.fill_metadata_from_names()
        except BadInputError as err:
            show_warning(str(err))
            return
        if matched < len(self._rows):
            show_warning(
                f"{len(self._rows) - matched} of {len(self._rows)} names do not match "
                f"{self.pattern_edit.text()!r}."
            )
        else:
            show_info(f"Filled metadata of {matched} row(s).")

    def _export_clicked(self) -> None:
        export_dialog(self, self, title="Export results table",
                      default_name="results.csv", write=self.export, report=_report,
                      filters=file_filters())

    def _import_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import results table", "", "Tables (*.csv *.xlsx *.tsv *.parquet)"
        )
        if path:
            try:
                self.import_table(path)
            except Exception as err:  # noqa: BLE001  (a notification; the viewer keeps working)
                _report(err)


def _report(err: BaseException) -> None:
    show_failure(err, "Results table")
