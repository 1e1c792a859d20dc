"""The "Measure cells" dock: per-cell size, shape and marker intensities.

Thin: the work is :func:`napari_msc_morph.morphology.iter_measure_cells`, the
same engine as ``msc-morph measure``. The widget turns layers into arrays
(image layers become channels named after the layers; the pixel size comes
from the labels layer's scale and is editable), runs the engine in a
:func:`napari.qt.threading.thread_worker` with a progress bar and a working
Cancel, writes the table into ``labels_layer.features`` (napari's Features
table reads it) and into a linked cell-table dock, and one summary row per
layer into the plugin's results table.
"""

from __future__ import annotations

import re

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QListWidget,
    QListWidgetItem,
    QWidget,
)

from ..morphology import iter_measure_cells, summarize_cells
from ._panel import build_run_panel

NO_NUCLEI = "(none)"
CELL_TABLE_DOCK = "Cell table (MSC Morph)"


def channel_name(layer_name: str) -> str:
    """A column-safe channel name from a layer name ("RUNX2 [1]" -> "RUNX2_1")."""
    name = re.sub(r"[^0-9A-Za-z]+", "_", layer_name).strip("_")
    return name or "channel"


def layer_pixel_size(layer) -> float | None:
    """Pixel size in µm from ``layer.metadata`` or a non-default ``layer.scale``."""
    meta = getattr(layer, "metadata", None) or {}
    for key in ("pixel_size_um", "pixel_size"):
        if meta.get(key):
            return float(meta[key])
    scale = np.asarray(layer.scale[-2:], dtype=float)
    if np.allclose(scale, 1.0):
        return None  # napari's default: the size is unknown, not 1 µm
    return float(scale[-1])


class MeasureWidget(QWidget):
    """Measure the objects of a Labels layer, with image layers as channels."""

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.worker = None
        self._cancelled = False
        self.last_table = None
        self.last_summary = None
        self._cell_table = None

        self.labels_combo = QComboBox()
        self.nuclei_combo = QComboBox()
        self.channel_list = QListWidget()
        self.channel_list.setToolTip("Image layers measured as intensity channels (named after the layer)")
        self.channel_list.setMaximumHeight(120)
        self.pixel_size = QDoubleSpinBox()
        self.pixel_size.setDecimals(4)
        self.pixel_size.setRange(0.0, 1000.0)
        self.pixel_size.setSingleStep(0.01)
        self.pixel_size.setSpecialValueText("unknown (pixels only)")
        self.pixel_size.setSuffix(" µm")
        self.pixel_size.setToolTip("Pixel size in µm; taken from the labels layer's scale, editable")
        self.labels_combo.currentTextChanged.connect(self._on_labels_changed)

        form = QFormLayout()
        form.addRow("Labels", self.labels_combo)
        form.addRow("Nuclei (optional)", self.nuclei_combo)
        form.addRow("Channels", self.channel_list)
        form.addRow("Pixel size", self.pixel_size)
        build_run_panel(self, form, "Measure").addStretch(1)

        events = self.viewer.layers.events
        for event in (events.inserted, events.removed, events.reordered):
            event.connect(self.refresh_layers)
        self.refresh_layers()

    # ---------------------------------------------------------------- layers
    def _layers(self, kind: str):
        from napari.layers import Image, Labels

        cls = Labels if kind == "labels" else Image
        return [layer for layer in self.viewer.layers if isinstance(layer, cls)]

    def refresh_layers(self, event=None) -> None:
        """Re-list the viewer's layers in the choosers, keeping the choices."""
        current_labels = self.labels_combo.currentText()
        current_nuclei = self.nuclei_combo.currentText()
        checked = {self.channel_list.item(i).text() for i in range(self.channel_list.count())
                   if self.channel_list.item(i).checkState() == Qt.CheckState.Checked}
        known = {self.channel_list.item(i).text() for i in range(self.channel_list.count())}
        labels = [layer.name for layer in self._layers("labels")]
        # Image layers are offered too (after the Labels layers): a label image
        # opened as an image is fine, anything else gets a message saying why.
        candidates = labels + [layer.name for layer in self._layers("image")]
        self.labels_combo.blockSignals(True)
        self.labels_combo.clear()
        self.labels_combo.addItems(candidates)
        if current_labels in candidates:
            self.labels_combo.setCurrentText(current_labels)
        self.labels_combo.blockSignals(False)
        self.nuclei_combo.clear()
        self.nuclei_combo.addItems([NO_NUCLEI, *labels])
        if current_nuclei in labels:
            self.nuclei_combo.setCurrentText(current_nuclei)
        self.channel_list.clear()
        for layer in self._layers("image"):
            item = QListWidgetItem(layer.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            on = layer.name in checked or (layer.name not in known and not getattr(layer, "rgb", False))
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
            self.channel_list.addItem(item)
        if self.labels_combo.currentText() != current_labels:
            self._on_labels_changed(self.labels_combo.currentText())

    def _on_labels_changed(self, name: str) -> None:
        if name and name in self.viewer.layers:
            size = layer_pixel_size(self.viewer.layers[name])
            self.pixel_size.setValue(size or 0.0)

    def set_channels(self, names) -> None:
        """Check exactly the image layers called ``names`` as channels."""
        names = set(names)
        for i in range(self.channel_list.count()):
            item = self.channel_list.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.text() in names else Qt.CheckState.Unchecked)

    def selected_channels(self) -> list[str]:
        return [self.channel_list.item(i).text() for i in range(self.channel_list.count())
                if self.channel_list.item(i).checkState() == Qt.CheckState.Checked]

    # ----------------------------------------------------------------- inputs
    def collect_inputs(self):
        """Arrays for the engine, or ValueError with a message naming the layer."""
        name = self.labels_combo.currentText()
        if not name or name not in self.viewer.layers:
            raise ValueError("Choose a Labels layer to measure (segment one with “Segment cells” first).")
        layer = self.viewer.layers[name]
        labels = np.asarray(layer.data)
        if getattr(layer, "rgb", False):
            raise ValueError(
                f"Layer “{name}” is an RGB image, not labels: segment it first (Segment cells) "
                "and measure the Labels layer it makes."
            )
        if not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(
                f"Layer “{name}” has {labels.dtype} values; labels must be whole numbers. "
                "Choose a Labels layer, or segment this image first (Segment cells)."
            )
        if labels.size and labels.min() < 0:
            raise ValueError(f"Layer “{name}” has negative labels; use 0 for background and positive ids.")
        nuclei = None
        nuclei_name = self.nuclei_combo.currentText()
        if nuclei_name and nuclei_name != NO_NUCLEI and nuclei_name in self.viewer.layers:
            nuclei = np.asarray(self.viewer.layers[nuclei_name].data)
            if nuclei.shape != labels.shape:
                raise ValueError(
                    f"Nuclei layer “{nuclei_name}” has shape {nuclei.shape} but “{name}” has "
                    f"{labels.shape}; choose nuclei from the same field."
                )
        channels = {}
        for channel in self.selected_channels():
            image_layer = self.viewer.layers[channel]
            data = np.asarray(image_layer.data)
            if getattr(image_layer, "rgb", False):
                raise ValueError(
                    f"Channel layer “{channel}” is RGB; split it (right-click > Split RGB) and "
                    "choose single channels."
                )
            if data.shape != labels.shape:
                raise ValueError(
                    f"Channel layer “{channel}” has shape {data.shape} but labels “{name}” have "
                    f"{labels.shape}; untick it or choose labels of the same field."
                )
            if np.issubdtype(data.dtype, np.floating) and not np.isfinite(data).all():
                raise ValueError(
                    f"Channel layer “{channel}” contains NaN/inf pixels; fill them or untick the layer."
                )
            key = channel_name(channel)
            if key in channels:
                raise ValueError(f"Two channel layers give the same column name “{key}”; rename one.")
            channels[key] = data
        if not labels.any():
            raise ValueError(f"Layer “{name}” has no objects (all pixels are 0); segment or paint cells first.")
        pixel_size = self.pixel_size.value() or None
        return layer, labels, channels, nuclei, pixel_size

    # -------------------------------------------------------------------- run
    def run(self) -> None:
        """Measure in a thread worker; the table arrives in :meth:`_on_done`."""
        from napari.qt.threading import create_worker
        from napari.utils.notifications import show_error, show_warning

        try:
            layer, labels, channels, nuclei, pixel_size = self.collect_inputs()
        except ValueError as err:
            show_error(str(err))
            self.status.setText(str(err))
            return
        if pixel_size is None:
            show_warning(
                f"No pixel size for “{layer.name}”: the table has pixel units only. "
                "Enter the pixel size (µm) to get µm and µm² columns."
            )

        def work():
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # said in the notification
                table = yield from iter_measure_cells(labels, channels, nuclei, pixel_size)
            return table

        self.worker = create_worker(work, _start_thread=False)
        self.worker.yielded.connect(self._on_progress)
        self.worker.returned.connect(lambda table: self._on_done(layer, table, pixel_size, labels.shape))
        self.worker.errored.connect(self._on_error)
        self.worker.finished.connect(self._on_finished)
        self._cancelled = False
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.setText(f"Measuring “{layer.name}”…")
        self.progress.setRange(0, 0)
        self.worker.start()

    def cancel(self) -> None:
        if self.worker is not None and self.cancel_button.isEnabled():
            self._cancelled = True
            self.worker.quit()
            self.status.setText("Cancelled.")

    def _on_progress(self, step) -> None:
        if self._cancelled:
            return
        done, total, message = step
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.status.setText(message)

    def _on_error(self, err) -> None:
        from napari.utils.notifications import show_error

        show_error(f"Measure cells: {err}")
        self.status.setText(str(err))

    def _on_finished(self) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if self._cancelled:
            self.status.setText("Cancelled.")
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if self.last_table is not None else 0)

    def _on_done(self, layer, table, pixel_size, shape) -> None:
        features = table.copy()
        features.insert(0, "index", table["label"].to_numpy())  # napari's label -> row key
        layer.features = features
        self.last_table = table
        summary = summarize_cells(table, pixel_size_um=pixel_size, image_shape=shape[-2:])
        self.last_summary = summary
        self.cell_table().set_table(layer, table)
        self._update_results_table(layer, summary)
        self.status.setText(f"{len(table)} objects measured in “{layer.name}”.")

    def _update_results_table(self, layer, summary) -> None:
        try:
            from .results_table import get_results_table
        except ImportError:  # pragma: no cover - the table lives in another module
            return
        if summary.empty:
            return
        row = summary.iloc[0] if len(summary) == 1 else summary.drop(columns="frame").mean(numeric_only=True)
        values = {"n_cells": int(summary["n_cells"].sum())}
        for key, value in row.items():
            if key in ("frame", "n_cells", "field_area_mm2"):
                continue
            if key.endswith(("_median", "_fraction_positive")) or key == "cell_density_per_mm2":
                values[key] = float(value)
        get_results_table(self.viewer).update_layer_row(layer, values)

    def cell_table(self):
        """The linked cell-table dock (created and docked on first use)."""
        from ._cell_table import CellTable

        if self._cell_table is None:
            self._cell_table = CellTable(self.viewer)
            window = getattr(self.viewer, "window", None)
            if window is not None:
                window.add_dock_widget(self._cell_table, name=CELL_TABLE_DOCK, area="right")
        return self._cell_table
