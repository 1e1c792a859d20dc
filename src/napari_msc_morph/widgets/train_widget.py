"""The "Train model" dock widget.

Pick a manifest (CSV with path,label,donor,...) or build one from the open
image layers (a label and a donor per layer), choose the task, backbone,
epochs and input size, and train in a worker thread: a live plot shows loss
and accuracy per epoch, Cancel stops after the current batch and leaves the
best epoch so far as a usable bundle. The widget only gathers settings and
calls :func:`napari_msc_morph.training.train`, the engine the CLI uses too.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..models.tasks import TASKS

__all__ = ["TrainWidget", "manifest_from_layers"]

BACKBONES = ("resnext50_32x4d", "resnet50", "resnet18", "convnext_tiny", "efficientnet_b0",
             "resnet10t", "test_resnet")


def manifest_from_layers(layers, labels: dict, donors: dict, folder) -> pd.DataFrame:
    """A manifest for image layers: their files, or TIFFs written to ``folder``.

    Parameters
    ----------
    layers : list of napari Image layers
    labels, donors : dict
        Layer name -> class label / donor.
    folder : path
        Where layers without a source file are written (with their pixel size
        from ``layer.scale`` when the layer's units are µm).
    """
    from ..io import write_tiff

    rows = []
    folder = Path(folder)
    for layer in layers:
        label = str(labels.get(layer.name, "")).strip()
        donor = str(donors.get(layer.name, "")).strip()
        source = getattr(getattr(layer, "source", None), "path", None)
        if source and Path(source).is_file():
            path = Path(source)
        else:
            data = np.asarray(layer.data)
            pixel = _pixel_size_um(layer)
            safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in layer.name)
            path = write_tiff(data, folder / f"{safe}.tif", pixel_size_um=pixel)
        rows.append({"path": str(path), "label": label, "donor": donor, "layer": layer.name})
    return pd.DataFrame(rows)


def _pixel_size_um(layer) -> float | None:
    scale = float(layer.scale[-2 if not getattr(layer, "rgb", False) else -2])
    units = getattr(layer, "units", None)
    unit = str(units[-1]) if units is not None and len(units) else ""
    if unit in ("micrometer", "µm", "um", "micron"):
        return scale
    return None if scale == 1.0 else scale


class _Events(QObject):
    """Carries training events from the worker thread to the GUI thread."""

    event = Signal(object)


class TrainWidget(QWidget):
    """Dock widget: train a model on a manifest or on open layers."""

    def __init__(self, napari_viewer, parent=None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.worker = None
        self.result = None
        self.history: list[dict] = []
        self._cancel = threading.Event()
        self._events = _Events()
        self._events.event.connect(self._on_event)

        layout = QVBoxLayout(self)
        form = QFormLayout()
        layout.addLayout(form)

        self.source = QComboBox()
        self.source.addItems(["manifest file", "open image layers"])
        self.source.currentIndexChanged.connect(self._source_changed)
        form.addRow("images from", self.source)

        row = QHBoxLayout()
        self.manifest_edit = QLineEdit()
        self.manifest_edit.setPlaceholderText("manifest.csv (path,label,donor,...)")
        browse = QPushButton("…")
        browse.clicked.connect(self._browse_manifest)
        row.addWidget(self.manifest_edit)
        row.addWidget(browse)
        self.manifest_row = QWidget()
        self.manifest_row.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        form.addRow("manifest", self.manifest_row)

        self.layer_table = QTableWidget(0, 3)
        self.layer_table.setHorizontalHeaderLabels(["layer", "label", "donor"])
        self.layer_table.setVisible(False)
        layout.addWidget(self.layer_table)
        self.refresh_button = QPushButton("Refresh layers")
        self.refresh_button.clicked.connect(self.refresh_layers)
        self.refresh_button.setVisible(False)
        layout.addWidget(self.refresh_button)

        form2 = QFormLayout()
        layout.addLayout(form2)
        self.task = QComboBox()
        self.task.addItems(list(TASKS))
        form2.addRow("task", self.task)
        self.classes = QLineEdit()
        self.classes.setPlaceholderText("default: the task's classes found in the data")
        form2.addRow("classes", self.classes)
        self.backbone = QComboBox()
        self.backbone.setEditable(True)
        self.backbone.addItems(list(BACKBONES))
        form2.addRow("backbone", self.backbone)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 1000)
        self.epochs.setValue(30)
        form2.addRow("epochs", self.epochs)
        self.input_size = QSpinBox()
        self.input_size.setRange(16, 2048)
        self.input_size.setSingleStep(32)
        self.input_size.setValue(448)
        form2.addRow("input size (px)", self.input_size)
        self.batch_size = QSpinBox()
        self.batch_size.setRange(1, 512)
        self.batch_size.setValue(16)
        form2.addRow("batch size", self.batch_size)
        self.downscale = QSpinBox()
        self.downscale.setRange(1, 16)
        self.downscale.setValue(1)
        form2.addRow("read at 1/N resolution", self.downscale)
        self.optimizer = QComboBox()
        self.optimizer.addItems(["adam", "sgd"])
        form2.addRow("optimizer", self.optimizer)
        self.pretrained = QCheckBox("ImageNet weights (download)")
        form2.addRow("", self.pretrained)
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda", "mps"])
        form2.addRow("device", self.device)
        row = QHBoxLayout()
        self.out_edit = QLineEdit()
        self.out_edit.setPlaceholderText("model folder or .zip to write")
        out_browse = QPushButton("…")
        out_browse.clicked.connect(self._browse_out)
        row.addWidget(self.out_edit)
        row.addWidget(out_browse)
        row.setContentsMargins(0, 0, 0, 0)
        out_row = QWidget()
        out_row.setLayout(row)
        form2.addRow("save model to", out_row)
        self.resume = QCheckBox("resume the interrupted run")
        form2.addRow("", self.resume)

        buttons = QHBoxLayout()
        self.train_button = QPushButton("Train")
        self.train_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        self.progress = QProgressBar()
        layout.addWidget(self.progress)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)

        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(4, 2.6), layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setMinimumHeight(200)
        layout.addWidget(self.canvas)
        self.ax_loss = self.figure.add_subplot(1, 2, 1)
        self.ax_acc = self.figure.add_subplot(1, 2, 2)
        self._draw_plot()

    # -- inputs -----------------------------------------------------------------------
    def _source_changed(self, index: int) -> None:
        from_layers = index == 1
        self.manifest_row.setEnabled(not from_layers)
        self.layer_table.setVisible(from_layers)
        self.refresh_button.setVisible(from_layers)
        if from_layers:
            self.refresh_layers()

    def _browse_manifest(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Manifest", "", "Tables (*.csv *.tsv *.xlsx)")
        if path:
            self.manifest_edit.setText(path)

    def _browse_out(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Model folder")
        if path:
            self.out_edit.setText(path)

    def image_layers(self) -> list:
        from napari.layers import Image

        return [layer for layer in self.viewer.layers if isinstance(layer, Image)]

    def refresh_layers(self) -> None:
        """One table row per image layer; label/donor prefilled from layer metadata."""
        old = self.layer_assignments()
        layers = self.image_layers()
        self.layer_table.setRowCount(len(layers))
        for i, layer in enumerate(layers):
            name = QTableWidgetItem(layer.name)
            name.setFlags(name.flags() & ~name.flags().ItemIsEditable)
            self.layer_table.setItem(i, 0, name)
            meta = layer.metadata or {}
            label = old[0].get(layer.name, meta.get("label", ""))
            donor = old[1].get(layer.name, meta.get("donor", ""))
            self.layer_table.setItem(i, 1, QTableWidgetItem(str(label)))
            self.layer_table.setItem(i, 2, QTableWidgetItem(str(donor)))

    def set_layer_row(self, name: str, label: str, donor: str) -> None:
        """Set a layer's label and donor (as typing them into the table does)."""
        for i in range(self.layer_table.rowCount()):
            if self.layer_table.item(i, 0).text() == name:
                self.layer_table.setItem(i, 1, QTableWidgetItem(str(label)))
                self.layer_table.setItem(i, 2, QTableWidgetItem(str(donor)))
                return
        raise ValueError(f"No image layer named {name!r} in the table; press Refresh layers.")

    def layer_assignments(self) -> tuple[dict, dict]:
        labels, donors = {}, {}
        for i in range(self.layer_table.rowCount()):
            name = self.layer_table.item(i, 0)
            if name is None:
                continue
            label, donor = self.layer_table.item(i, 1), self.layer_table.item(i, 2)
            labels[name.text()] = label.text() if label else ""
            donors[name.text()] = donor.text() if donor else ""
        return labels, donors

    def config(self):
        from ..training.loop import TrainConfig

        classes = [c.strip() for c in self.classes.text().split(",") if c.strip()]
        return TrainConfig(
            task=self.task.currentText(),
            backbone=self.backbone.currentText().strip(),
            input_size=self.input_size.value(),
            epochs=self.epochs.value(),
            batch_size=self.batch_size.value(),
            optimizer=self.optimizer.currentText(),
            downscale=self.downscale.value(),
            pretrained=self.pretrained.isChecked(),
            device=self.device.currentText(),
            class_names=tuple(classes) or None,
        )

    def _manifest(self, out: Path):
        from ..training.loop import default_work_dir

        if self.source.currentIndex() == 0:
            text = self.manifest_edit.text().strip()
            if not text:
                raise ValueError("Choose a manifest file (path,label,donor,...) or use open image layers.")
            return Path(text)
        layers = self.image_layers()
        if not layers:
            raise ValueError("There are no image layers to train on; open images or choose a manifest.")
        labels, donors = self.layer_assignments()
        table = manifest_from_layers(layers, labels, donors, default_work_dir(out) / "layers")
        return table.drop(columns=["layer"])

    # -- running ------------------------------------------------------------------------
    def start(self):
        """Validate the settings and start training in a worker thread."""
        from napari.qt.threading import create_worker
        from napari.utils.notifications import show_error

        from ..training.loop import train

        if self.worker is not None:
            return None
        try:
            out = self.out_edit.text().strip()
            if not out:
                raise ValueError("Choose where to save the model (a folder or a .zip).")
            out = Path(out)
            config = self.config()
            manifest = self._manifest(out)
        except (ValueError, FileNotFoundError) as err:
            show_error(str(err))
            self.status.setText(str(err))
            return None
        self.history = []
        self.result = None
        self._cancel.clear()
        self._draw_plot()
        emit = self._events.event.emit
        self.worker = create_worker(
            train, manifest, config, out, resume=self.resume.isChecked(),
            progress=emit, cancel=self._cancel.is_set, _start_thread=False,
        )
        self.worker.returned.connect(self._on_done)
        self.worker.errored.connect(self._on_error)
        self.worker.finished.connect(self._on_finished)
        self.train_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.setText("reading images…")
        self.worker.start()
        return self.worker

    def cancel(self) -> None:
        """Stop after the current batch; the best epoch so far stays as the bundle."""
        self._cancel.set()
        self.status.setText("cancelling after this batch…")

    def _on_event(self, event: dict) -> None:
        kind = event.get("kind")
        if kind == "load":
            self.progress.setMaximum(event["total"])
            self.progress.setValue(event["done"])
        elif kind == "batch":
            self.progress.setMaximum(event["batches"])
            self.progress.setValue(event["batch"])
            self.status.setText(f"epoch {event['epoch']}: batch {event['batch']}/{event['batches']}, "
                                f"loss {event['loss']:.3f}")
        elif kind == "epoch":
            self.history.append(event)
            parts = [f"epoch {event['epoch']}/{event['epochs']}", f"loss {event['train_loss']:.3f}"]
            for key in ("val_loss", "val_accuracy", "val_auc"):
                if event.get(key) is not None:
                    parts.append(f"{key.replace('_', ' ')} {event[key]:.3f}")
            self.status.setText(", ".join(parts))
            self._draw_plot()

    def _draw_plot(self) -> None:
        table = pd.DataFrame(self.history)
        for ax in (self.ax_loss, self.ax_acc):
            ax.clear()
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=7)
        self.ax_loss.set_title("loss", fontsize=8)
        self.ax_acc.set_title("accuracy / AUC", fontsize=8)
        self.ax_acc.set_ylim(0, 1.02)
        if len(table):
            for key, ax in (("train_loss", self.ax_loss), ("val_loss", self.ax_loss),
                            ("train_accuracy", self.ax_acc), ("val_accuracy", self.ax_acc),
                            ("val_auc", self.ax_acc)):
                if key in table and table[key].notna().any():
                    ax.plot(table["epoch"], table[key], "-o", ms=3, label=key.replace("_", " "))
            for ax in (self.ax_loss, self.ax_acc):
                if ax.lines:
                    ax.legend(fontsize=6)
        self.canvas.draw_idle()

    def _on_done(self, result) -> None:
        self.result = result
        if result.bundle_path is None:
            self.status.setText("Stopped before the first epoch finished; no model was written.")
            return
        what = "Cancelled" if result.cancelled else "Done"
        self.status.setText(
            f"{what}: best epoch {result.best_epoch} of {len(result.history)} saved to "
            f"{result.bundle_path} (load it in the Predict widget)."
        )

    def _on_error(self, err) -> None:
        from napari.utils.notifications import show_error

        show_error(f"Training failed: {err}")
        self.status.setText(f"Training failed: {err}")

    def _on_finished(self) -> None:
        self.worker = None
        self.train_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
