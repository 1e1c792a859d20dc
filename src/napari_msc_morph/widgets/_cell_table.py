"""The per-cell table dock, linked both ways with a Labels layer (row click centres the
cell, a canvas click selects its row), with colour-by-feature, a histogram and export."""

from __future__ import annotations

import numpy as np
import pandas as pd
from qtpy.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from qtpy.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QLabel,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..table_export import export_table, file_filters
from ._panel import button, hbox, show_failure
from ._results_values import cell_text
from ._table_view import export_dialog, set_items

COLORMAPS = ("viridis", "magma", "plasma", "cividis", "coolwarm", "turbo")
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
_ROOT = QModelIndex()  # the invalid (root) index: Qt's default ``parent``


class DataFrameModel(QAbstractTableModel):
    """Read-only Qt model over a DataFrame; sorts on the raw values."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._table = pd.DataFrame()

    def set_table(self, table: pd.DataFrame) -> None:
        self.beginResetModel()
        self._table = table
        self.endResetModel()

    def rowCount(self, parent=_ROOT):  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else len(self._table)

    def columnCount(self, parent=_ROOT):  # noqa: N802
        return 0 if parent.isValid() else self._table.shape[1]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        value = self._table.iat[index.row(), index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(value, 4)
        if role == SORT_ROLE:
            if isinstance(value, (np.integer, np.floating, int, float, bool, np.bool_)):
                value = float(value)
                return value if np.isfinite(value) else float("-inf")
            return str(value)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return str(self._table.columns[section])
        return str(section + 1)


class CellTable(QWidget):
    """Table of per-cell measurements linked to a Labels layer."""

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.layer = None
        self.table = pd.DataFrame()
        self._original_colormap = None
        self._syncing = False

        self.model = DataFrameModel(parent=self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.selectionModel().currentRowChanged.connect(self._on_current_row)

        self.title = QLabel("No measurements yet.")
        self.title.setWordWrap(True)
        self.feature = QComboBox()
        self.feature.setToolTip("Feature for the histogram and the label colours")
        self.feature.currentTextChanged.connect(self._on_feature)
        self.colormap = QComboBox()
        self.colormap.addItems(COLORMAPS)
        self.colormap.setToolTip("Colours used when the labels are coloured by the feature")
        self.colormap.currentTextChanged.connect(lambda _: self._recolour())
        self.colour_labels = QCheckBox("Colour labels")
        self.colour_labels.setToolTip("Paint each cell in the colour of its feature value "
                                      "(grey: no value)")
        self.colour_labels.toggled.connect(lambda _: self._recolour())
        self.highlight = QCheckBox("Show only the selected cell")
        self.highlight.setToolTip("Hide the other cells while one row is selected")
        self.highlight.toggled.connect(self._on_highlight)
        self.export_button = button(None, "Export table…", "Save the table as CSV, Excel or "
                                    "Parquet, with the pixel size and settings beside it",
                                    self._export_dialog)

        from matplotlib.figure import Figure

        from ._figure_canvas import BackgroundCanvas

        self.figure = Figure(figsize=(3.5, 2.2), layout="constrained")
        self.canvas = BackgroundCanvas(self.figure)  # drawn in the plot thread
        self.canvas.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.canvas.setFixedHeight(190)
        grid = self.figure.add_gridspec(2, 1, height_ratios=(5, 1))
        self.hist_axes = self.figure.add_subplot(grid[0])
        self.bar_axes = self.figure.add_subplot(grid[1])

        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        layout.addLayout(hbox(QLabel("Feature"), (self.feature, 1), self.colormap))
        layout.addWidget(self.canvas)
        layout.addLayout(hbox(self.colour_labels, self.highlight, 1, self.export_button))

    # ------------------------------------------------------------------ data
    def set_table(self, layer, table: pd.DataFrame) -> None:
        """Show ``table`` (one row per object of ``layer``) and link it to the layer."""
        self._disconnect_layer()
        self.layer = layer
        self.table = table.reset_index(drop=True)
        self._original_colormap = layer.colormap
        self.model.set_table(self.table)
        self.view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.title.setText(f"{len(self.table)} objects in “{layer.name}”")
        numeric = [c for c in self.table.select_dtypes(["number", "bool"]).columns
                   if c not in ("label", "frame")]
        set_items(self.feature, numeric, ("area_um2", "area_px"))
        if self._on_canvas_click not in layer.mouse_drag_callbacks:
            layer.mouse_drag_callbacks.append(self._on_canvas_click)
        self._on_feature(self.feature.currentText())

    def mark_outdated(self) -> None:
        """Say in the title that the labels were edited since they were measured."""
        if self.layer is not None:
            self.title.setText(f"{len(self.table)} objects in “{self.layer.name}” — labels "
                               "edited since: measure again to update")

    def _disconnect_layer(self) -> None:
        if self.layer is not None:
            if self._on_canvas_click in self.layer.mouse_drag_callbacks:
                self.layer.mouse_drag_callbacks.remove(self._on_canvas_click)
            if self._original_colormap is not None and self.colour_labels.isChecked():
                self.layer.colormap = self._original_colormap

    # ------------------------------------------------------------ row <-> cell
    def select_row(self, row: int) -> None:
        """Select table row ``row`` (as if clicked): selects and centres its cell."""
        proxy_index = self.proxy.mapFromSource(self.model.index(row, 0))
        self.view.setCurrentIndex(proxy_index)
        self.view.selectRow(proxy_index.row())
        self.view.scrollTo(proxy_index)

    def selected_row(self) -> int | None:
        index = self.view.currentIndex()
        if not index.isValid():
            return None
        return self.proxy.mapToSource(index).row()

    def _on_current_row(self, current, _previous) -> None:
        if self._syncing or not current.isValid() or self.layer is None:
            return
        row = self.table.iloc[self.proxy.mapToSource(current).row()]
        self._syncing = True
        try:
            self._show_cell(row)
        finally:
            self._syncing = False
        self._draw_histogram()

    def _show_cell(self, row: pd.Series) -> None:
        layer = self.layer
        layer.selected_label = int(row["label"])
        layer.show_selected_label = self.highlight.isChecked()
        lead = layer.data.shape[:-2]
        index = np.unravel_index(int(row["frame"]), lead) if "frame" in row.index and lead else ()
        data_point = [*index, float(row["centroid_y_px"]), float(row["centroid_x_px"])]
        world = np.asarray(layer.data_to_world(data_point), dtype=float)
        if lead:
            for axis_offset in range(len(lead)):
                axis = self.viewer.dims.ndim - layer.ndim + axis_offset
                self.viewer.dims.set_point(axis, world[axis_offset])
        scene = getattr(self.viewer, "scene", None)  # napari >= 0.9
        (scene.camera if scene is not None else self.viewer.camera).center = tuple(world[-2:])

    def _on_canvas_click(self, layer, event) -> None:
        if self.table.empty or event.type != "mouse_press":
            return
        value = layer.get_value(
            event.position, view_direction=event.view_direction,
            dims_displayed=event.dims_displayed, world=True,
        )
        if value is None:
            return
        label = int(value)
        frame = None
        lead = layer.data.shape[:-2]
        if lead and "frame" in self.table:
            frame = _flat_frame(np.round(np.asarray(layer.world_to_data(event.position))), lead)
        self.select_label(label, frame)

    def select_label(self, label: int, frame: int | None = None) -> None:
        """Select the row of ``label`` (canvas → table direction)."""
        match = self.table["label"].to_numpy() == label
        if frame is not None and "frame" in self.table:
            match &= self.table["frame"].to_numpy() == frame
        rows = np.flatnonzero(match)
        if not label or not rows.size:
            return
        self._syncing = True
        try:
            self.select_row(int(rows[0]))
            self.layer.selected_label = label
        finally:
            self._syncing = False
        self._draw_histogram()

    def _on_highlight(self, checked: bool) -> None:
        if self.layer is not None:
            self.layer.show_selected_label = checked

    # ---------------------------------------------------------- colour & plot
    def _on_feature(self, _name: str) -> None:
        self._recolour()
        self._draw_histogram()

    def feature_values(self) -> tuple[str, np.ndarray]:
        name = self.feature.currentText()
        if not name or name not in self.table:
            return name, np.zeros(0)
        return name, self.table[name].to_numpy(dtype=float)

    def colour_by_feature(self, name: str | None = None, colormap: str | None = None) -> None:
        """Colour the labels by feature ``name`` (NaN = grey) and show its colorbar."""
        if name is not None:
            self.feature.setCurrentText(name)
        if colormap is not None:
            self.colormap.setCurrentText(colormap)
        self.colour_labels.setChecked(True)
        self._recolour()

    def _recolour(self) -> None:
        layer = self.layer
        if layer is None or self.table.empty:
            return
        if not self.colour_labels.isChecked():
            if self._original_colormap is not None and layer.colormap is not self._original_colormap:
                layer.colormap = self._original_colormap
            self._draw_colorbar(None)
            return
        from matplotlib import colormaps
        from napari.utils.colormaps import DirectLabelColormap

        name, values = self.feature_values()
        table = self.table
        if "frame" in table and layer.data.ndim > 2:
            lead = layer.data.shape[:-2]
            keep = table["frame"].to_numpy() == _flat_frame(
                self.viewer.dims.current_step[-layer.ndim:], lead)
            table, values = table[keep], values[keep]
        finite = values[np.isfinite(values)]  # colours span the 1st-99th percentile
        low, high = np.percentile(finite, [1, 99]) if finite.size else (0.0, 1.0)
        high = high if high > low else low + 1.0
        cmap = colormaps[self.colormap.currentText()]
        scaled = np.clip((values - low) / (high - low), 0, 1)
        rgba = cmap(np.nan_to_num(scaled))
        rgba[~np.isfinite(values)] = (0.5, 0.5, 0.5, 1.0)
        color_dict = {None: np.zeros(4), 0: np.zeros(4)}
        color_dict.update({int(lab): colour for lab, colour in zip(table["label"], rgba)})
        layer.colormap = DirectLabelColormap(color_dict=color_dict)
        self._draw_colorbar((name, low, high))

    def _draw_colorbar(self, spec) -> None:
        with self.canvas.editing():  # waits for a redraw in flight, then redraws off-thread
            axes = self.bar_axes
            axes.clear()
            if spec is None:
                axes.set_axis_off()
            else:
                name, low, high = spec
                gradient = np.linspace(0, 1, 256)[None, :]
                axes.imshow(gradient, aspect="auto", cmap=self.colormap.currentText(),
                            extent=(low, high, 0, 1))
                axes.set_yticks([])
                axes.set_xlabel(name, fontsize=7)
                axes.tick_params(labelsize=7)
                axes.set_axis_on()

    def _draw_histogram(self) -> None:
        name, values = self.feature_values()
        finite = values[np.isfinite(values)]
        with self.canvas.editing():
            axes = self.hist_axes
            axes.clear()
            if finite.size:
                axes.hist(finite, bins=min(40, max(5, finite.size // 5)), color="#6a8fd0")
                row = self.selected_row()
                if row is not None and np.isfinite(values[row]):
                    axes.axvline(values[row], color="#e0503a", linewidth=1.5)
            axes.set_ylabel("cells", fontsize=7)
            axes.set_title(name, fontsize=8)
            axes.tick_params(labelsize=7)
            if not self.colour_labels.isChecked():
                self.bar_axes.set_axis_off()

    # --------------------------------------------------------------- export
    def export_frame(self) -> pd.DataFrame:
        """What is exported: the layer's ``features`` (edits made there included), else the table."""
        features = getattr(self.layer, "features", None)
        if isinstance(features, pd.DataFrame) and not features.empty:
            # napari's row key duplicates ``label``
            return features.drop(columns="index", errors="ignore").reset_index(drop=True)
        return self.table

    def export_metadata(self) -> dict:
        """Provenance of the cell table: labels layer, pixel size, measure settings."""
        from ._layers import layer_pixel_size
        from ._results_values import MEASURE_RUN_KEY

        layer = self.layer
        meta = (getattr(layer, "metadata", None) or {}) if layer is not None else {}
        return {"table": "cells", "labels_layer": None if layer is None else str(layer.name),
                "pixel_size_um": None if layer is None else layer_pixel_size(layer),
                "n_objects": int(len(self.table)), "measure": meta.get(MEASURE_RUN_KEY)}

    def export(self, path):
        """Write the cell table (CSV, XLSX or Parquet by suffix) with its metadata."""
        return export_table(self.export_frame(), path, self.export_metadata())

    def _export_dialog(self) -> None:
        from napari.utils.notifications import show_info

        path = export_dialog(
            self, self.table, nothing_yet="Nothing to export yet: measure a labels layer first.",
            title="Export cell table", default_name=f"{getattr(self.layer, 'name', 'cells')}_cells.csv",
            write=self.export, report=lambda err: show_failure(err, "Cell table export"),
            filters=file_filters())
        if path:
            show_info(f"{len(self.table)} rows written to {path}")


def _flat_frame(point, lead: tuple[int, ...]) -> int:
    """The flat index of the plane at ``point`` (leading axes first) of a stack ``lead``."""
    index = np.clip(np.asarray(point[:len(lead)], dtype=int), 0, np.array(lead) - 1)
    return int(np.ravel_multi_index(tuple(index), lead))
