"""The "Train model" dock: train on a manifest or on the open image layers.

Rarely changed settings sit in a closed "Advanced" section; the run calls
:func:`~napari_msc_morph.training.train_model` (or ``cross_validate``) like the CLI.
Opening the dock loads neither torch nor matplotlib (the plot is made at the first run).
"""

from __future__ import annotations

import functools
from pathlib import Path

from magicgui.widgets import FileEdit
from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
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
from ._collapsible import Collapsible
from ._figure_export import enable_export
from ._layers import image_layers
from ._panel import JobDock, button
from ._table_view import combo, line_edit
from ._train_layers import layer_images, manifest_from_layers
from ._train_report import TestReportView
from ._train_tips import TIPS, tip

__all__ = ["TrainWidget", "manifest_from_layers"]

#: Suggestions for the editable backbone box (any timm name is accepted).
BACKBONES = ("resnext50_32x4d", "resnet50", "resnet18", "convnext_tiny", "efficientnet_b0",
             "resnet10t", "test_resnet")
#: The scheduler box's first item: let the optimiser choose (adam: none, sgd: plateau).
OPTIMIZER_DEFAULT = "optimizer's default"
SOURCES = ("manifest file", "open image layers")
#: The recipe box's first item: the form's own values, no published setup.
CUSTOM = "custom"


def _spin_box(low: int, high: int, value: int, step: int = 1) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setValue(value)
    return box


def _file_edit(mode: str, placeholder: str, **kwargs) -> FileEdit:
    edit = FileEdit(mode=mode, **kwargs)
    edit.line_edit.native.setPlaceholderText(placeholder)
    return edit


def _form(dock, rows) -> QFormLayout:
    """A form of ``(attribute, label, field)`` rows, each field set on ``dock`` with the
    tooltip ``TIPS[attribute]`` on it and its label; long rows wrap in a narrow dock."""
    form = QFormLayout()
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
    for name, label, field in rows:
        setattr(dock, name, field)
        text = TIPS[name.removesuffix("_edit")]
        tip(field, text)
        native = getattr(field, "native", field)  # a magicgui FileEdit's Qt widget
        form.addRow(label, native)
        if label:
            form.labelForField(native).setToolTip(text)
    return form


def _path_text(edit: FileEdit) -> str:
    """What the user typed or picked ("" when empty; ``FileEdit.value`` would say ".")."""
    return str(edit.line_edit.value).strip()


def _split(text: str) -> tuple[str, ...]:
    """The comma-separated entries of ``text`` (class names), stripped, empty ones dropped."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


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
        self._custom_values: dict = {}  # the form's own values while a recipe is shown
        self._recipe_shown = CUSTOM
        self._table_defaults: dict = {}  # image name -> (label, donor) prefilled in the table
        self.epoch_finished.connect(self._on_epoch)

        inputs = QWidget()
        column = QVBoxLayout(inputs)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(_form(self, [
            ("source", "images from", combo(None, SOURCES)),
            ("manifest_edit", "manifest", _file_edit("r", "manifest.csv (path,label,donor,...)",
                                                     filter="Tables (*.csv *.tsv *.xlsx)")),
        ]))
        self.source.currentIndexChanged.connect(self._source_changed)
        self._build_layer_table(column)
        form = _form(self, [
            ("recipe", "recipe", combo(None, [CUSTOM, *RECIPES.names()])),
            ("task", "task", combo(None, TASKS)),
            ("backbone", "backbone", combo(None, BACKBONES, editable=True)),
            ("pretrained", "", QCheckBox("start from ImageNet weights")),
            ("epochs", "epochs", _spin_box(1, 1000, 30)),
            ("device", "device", combo(None, DEVICES.names())),
            ("out_edit", "save model to", _file_edit("d", "model folder or .zip to write")),
        ])
        self.recipe.currentTextChanged.connect(self.apply_recipe)
        self.task.currentTextChanged.connect(self._task_changed)
        column.addLayout(form)
        box = QWidget()
        box.setLayout(_form(self, [
            ("classes", "classes",
             line_edit(None, "default: the task's classes found in the data", "")),
            ("weights_edit", "weights file", _file_edit(
                "r", "optional: ImageNet weights .safetensors (offline machines)",
                filter="safetensors (*.safetensors)")),
            ("input_size", "input size (px)", _spin_box(16, 2048, 448, step=32)),
            ("batch_size", "batch size", _spin_box(1, 512, 16)),
            ("downscale", "read at 1/N size", _spin_box(1, 16, 1)),
            ("optimizer", "optimizer", combo(None, OPTIMIZERS.names())),
            ("lr", "learning rate",
             line_edit(None, "default: the optimizer's (adam 1e-5, sgd 1e-3)", "")),
            ("scheduler", "lr schedule", combo(None, [OPTIMIZER_DEFAULT, *SCHEDULERS.names()])),
            ("class_weights", "class weights", combo(None, CLASS_WEIGHTS.names())),
            ("folds", "folds", _spin_box(1, 50, 1)),
            ("keep_all_folds", "", QCheckBox("keep every fold's model")),
            ("resume", "", QCheckBox("resume the interrupted run")),
        ]))
        self.advanced = Collapsible("Advanced", box, tooltip="Input size, batch size, optimizer, "
                                    "learning rate and its schedule, class weights, folds")
        column.addWidget(self.advanced)
        _train_defaults.install(self, form)  # machine-fitting defaults, estimated time
        layout = self.build_run_panel(inputs, "Train")
        tip(self.run_button, "Train in the background; the live plot shows each epoch.")
        tip(self.cancel_button, "Stop after the current batch; the best epoch so far is saved.")
        self.results = QTabWidget(self)
        self.report_view = TestReportView()
        self.results.addTab(self.report_view, "Test report")
        self.results.setVisible(False)  # shown by the first run
        layout.addWidget(self.results)
        self.report_button = button(self, "Show report plots…", TIPS["report_button"],
                                    self.show_report_plots)
        self.report_button.setEnabled(False)  # enabled once a run wrote a test report
        layout.addWidget(self.report_button)

    # -- builders ------------------------------------------------------------------------
    def _build_layer_table(self, column: QVBoxLayout) -> None:
        self.layer_table = QTableWidget(0, 3)
        self.layer_table.setHorizontalHeaderLabels(["image", "label", "donor"])
        tip(self.layer_table, TIPS["layer_table"])
        self.layer_table.setVisible(False)
        column.addWidget(self.layer_table)
        self.refresh_button = button(self, "Refresh layers", TIPS["refresh"], self.refresh_layers)
        self.refresh_button.setVisible(False)
        column.addWidget(self.refresh_button)

    @functools.cached_property
    def canvas(self):
        """The learning-curve canvas, made at the first run (matplotlib loads then)."""
        from matplotlib.figure import Figure

        from ._figure_canvas import BackgroundCanvas

        # the curves are drawn in the plot thread: a synchronous draw here froze the
        # window on every progress tick while training (see _figure_canvas)
        canvas = BackgroundCanvas(Figure(figsize=(4, 2.6), layout="constrained"),
                                  layout="constrained")
        canvas.setMinimumHeight(200)
        canvas.setToolTip("Loss and accuracy per epoch.")
        enable_export(canvas, "learning_curves")  # right-click: Save PNG…/SVG…
        self.results.insertTab(0, canvas, "Learning curves")
        self.results.setCurrentIndex(0)
        self.results.setVisible(True)
        return canvas

    @property
    def figure(self):
        return self.canvas.figure

    # -- inputs --------------------------------------------------------------------------
    def _source_changed(self, index: int) -> None:
        from_layers = index == 1
        self.manifest_edit.enabled = not from_layers
        self.layer_table.setVisible(from_layers)
        self.refresh_button.setVisible(from_layers)
        if from_layers:
            self.refresh_layers()

    def _task_changed(self, _task: str) -> None:
        if self.source.currentIndex() == 1:  # default labels follow the task (condition or day)
            self.refresh_layers()

    def image_layers(self) -> list:
        return image_layers(self.viewer)

    def _task_classes(self) -> tuple[str, ...]:
        task = TASKS.get(self.task.currentText()) if self.task.currentText() in TASKS else None
        return _split(self.classes.text()) or (task.class_names if task is not None else ())

    def refresh_layers(self) -> None:
        """One table row per image (each plane of a stack), label and donor prefilled from
        the layer (:func:`~._train_layers.layer_images`); what the user typed is kept."""
        typed_labels, typed_donors = self.layer_assignments()
        images = layer_images(self.image_layers(), self._task_classes())
        old_defaults, self._table_defaults = self._table_defaults, {}
        self.layer_table.setRowCount(len(images))
        for i, image in enumerate(images):
            name = QTableWidgetItem(image.name)
            name.setFlags(name.flags() & ~name.flags().ItemIsEditable)
            self.layer_table.setItem(i, 0, name)
            default_label, default_donor = old_defaults.get(image.name, (None, None))
            label = typed_labels.get(image.name, default_label)
            donor = typed_donors.get(image.name, default_donor)
            label = image.label if label == default_label else label  # untouched: new default
            donor = image.donor if donor == default_donor else donor
            self._table_defaults[image.name] = (image.label, image.donor)
            self.layer_table.setItem(i, 1, QTableWidgetItem(str(label)))
            self.layer_table.setItem(i, 2, QTableWidgetItem(str(donor)))

    def set_layer_row(self, name: str, label: str, donor: str) -> None:
        """Set an image's label and donor (as typing them into the table does)."""
        for i in range(self.layer_table.rowCount()):
            if self.layer_table.item(i, 0).text() == name:
                self.layer_table.setItem(i, 1, QTableWidgetItem(str(label)))
                self.layer_table.setItem(i, 2, QTableWidgetItem(str(donor)))
                return
        raise BadInputError(f"No image named {name!r} in the table; press Refresh layers.")

    def layer_assignments(self) -> tuple[dict, dict]:
        """``(labels, donors)``: image name -> the table's label / donor."""
        table = self.layer_table  # refresh_layers fills every cell of every row
        rows = [[table.item(i, j).text() for j in range(3)] for i in range(table.rowCount())]
        return {name: label for name, label, _ in rows}, {name: donor for name, _, donor in rows}

    def _recipe_fields(self) -> dict:
        """name -> (read, write) of the form fields a recipe fills."""
        return {
            "task": (self.task.currentText, self.task.setCurrentText),
            "class_names": (self.classes.text, self.classes.setText),
            "backbone": (self.backbone.currentText, self.backbone.setCurrentText),
            "pretrained": (self.pretrained.isChecked, self.pretrained.setChecked),
            "epochs": (self.epochs.value, self.epochs.setValue),
            "input_size": (self.input_size.value, self.input_size.setValue),
            "batch_size": (self.batch_size.value, self.batch_size.setValue),
            "optimizer": (self.optimizer.currentText, self.optimizer.setCurrentText),
            "lr": (self.lr.text, self.lr.setText),
            "scheduler": (self.scheduler.currentText, self.scheduler.setCurrentText),
        }

    def apply_recipe(self, name: str) -> None:
        """Fill the form with recipe ``name``'s values; ``custom`` gives back the form's own
        (kept when a recipe was chosen)."""
        fields = self._recipe_fields()
        if self._recipe_shown == CUSTOM and name != CUSTOM:
            self._custom_values = {key: read() for key, (read, _) in fields.items()}
        self._recipe_shown = name
        if name == CUSTOM:
            for key, value in self._custom_values.items():
                fields[key][1](value)
            return
        values = recipe_values(name)
        shown = {**values, "class_names": ", ".join(values["class_names"] or ()),
                 "pretrained": bool(values["pretrained"]), "lr": f"{values['lr']:g}"}
        for key, (_, write) in fields.items():
            write(shown[key])

    def config(self) -> TrainConfig:
        """The :class:`~napari_msc_morph.training.TrainConfig` the form describes (with a
        recipe chosen, the values the form does not show come from the recipe)."""
        recipe = self.recipe.currentText()
        values = recipe_values(recipe) if recipe != CUSTOM else {}
        form = {key: read() for key, (read, _) in self._recipe_fields().items()}
        lr_text = form["lr"].strip()
        try:
            lr = float(lr_text) if lr_text else None
        except ValueError:
            raise BadInputError(f"learning rate must be a number such as 1e-3, got {lr_text!r}.") \
                from None
        if values and form["optimizer"] != values["optimizer"]:
            values.pop("momentum", None)  # another optimiser brings its own
        weights = (_path_text(self.weights_edit) or None) if form["pretrained"] else None
        values.update(
            form, lr=lr, weights=weights, backbone=form["backbone"].strip(),
            class_names=_split(form["class_names"]) or None,
            scheduler=None if form["scheduler"] == OPTIMIZER_DEFAULT else form["scheduler"],
            downscale=self.downscale.value(), device=self.device.currentText(),
            class_weights=self.class_weights.currentText())
        return TrainConfig(**values)

    def _manifest(self, out: Path):
        """The manifest path, or (from layers) a function writing it in the worker: planes
        without a file are written to TIFFs, which reads pixels (never on the GUI thread)."""
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
        folder, classes = default_work_dir(out) / "layers", self._task_classes()
        return lambda: manifest_from_layers(layers, labels, donors, folder, classes).drop(
            columns=["layer"])

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

    def _report_folder(self) -> Path | None:
        """The last run's test-report folder (the best fold's for a cross-validation)."""
        result = self.result
        if isinstance(result, CrossValidation) and result.results:
            result = result.results[min(result.best_fold, len(result.results)) - 1]
        files = getattr(result, "report_files", None) or {}
        return Path(files["metrics"]).parent if "metrics" in files else None

    def show_report_plots(self, *_):
        """Dock the last run's report figures (see :mod:`.report_plots`); return the dock."""
        from .report_plots import show_report_plots

        folder = self._report_folder()
        return None if folder is None else show_report_plots(self.viewer, folder)

    def _show_test_report(self) -> str:
        """Fill the Test report tab; returns the status line's part about it."""
        folder = self._report_folder()
        if folder is None or not (folder / "metrics.json").is_file():
            return ""
        self.report_view.show_report(folder)
        self.results.setCurrentWidget(self.report_view)
        self.report_button.setEnabled(True)
        return f" Test report below (metrics with 95 % CIs, plots); files in {folder}."

    def _on_done(self, result) -> None:
        self.result = result
        if isinstance(result, CrossValidation):
            self.status.setText(
                f"Done: {len(result.folds)} folds; best fold {result.best_fold} saved to "
                f"{result.bundle_path}. " + "; ".join(result.summary_lines()[:4])
                + f"; all in {result.files['summary_csv']}." + self._show_test_report())
            return
        if result.bundle_path is None:
            self.status.setText("Stopped before the first epoch finished; no model was written.")
            return
        what = "Cancelled" if result.cancelled else "Done"
        text = (f"{what}: best epoch {result.best_epoch} of {len(result.history)} saved to "
                f"{result.bundle_path} (load it in the Predict widget).")
        if result.test_evaluation is not None:
            text += (f" Test split: {result.test_evaluation.metrics['n_images']} images."
                     + self._show_test_report())
        self.status.setText(text)
