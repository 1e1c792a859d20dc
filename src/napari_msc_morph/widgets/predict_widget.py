"""The "Predict" dock: run a model bundle on bright-field image layers.

Thin: the work is :class:`napari_msc_morph.inference.Predictor`, the same
engine as ``msc-morph predict``. This widget turns layers into arrays, runs the
engine in a :func:`napari.qt.threading.thread_worker` (progress bar, working
Cancel), writes one row per layer into the plugin's results table and adds
score-map layers (OsScore heatmap, expected-passage map or per-class
probabilities) aligned on the image, with a colorbar.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from qtpy.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..inference.predict import Prediction, Predictor
from ..inference.ordinal import ordinal_class_values

TILING_CHOICES = ("bundle default", "six", "grid", "center")
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
MAX_RECENT = 8
# Colormaps per map kind: a score gets its own; probabilities share one.
_MAP_COLORMAPS = {"os_score": "magma", "expected_passage": "viridis"}


def _recent_file() -> Path:
    """Where recently used bundles are remembered (user config folder)."""
    override = os.environ.get("NAPARI_MSC_MORPH_CONFIG_DIR")
    if override:
        return Path(override) / "recent_bundles.json"
    from platformdirs import user_config_dir

    return Path(user_config_dir("napari-msc-morph")) / "recent_bundles.json"


def load_recent_bundles() -> list[str]:
    try:
        data = json.loads(_recent_file().read_text())
    except (OSError, ValueError):
        return []
    return [str(p) for p in data if isinstance(p, str)][:MAX_RECENT] if isinstance(data, list) else []


def remember_bundle(path: str | os.PathLike) -> list[str]:
    """Put ``path`` first in the recent-bundles list and save it; returns the list."""
    from ..io import write_json

    path = str(Path(path).resolve())
    recent = [path] + [p for p in load_recent_bundles() if p != path]
    recent = recent[:MAX_RECENT]
    try:
        write_json(recent, _recent_file())
    except OSError:  # a read-only config folder must not stop a prediction
        pass
    return recent


def combine_planes(results: list[Prediction]) -> Prediction:
    """One prediction for a whole stack: probabilities averaged over planes."""
    if len(results) == 1:
        return results[0]
    first = results[0]
    return Prediction(
        task=first.task,
        probabilities=np.mean([r.probabilities for r in results], axis=0),
        tile_probabilities=np.concatenate([r.tile_probabilities for r in results]),
        boxes=np.concatenate([r.boxes for r in results]),
        tiling=first.tiling,
        model_id=first.model_id,
        notices=first.notices,
        device=first.device,
        precision=first.precision,
    )


def map_layer_geometry(layer, result: Prediction, n_leading: int):
    """``scale``/``translate`` that put a score map on ``layer``'s pixels.

    A map pixel spans one grid stride of the image and sits on its tile's
    centre: ``map_scale`` and ``map_translate`` (image pixels) composed with
    the layer's own scale and translate.
    """
    scale = np.asarray(layer.scale, dtype=float)
    translate = np.asarray(layer.translate, dtype=float)
    lead_scale, plane_scale = scale[: n_leading], scale[-2:]
    lead_translate, plane_translate = translate[: n_leading], translate[-2:]
    map_scale = plane_scale * np.asarray(result.map_scale)
    map_translate = plane_translate + plane_scale * np.asarray(result.map_translate)
    return (
        tuple(lead_scale) + tuple(map_scale),
        tuple(lead_translate) + tuple(map_translate),
    )


class PredictWidget(QWidget):
    """Predict passage, tissue source, OsScore or fate on image layers.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
    """

    def __init__(self, napari_viewer, parent=None):
        super().__init__(parent)
        self.viewer = getattr(napari_viewer, "__wrapped__", napari_viewer)
        self._worker = None
        self._shown_notices: set[str] = set()

        self.layer_list = QListWidget(self)
        self.layer_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.layer_list.setMaximumHeight(120)

        self.bundle_combo = QComboBox(self)
        self.bundle_combo.setEditable(True)
        self.bundle_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.bundle_combo.lineEdit().setPlaceholderText("model bundle (.zip or folder)")
        self.bundle_combo.addItems(load_recent_bundles())
        self.bundle_combo.setCurrentIndex(0 if self.bundle_combo.count() else -1)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        bundle_row = QHBoxLayout()
        bundle_row.addWidget(self.bundle_combo, 1)
        bundle_row.addWidget(browse)
        self.bundle_info = QLabel("", self)
        self.bundle_info.setWordWrap(True)
        self.bundle_combo.currentTextChanged.connect(self._describe_bundle)

        self.tiling_combo = QComboBox(self)
        self.tiling_combo.addItems(TILING_CHOICES)
        self.overlap_spin = QDoubleSpinBox(self)
        self.overlap_spin.setRange(0.0, 0.9)
        self.overlap_spin.setSingleStep(0.25)
        self.overlap_spin.setValue(0.5)
        self.device_combo = QComboBox(self)
        self.device_combo.addItems(DEVICE_CHOICES)
        self.maps_check = QCheckBox("add score-map layers (grid tiling)", self)
        self.maps_check.setChecked(True)

        self.run_button = QPushButton("Predict", self)
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Image layers", self.layer_list)
        form.addRow("Model", bundle_row)
        form.addRow("", self.bundle_info)
        form.addRow("Tiling", self.tiling_combo)
        form.addRow("Grid overlap", self.overlap_spin)
        form.addRow("Device", self.device_combo)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.maps_check)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addStretch(1)

        events = self.viewer.layers.events
        events.inserted.connect(self._refresh_layers)
        events.removed.connect(self._refresh_layers)
        events.moved.connect(self._refresh_layers)
        self._refresh_layers()
        self._describe_bundle(self.bundle_combo.currentText())

    # -- widget state ----------------------------------------------------------------
    def _image_layers(self):
        from napari.layers import Image

        return [layer for layer in self.viewer.layers if isinstance(layer, Image)]

    def _refresh_layers(self, event=None):
        chosen = {item.text() for item in self.layer_list.selectedItems()}
        if not chosen:
            chosen = {layer.name for layer in self.viewer.layers.selection}
        self.layer_list.clear()
        for layer in self._image_layers():
            if layer.metadata.get("msc_morph_score_map"):
                continue  # our own maps are not bright-field images
            item = QListWidgetItem(layer.name)
            self.layer_list.addItem(item)
            item.setSelected(layer.name in chosen)

    def selected_layers(self):
        names = [item.text() for item in self.layer_list.selectedItems()]
        return [self.viewer.layers[name] for name in names if name in self.viewer.layers]

    def set_selected_layers(self, layers) -> None:
        names = {getattr(layer, "name", layer) for layer in layers}
        for i in range(self.layer_list.count()):
            item = self.layer_list.item(i)
            item.setSelected(item.text() in names)

    def set_bundle_path(self, path) -> None:
        self.bundle_combo.setEditText(str(path))

    def _browse(self):
        path, _ = QFileDialog.getOpenFileName(
            self, "Open model bundle", "",
            "Model bundles (*.zip model.json);;All files (*)",
        )
        if path:
            if Path(path).name == "model.json":
                path = str(Path(path).parent)
            self.set_bundle_path(path)

    def _describe_bundle(self, text: str):
        from ..models.bundle import read_bundle_config

        if not text.strip():
            self.bundle_info.setText("")
            return
        try:
            config = read_bundle_config(text.strip())
        except (OSError, ValueError) as err:
            self.bundle_info.setText(str(err))
            return
        classes = ", ".join(config.class_names)
        self.bundle_info.setText(
            f"{config.task}: {classes} · {config.backbone} @ {config.input_size}px · "
            f"default tiling {config.tiling}"
        )

    @property
    def running(self) -> bool:
        return self._worker is not None

    # -- running ---------------------------------------------------------------------
    def run(self):
        """Start predicting the chosen layers (returns the worker, or None)."""
        from napari.utils.notifications import show_error

        if self.running:
            return self._worker
        layers = self.selected_layers()
        if not layers:
            show_error("Predict: choose one or more image layers first.")
            return None
        bundle_path = self.bundle_combo.currentText().strip()
        if not bundle_path:
            show_error("Predict: choose a model bundle (.zip or folder) first.")
            return None
        tiling = self.tiling_combo.currentText()
        jobs = []
        try:
            for layer in layers:
                jobs.append(self._job(layer))
        except ValueError as err:
            show_error(f"Predict: {err}")
            return None
        options = dict(
            path=bundle_path,
            device=self.device_combo.currentText(),
            tiling=None if tiling == "bundle default" else tiling,
            overlap=float(self.overlap_spin.value()),
        )
        self._start(jobs, options)
        return self._worker

    def _job(self, layer):
        data = layer.data[0] if layer.multiscale else layer.data
        if getattr(layer, "rgb", False) and data.shape[-1] == 4:
            raise ValueError(
                f"layer {layer.name!r} has 4 channels (RGBA); convert it to RGB or grayscale."
            )
        px = layer.metadata.get("pixel_size_um") if isinstance(layer.metadata, dict) else None
        if px is None and abs(float(layer.scale[-1]) - 1.0) > 1e-9:
            px = float(layer.scale[-1])
        return dict(layer=layer, data=data, rgb=bool(layer.rgb), name=layer.name, pixel_size_um=px)

    def _start(self, jobs, options):
        from napari.qt.threading import thread_worker

        from ..models.bundle import load_bundle

        # Errors go to _on_error (a notification), not re-raised into the event loop.
        @thread_worker(ignore_errors=True)
        def work():
            bundle = load_bundle(options["path"])
            predictor = Predictor(bundle, device=options["device"])
            yield ("loaded", bundle)
            for k, job in enumerate(jobs):
                gen = predictor.predict_steps(
                    job["data"], tiling=options["tiling"], overlap=options["overlap"],
                    rgb=job["rgb"], name=job["name"], pixel_size_um=job["pixel_size_um"],
                )
                while True:
                    try:
                        done, total = next(gen)
                    except StopIteration as stop:
                        results = stop.value
                        break
                    yield ("progress", (k + done / total) / len(jobs))
                yield ("result", job["layer"], results)

        worker = work()
        worker.yielded.connect(self._on_yielded)
        worker.errored.connect(self._on_error)
        worker.finished.connect(self._on_finished)
        worker.aborted.connect(self._on_aborted)
        self._worker = worker
        self._bundle_path = options["path"]
        self._shown_notices = set()
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        self.status.setText("Loading model…")
        worker.start()

    def cancel(self):
        """Stop the running prediction between two batches."""
        if self._worker is not None:
            self.status.setText("Cancelling…")
            self._worker.quit()

    def _on_yielded(self, message):
        kind = message[0]
        if kind == "loaded":
            self.bundle_combo.blockSignals(True)
            recent = remember_bundle(self._bundle_path)
            self.bundle_combo.clear()
            self.bundle_combo.addItems(recent)
            self.bundle_combo.setCurrentIndex(0)
            self.bundle_combo.blockSignals(False)
            self.status.setText(f"Running {message[1].config.model_id}…")
        elif kind == "progress":
            self.progress.setValue(int(round(1000 * message[1])))
        elif kind == "result":
            self._write_results(message[1], message[2])

    def _write_results(self, layer, results: list[Prediction]):
        from napari.utils.notifications import show_warning

        from .results_table import get_results_table

        for result in results:
            for notice in result.notices:
                if notice not in self._shown_notices:
                    self._shown_notices.add(notice)
                    show_warning(notice)
        combined = combine_planes(results)
        row = combined.row()
        if len(results) > 1:
            row["n_planes"] = len(results)
        get_results_table(self.viewer).update_layer_row(layer, row)
        if self.maps_check.isChecked() and results[0].maps:
            self._add_maps(layer, results)
        self.status.setText(f"{layer.name}: {row['predicted_class']}")

    def _add_maps(self, layer, results: list[Prediction]):
        first = results[0]
        task = first.task
        names = [task.score] if task.score else [f"p_{c}" for c in task.class_names]
        leading = tuple(int(i) + 1 for i in results[-1].plane)
        scale, translate = map_layer_geometry(layer, first, len(leading))
        for map_name in names:
            data = np.stack([r.maps[map_name] for r in results])
            data = data.reshape(leading + data.shape[1:]) if leading else data[0]
            if map_name == "expected_passage":
                values = ordinal_class_values(task.class_names)
                limits = (float(values.min()), float(values.max()))
            else:
                limits = (0.0, 1.0)
            name = f"{layer.name} {map_name}"
            if name in self.viewer.layers:
                self.viewer.layers.remove(name)
            extra = {"units": tuple(layer.units)} if hasattr(layer, "units") else {}
            map_layer = self.viewer.add_image(
                data,
                name=name,
                **extra,
                scale=scale,
                translate=translate,
                colormap=_MAP_COLORMAPS.get(map_name, "inferno"),
                contrast_limits=limits,
                opacity=0.55,
                blending="translucent",
                metadata={
                    "msc_morph_score_map": map_name,
                    "source_layer": layer.name,
                    "model_id": first.model_id,
                },
            )
            colorbar = getattr(map_layer, "colorbar", None)
            if colorbar is not None:
                colorbar.visible = True

    def _on_error(self, err):
        from napari.utils.notifications import show_error

        if isinstance(err, (ValueError, FileNotFoundError, TypeError)):
            show_error(f"Predict: {err}")
        else:
            show_error(f"Predict failed: {type(err).__name__}: {err}")
        self.status.setText(f"Error: {err}")

    def _on_aborted(self):
        self.status.setText("Cancelled.")

    def _on_finished(self):
        if self.status.text().startswith(("Running", "Loading")):
            self.status.setText("Done.")
        if not self.status.text().startswith(("Cancel", "Error")):
            self.progress.setValue(1000)
        self._worker = None
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
