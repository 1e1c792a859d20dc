"""The "Train model" dock widget.

Pick a manifest (CSV with path,label,donor,...) or build one from the open
image layers (a label and a donor per layer), choose the task, backbone,
epochs and input size, and train in a worker thread: a live plot shows loss
and accuracy per epoch, Cancel stops after the current batch and leaves the
best epoch so far as a usable bundle, and a finished run evaluates the best
epoch on the held-out test split. The widget only gathers settings and calls
:func:`napari_msc_morph.training.train_model`, the engine the CLI uses too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from magicgui.widgets import FileEdit
from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..errors import USER_ERRORS, BadInputError, Cancelled
from ..models.backbones import DEVICES
from ..models.tasks import TASKS
from ..training import OPTIMIZERS, SCHEDULERS, TrainConfig, default_work_dir, train_model
from ..training.crossval import CrossValidation, cross_validate
from ..training.optim import CLASS_WEIGHTS
from ..training.plots import plot_learning_curves
from ..training.recipes import RECIPES, recipe_values
from . import _train_defaults
from ._figure_export import enable_export
from ._layers import layer_pixel_size
from ._panel import JobDock

__all__ = ["TrainWidget", "manifest_from_layers"]

#: Suggestions for the editable backbone box (any timm name is accepted).
BACKBONES = ("resnext50_32x4d", "resnet50", "resnet18", "convnext_tiny", "efficientnet_b0",
             "resnet10t", "test_resnet")
#: The scheduler box's first item: let the optimiser choose (adam: none, sgd: plateau).
OPTIMIZER_DEFAULT = "optimizer's default"
SOURCES = ("manifest file", "open image layers")
#: The recipe box's first item: the form's own values, no published setup.
CUSTOM = "custom"


def manifest_from_layers(layers, labels: dict, donors: dict, folder) -> pd.DataFrame:
    """A manifest for image layers: their files, or TIFFs written to ``folder``.

    Parameters
    ----------
    layers : list of napari Image layers
    labels, donors : dict
        Layer name -> class label / donor.
    folder : path
        Where layers without a source file are written (with their pixel size,
        :func:`~napari_msc_morph.widgets._layers.layer_pixel_size`).
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
            safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in layer.name)
            path = write_tiff(np.asarray(layer.data), folder / f"{safe}.tif",
                              pixel_size_um=layer_pixel_size(layer))
        rows.append({"path": str(path), "label": label, "donor": donor, "layer": layer.name})
    return pd.DataFrame(rows)


def _spin_box(low: int, high: int, value: int, step: int = 1) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setValue(value)
    return box


def _combo(items, editable: bool = False) -> QComboBox:
    box = QComboBox()
    box.setEditable(editable)
    box.addItems(list(items))
    return box


def _path_text(edit: FileEdit) -> str:
    """What the user typed or picked ("" when empty; ``FileEdit.value`` would say ".")."""
    return str(edit.line_edit.value).strip()


class TrainWidget(JobDock):
    """Dock widget: train a model on a manifest or on open layers."""

    job_title = "Train model"
    #: One finished epoch's history row, delivered on the GUI thread (live plot).
    epoch_finished = Signal(object)

    def __init__(self, napari_viewer, parent=None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.result = None
        self.history: list[dict] = []
        self.epoch_finished.connect(self._on_epoch)

        inputs = QWidget()
        column = QVBoxLayout(inputs)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(self._build_source_form())
        self._build_layer_table(column)
        form = QFormLayout()
        self._build_model_rows(form)
        self._build_schedule_rows(form)
        self._build_output_rows(form)
        _train_defaults.install(self, form)  # machine-fitting defaults, estimated time
        column.addLayout(form)
        layout = self.build_run_panel(inputs, "Train")
        layout.addWidget(self._build_plot())
        self.report_button = QPushButton("Show report plots (ROC per day, reliability…)")
        self.report_button.setEnabled(False)  # enabled once a run wrote a test report
        self.report_button.clicked.connect(self.show_report_plots)
        layout.addWidget(self.report_button)

    # -- builders ------------------------------------------------------------------------
    def _build_source_form(self) -> QFormLayout:
        form = QFormLayout()
        self.source = _combo(SOURCES)
        self.source.currentIndexChanged.connect(self._source_changed)
        form.addRow("images from", self.source)
        self.manifest_edit = FileEdit(mode="r", filter="Tables (*.csv *.tsv *.xlsx)")
        self.manifest_edit.line_edit.native.setPlaceholderText(
            "manifest.csv (path,label,donor,...)")
        form.addRow("manifest", self.manifest_edit.native)
        return form

    def _build_layer_table(self, column: QVBoxLayout) -> None:
        self.layer_table = QTableWidget(0, 3)
        self.layer_table.setHorizontalHeaderLabels(["layer", "label", "donor"])
        self.layer_table.setVisible(False)
        column.addWidget(self.layer_table)
        self.refresh_button = QPushButton("Refresh layers")
        self.refresh_button.clicked.connect(self.refresh_layers)
        self.refresh_button.setVisible(False)
        column.addWidget(self.refresh_button)

    def _build_model_rows(self, form: QFormLayout) -> None:
        self.recipe = _combo([CUSTOM, *RECIPES.names()])
        self.recipe.setToolTip("a published training setup; it fills the fields below, "
                               "which can still be changed")
        self.recipe.currentTextChanged.connect(self.apply_recipe)
        form.addRow("recipe", self.recipe)
        self.task = _combo(TASKS)
        form.addRow("task", self.task)
        self.classes = QLineEdit()
        self.classes.setPlaceholderText("default: the task's classes found in the data")
        form.addRow("classes", self.classes)
        self.backbone = _combo(BACKBONES, editable=True)
        form.addRow("backbone", self.backbone)
        self.pretrained = QCheckBox("ImageNet weights (file below, timm's cache, or download)")
        form.addRow("", self.pretrained)
        self.weights_edit = FileEdit(mode="r", filter="safetensors (*.safetensors)")
        self.weights_edit.line_edit.native.setPlaceholderText(
            "optional: ImageNet weights .safetensors (offline machines)")
        form.addRow("weights file", self.weights_edit.native)

    def _build_schedule_rows(self, form: QFormLayout) -> None:
        self.epochs = _spin_box(1, 1000, 30)
        form.addRow("epochs", self.epochs)
        self.input_size = _spin_box(16, 2048, 448, step=32)
        form.addRow("input size (px)", self.input_size)
        self.batch_size = _spin_box(1, 512, 16)
        form.addRow("batch size", self.batch_size)
        self.downscale = _spin_box(1, 16, 1)
        form.addRow("read at 1/N resolution", self.downscale)
        self.optimizer = _combo(OPTIMIZERS.names())
        form.addRow("optimizer", self.optimizer)
        self.lr = QLineEdit()
        self.lr.setPlaceholderText("default: the optimizer's (adam 1e-5, sgd 1e-3)")
        form.addRow("learning rate", self.lr)
        self.scheduler = _combo([OPTIMIZER_DEFAULT, *SCHEDULERS.names()])
        form.addRow("lr schedule", self.scheduler)
        self.device = _combo(DEVICES.names())
        form.addRow("device", self.device)

    def _build_output_rows(self, form: QFormLayout) -> None:
        self.out_edit = FileEdit(mode="d")
        self.out_edit.line_edit.native.setPlaceholderText("model folder or .zip to write")
        form.addRow("save model to", self.out_edit.native)
        self.resume = QCheckBox("resume the interrupted run")
        form.addRow("", self.resume)
        self.class_weights = _combo(CLASS_WEIGHTS.names())
        self.class_weights.setToolTip("balanced: rare classes weigh as much as common ones in "
                                      "the loss (weights from the training split)")
        form.addRow("class weights", self.class_weights)
        self.folds = _spin_box(1, 50, 1)
        self.folds.setToolTip("donor-grouped cross-validation: K models, each tested on its own "
                              "donors (1 = one model, no cross-validation)")
        form.addRow("folds (1 = no CV)", self.folds)
        self.keep_all_folds = QCheckBox("keep every fold's model (else the best only)")
        form.addRow("", self.keep_all_folds)

    def _build_plot(self) -> QWidget:
        from matplotlib.figure import Figure

        from ._figure_canvas import BackgroundCanvas

        # the curves are drawn in the plot thread: a synchronous draw here froze the
        # window on every progress tick while training (see _figure_canvas)
        self.canvas = BackgroundCanvas(Figure(figsize=(4, 2.6), layout="constrained"),
                                       layout="constrained")
        self.canvas.setMinimumHeight(200)
        enable_export(self.canvas, "learning_curves")  # right-click: Save PNG…/SVG…
        self._draw_plot()
        return self.canvas

    @property
    def figure(self):
        """The learning-curve figure shown (a new one after every epoch)."""
        return self.canvas.figure

    # -- inputs --------------------------------------------------------------------------
    def _source_changed(self, index: int) -> None:
        from_layers = index == 1
        self.manifest_edit.enabled = not from_layers
        self.layer_table.setVisible(from_layers)
        self.refresh_button.setVisible(from_layers)
        if from_layers:
            self.refresh_layers()

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
        raise BadInputError(f"No image layer named {name!r} in the table; press Refresh layers.")

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

    def apply_recipe(self, name: str) -> None:
        """Fill the form with recipe ``name``'s values (``custom`` changes nothing)."""
        if name == CUSTOM:
            return
        values = recipe_values(name)
        self.task.setCurrentText(values["task"])
        self.classes.setText(", ".join(values["class_names"] or ()))
        self.backbone.setCurrentText(values["backbone"])
        self.pretrained.setChecked(bool(values["pretrained"]))
        self.epochs.setValue(values["epochs"])
        self.input_size.setValue(values["input_size"])
        self.batch_size.setValue(values["batch_size"])
        self.optimizer.setCurrentText(values["optimizer"])
        self.lr.setText(f"{values['lr']:g}")
        self.scheduler.setCurrentText(values["scheduler"])

    def config(self) -> TrainConfig:
        """The :class:`~napari_msc_morph.training.TrainConfig` the form describes.

        With a recipe chosen, its values the form does not show (momentum,
        monitor, crop, tiling, augmentations) come from the recipe.
        """
        classes = [c.strip() for c in self.classes.text().split(",") if c.strip()]
        scheduler = self.scheduler.currentText()
        recipe = self.recipe.currentText()
        values = recipe_values(recipe) if recipe != CUSTOM else {}
        lr_text = self.lr.text().strip()
        try:
            lr = float(lr_text) if lr_text else None
        except ValueError:
            raise BadInputError(f"learning rate must be a number such as 1e-3, got {lr_text!r}.") \
                from None
        if values and self.optimizer.currentText() != values["optimizer"]:
            values.pop("momentum", None)  # another optimiser brings its own
        weights = (_path_text(self.weights_edit) or None) if self.pretrained.isChecked() else None
        values.update(
            task=self.task.currentText(),
            backbone=self.backbone.currentText().strip(),
            input_size=self.input_size.value(),
            epochs=self.epochs.value(),
            batch_size=self.batch_size.value(),
            optimizer=self.optimizer.currentText(),
            scheduler=None if scheduler == OPTIMIZER_DEFAULT else scheduler,
            downscale=self.downscale.value(),
            pretrained=self.pretrained.isChecked(),
            weights=weights,
            lr=lr,
            device=self.device.currentText(),
            class_names=tuple(classes) or None,
            class_weights=self.class_weights.currentText(),
        )
        return TrainConfig(**values)

    def _manifest(self, out: Path):
        """The manifest path, or (training from layers) a function writing it in the worker.

        Layers without a file of their own are written to TIFFs: that reads every
        layer's pixels, which must not happen on the GUI thread.
        """
        if self.source.currentIndex() == 0:
            text = _path_text(self.manifest_edit)
            if not text:
                raise BadInputError(
                    "Choose a manifest file (path,label,donor,...) or use open image layers.")
            return Path(text)
        layers = self.image_layers()
        if not layers:
            raise BadInputError(
                "There are no image layers to train on; open images or choose a manifest.")
        labels, donors = self.layer_assignments()
        folder = default_work_dir(out) / "layers"
        return lambda: manifest_from_layers(layers, labels, donors, folder).drop(columns=["layer"])

    # -- running -------------------------------------------------------------------------
    def run(self):
        """Gather the settings and start :func:`train_model` in a worker; return the worker."""
        if self.busy:
            return None
        try:
            out = _path_text(self.out_edit)
            if not out:
                raise BadInputError("Choose where to save the model (a folder or a .zip).")
            out = Path(out)
            config = self.config()
            source = self._manifest(out)
        except USER_ERRORS as err:
            self.report_error(err)
            return None
        self.history = []
        self.result = None
        self._draw_plot()
        resume = self.resume.isChecked()
        on_epoch = self.epoch_finished.emit  # queued to the GUI thread
        folds, keep = self.folds.value(), "all" if self.keep_all_folds.isChecked() else "best"

        def job(progress, cancel):
            manifest = source() if callable(source) else source
            if folds > 1:
                return cross_validate(manifest, config, out, folds, keep, resume=resume,
                                      progress=progress, cancel=cancel, on_epoch=on_epoch)
            return train_model(manifest, config, out, resume=resume, progress=progress,
                               cancel=cancel, on_epoch=on_epoch)

        return self.start_job(job, self._on_done, status="reading images…")

    def report_error(self, err: BaseException) -> None:
        """As every dock; a cancelled run also keeps its result (the best epoch so far)."""
        super().report_error(err)
        result = getattr(err, "result", None)
        if isinstance(err, Cancelled) and result is not None:
            self._on_done(result)

    def _on_epoch(self, row: dict) -> None:
        if row.get("epoch") == 1:  # a new run (the next fold of a cross-validation)
            self.history = []
        self.history.append(row)
        self._draw_plot()

    def _draw_plot(self) -> None:
        history = list(self.history)  # a snapshot: the next epoch may arrive mid-draw
        self.canvas.plot(lambda fig: plot_learning_curves(history, fig, small=True))

    def show_report_plots(self, *_):
        """Dock the last run's report figures (see :mod:`.report_plots`); return the dock."""
        from .report_plots import show_report_plots

        result = self.result
        if isinstance(result, CrossValidation) and result.results:  # the best fold's report
            result = result.results[min(result.best_fold, len(result.results)) - 1]
        files = getattr(result, "report_files", None) or {}
        if "metrics" not in files:
            return None
        return show_report_plots(self.viewer, Path(files["metrics"]).parent)

    def _on_done(self, result) -> None:
        self.result = result
        if isinstance(result, CrossValidation):
            self.status.setText(
                f"Done: {len(result.folds)} folds; best fold {result.best_fold} saved to "
                f"{result.bundle_path}. " + "; ".join(result.summary_lines()[:4])
                + f"; all in {result.files['summary_csv']}.")
            self.report_button.setEnabled(True)
            return
        if result.bundle_path is None:
            self.status.setText("Stopped before the first epoch finished; no model was written.")
            return
        what = "Cancelled" if result.cancelled else "Done"
        text = (f"{what}: best epoch {result.best_epoch} of {len(result.history)} saved to "
                f"{result.bundle_path} (load it in the Predict widget).")
        if result.test_evaluation is not None:
            m = result.test_evaluation.metrics
            shown = ", ".join(f"{k} {m[k]:.3f}" for k in ("accuracy", "within3_accuracy", "auc")
                              if isinstance(m.get(k), (int, float)))
            report = Path(result.report_files["metrics"]).parent
            self.report_button.setEnabled(True)
            text += f" Test split ({m['n_images']} images): {shown}; report in {report}."
        self.status.setText(text)

