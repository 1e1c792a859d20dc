"""The "Predict" dock: run a model bundle on bright-field image layers.

Runs :func:`napari_msc_morph.inference.predict_images` (as ``msc-morph predict``), writes a
row per layer into the results table and adds score-map (and Grad-CAM) layers on the image.
"""

from __future__ import annotations

import contextlib
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
    QSizePolicy,
)

from ..errors import USER_ERRORS, BadInputError, MscMorphError
from ..inference import (
    DEVICES,
    TILINGS,
    Explanation,
    Prediction,
    image_input,
    predict_images,
    prediction_rows,
    score_limits,
    unique_notices,
)
from ..io import write_json
from ..models.backbones import import_timm
from ..models.bundle import read_bundle_config
from ..models.tasks import PREDICTED_CLASS_COLUMN, SCORES
from ..table_export import model_provenance
from ._layers import image_layers, layer_pixel_size
from ._panel import JobDock, watch_layer_list
from ._score_legend import show_score_legend
from ._table_view import combo, file_row
from ._warm import import_in_background

#: First entry of the tiling combo box: use the bundle's own tiling.
BUNDLE_DEFAULT = "bundle default"
MAX_RECENT = 8
#: Environment variable that moves the plugin's config folder (tests, portable setups).
CONFIG_DIR_ENV = "NAPARI_MSC_MORPH_CONFIG_DIR"


def config_dir() -> Path:
    """The plugin's user config folder: ``$NAPARI_MSC_MORPH_CONFIG_DIR`` if set, else
    ``napari-msc-morph`` in the user's config folder (platformdirs)."""
    import platformdirs

    override = os.environ.get(CONFIG_DIR_ENV)
    return Path(override) if override else platformdirs.user_config_path(
        "napari-msc-morph", appauthor=False)


def recent_bundles_file() -> Path:
    """Where recently used bundles are remembered."""
    return config_dir() / "recent_bundles.json"


def load_recent_bundles() -> list[str]:
    try:
        data = json.loads(recent_bundles_file().read_text())
    except (OSError, ValueError):
        return []
    return [p for p in data if isinstance(p, str)][:MAX_RECENT] if isinstance(data, list) else []


def remember_bundle(path: str | os.PathLike) -> list[str]:
    """Put ``path`` first in the recent-bundles list and save it; returns the list."""
    path = str(Path(path).resolve())
    recent = [path, *(p for p in load_recent_bundles() if p != path)][:MAX_RECENT]
    with contextlib.suppress(OSError):  # a read-only config folder must not stop a prediction
        write_json(recent, recent_bundles_file())
    return recent


def map_layer_geometry(layer, result: Prediction, n_leading: int):
    """``scale``/``translate`` that put a score map on ``layer``'s pixels (the map's
    ``map_scale``/``map_translate`` in image pixels, composed with the layer's own)."""
    scale = np.asarray(layer.scale, dtype=float)
    translate = np.asarray(layer.translate, dtype=float)
    map_scale = scale[-2:] * np.asarray(result.map_scale)
    map_translate = translate[-2:] + scale[-2:] * np.asarray(result.map_translate)
    return (*scale[:n_leading], *map_scale), (*translate[:n_leading], *map_translate)


#: The message when Predict is pressed without a bundle (cleared once one is chosen).
MISSING_BUNDLE = "choose a model bundle (.zip or folder) first."


class PredictWidget(JobDock):
    """Predict passage, tissue source, OsScore or fate on image layers."""

    job_title = "Predict"
    warm_up = (*JobDock.warm_up, "napari_msc_morph.widgets._warm:image_layers")

    def __init__(self, napari_viewer, parent=None):
        super().__init__(parent)
        self.viewer = napari_viewer
        form = self._build_form()
        layout = self.build_run_panel(form, "Predict")
        layout.addStretch(1)

        self._layers_changed = watch_layer_list(self.viewer, self, self._refresh_layers)
        self._refresh_layers()
        self._describe_bundle(self.bundle_combo.currentText())

    # -- layout ----------------------------------------------------------------------
    def _build_form(self) -> QFormLayout:
        self._layer_list = QListWidget(self)
        self.layer_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.layer_list.setMaximumHeight(120)
        self.layer_list.setToolTip("The bright-field image layers to predict; Ctrl- or "
                                   "Shift-click to choose several.")

        form = QFormLayout()
        form.addRow("Image layers", self.layer_list)
        form.addRow("Model", self._build_bundle_row())
        self.bundle_info = QLabel("", self)
        self.bundle_info.setWordWrap(True)
        self.bundle_info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        form.addRow("", self.bundle_info)

        self.tiling_combo = combo(
            self, [BUNDLE_DEFAULT, *TILINGS.names()], registry=TILINGS,
            tip="How a large field is cut into the network's input squares: the model's own "
            "choice, one centre crop, or a grid of tiles whose scores are averaged (and drawn "
            "as a map). Hover an entry for details.")
        self.overlap_spin = QDoubleSpinBox(self)
        self.overlap_spin.setToolTip("How much neighbouring grid tiles overlap (0.5 = half a "
                                     "tile): more overlap, smoother maps, longer runs.")
        self.overlap_spin.setRange(0.0, 0.9)
        self.overlap_spin.setSingleStep(0.25)
        self.overlap_spin.setValue(0.5)
        self.device_combo = combo(self, DEVICES.names(), "Where the network runs: auto takes a "
                                  "GPU (CUDA or Apple MPS) when there is one, else the CPU.")
        # 0 = each layer's own size (its scale or file metadata); a layer without one is
        # predicted at the model's training pixel size, with a notice saying so
        self.pixel_size_spin = QDoubleSpinBox(self)
        self.pixel_size_spin.setDecimals(4)
        self.pixel_size_spin.setRange(0.0, 1000.0)
        self.pixel_size_spin.setSingleStep(0.05)
        self.pixel_size_spin.setSuffix(" µm")
        self.pixel_size_spin.setSpecialValueText("from the layer")
        self.pixel_size_spin.setToolTip(
            "Pixel size of the chosen images in µm. Leave at the lowest value to use each "
            "layer's scale; a layer without one is treated as having the model's training "
            "pixel size (shown above), and the results say so.")
        self.maps_check = QCheckBox("add score-map layers (grid tiling)", self)
        self.maps_check.setChecked(True)
        self.maps_check.setToolTip("Add a layer per score showing its value across the field "
                                   "(grid tiling only), over the image.")
        form.addRow("Tiling", self.tiling_combo)
        form.addRow("Grid overlap", self.overlap_spin)
        form.addRow("Device", self.device_combo)
        form.addRow("Pixel size", self.pixel_size_spin)
        form.addRow("", self.maps_check)
        self.explain_check = QCheckBox("Explain (Grad-CAM)", self)
        self.explain_check.setToolTip(
            "Also compute a Grad-CAM heat map of the whole field (where the network found "
            "evidence for OsScore's 'induced', or for each crop's predicted class) and add it "
            "as a layer over the image. Takes about twice as long as predicting.")
        form.addRow("", self.explain_check)
        return form

    def _build_bundle_row(self) -> QHBoxLayout:
        self.bundle_combo = QComboBox(self)
        self.bundle_combo.setEditable(True)
        self.bundle_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        # a long bundle path must not widen the dock past a laptop's room (it scrolls)
        self.bundle_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.bundle_combo.setMinimumContentsLength(16)
        self.bundle_combo.lineEdit().setPlaceholderText("model bundle (.zip or folder)")
        self.bundle_combo.setToolTip(
            "A trained model: the .zip (or folder) that Train model or msc-morph train wrote, "
            "with its weights, classes and training pixel size. Recently used ones are listed.")
        self.bundle_combo.addItems(load_recent_bundles())
        self.bundle_combo.setCurrentIndex(0 if self.bundle_combo.count() else -1)
        self.bundle_combo.currentTextChanged.connect(self._describe_bundle)
        row = file_row(self.bundle_combo, self._browse, self)
        row.itemAt(1).widget().setToolTip(
            "Choose a model bundle (.zip, or the model.json in its folder).")
        return row

    # -- widget state ----------------------------------------------------------------
    def _refresh_layers(self):
        chosen = {item.text() for item in self.layer_list.selectedItems()}
        if not chosen:
            chosen = {layer.name for layer in self.viewer.layers.selection}
        self.layer_list.clear()
        for layer in image_layers(self.viewer):
            if layer.metadata.get("msc_morph_score_map"):
                continue  # our own maps are not bright-field images
            item = QListWidgetItem(layer.name)
            self.layer_list.addItem(item)
            item.setSelected(layer.name in chosen)

    @property
    def layer_list(self) -> QListWidget:
        """The image layers offered, up to date with layers added or removed just now."""
        changed = getattr(self, "_layers_changed", None)
        if changed is not None:
            changed.flush()
        return self._layer_list

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
        if text.strip() and self.status.text() == MISSING_BUNDLE:
            self.status.setText("Model chosen: press Predict.")  # the old advice is stale
        if not text.strip():
            self.bundle_info.setText("")
            return
        # validating the config checks its timm backbone name: importing timm and torch on
        # the GUI thread froze napari 3-6 s when the dock opened with a recent bundle
        self.bundle_info.setText("Reading the model…")
        # timm as the engine imports it (triton hidden: it crashes a napari process)
        import_in_background(["timm"], self._show_bundle_info, self,
                             importer=lambda _name: import_timm())

    def _show_bundle_info(self) -> None:
        text = self.bundle_combo.currentText()
        if not text.strip():
            self.bundle_info.setText("")
            return
        try:
            config = read_bundle_config(text.strip())
        except (OSError, ValueError) as err:
            self.bundle_info.setText(str(err))
            return
        classes = ", ".join(config.class_names)
        trained_at = (f"trained at {config.pixel_size_um:g} µm/px" if config.pixel_size_um
                      else "training pixel size unknown")
        self.bundle_info.setText(
            f"{config.task}: {classes} · {config.backbone} @ {config.input_size}px · "
            f"default tiling {config.tiling} · {trained_at}"
        )

    # -- running ---------------------------------------------------------------------
    def _input_state(self) -> tuple[list, list[str], dict]:
        """The layers that can be predicted, the skipped ones' errors, the engine's arguments."""
        layers = self.selected_layers()
        if not layers:
            raise BadInputError("choose one or more image layers first.")
        bundle_path = self.bundle_combo.currentText().strip()
        if not bundle_path:
            raise BadInputError(MISSING_BUNDLE)
        images, good_layers, skipped = [], [], []
        for layer in layers:
            data = layer.data[0] if layer.multiscale else layer.data
            try:
                images.append(image_input(
                    data, name=layer.name, pixel_size_um=layer_pixel_size(layer),
                    rgb=bool(layer.rgb), label=f"layer {layer.name!r}",
                    pixel_size_source="layer",
                ))
            except MscMorphError as err:  # one bad layer must not stop the rest
                if len(layers) == 1:
                    raise
                skipped.append(str(err))
                continue
            good_layers.append(layer)
        if not images:
            raise BadInputError("none of the chosen layers can be predicted: " + "; ".join(skipped))
        tiling = self.tiling_combo.currentText()
        return good_layers, skipped, dict(
            bundle=bundle_path,
            images=images,
            tiling=None if tiling == BUNDLE_DEFAULT else tiling,
            overlap=float(self.overlap_spin.value()),
            device=self.device_combo.currentText(),
            pixel_size_um=self.pixel_size_spin.value() or None,
        )

    def run(self):
        """Start predicting the chosen layers (returns the worker, or None)."""
        if self.busy:
            return self.worker
        try:
            layers, skipped, state = self._input_state()
        except USER_ERRORS as err:
            self.report_error(err)
            return None
        bundle = state["bundle"]
        # how this run was made, kept on each layer for table exports (provenance)
        self._run_settings = {"tiling": state["tiling"] or BUNDLE_DEFAULT,
                              "overlap": state["overlap"], "device": state["device"]}
        explain = self.explain_check.isChecked()
        return self.start_job(
            lambda progress, cancel: predict_images(**state, on_error="collect", explain=explain,
                                                    progress=progress, cancel=cancel),
            lambda predictions: self._show_results(bundle, layers, predictions, skipped),
            status="Loading model…",
        )

    # -- results ---------------------------------------------------------------------
    def _show_results(self, bundle_path: str, layers, predictions: list[Prediction],
                      skipped: list[str] = ()):
        """Rows, then each layer's maps, one new layer per event-loop turn (a generator)."""
        from napari.utils.notifications import show_warning

        from ._results_values import PREDICT_RUN_KEY
        from .results_table import get_results_table

        self._remember(bundle_path)
        table = get_results_table(self.viewer)
        failed = [*skipped, *(f.error for f in predictions.failures)]
        # one notification per run, not one per layer (42 fields gave 84 toasts)
        notice = run_notice(unique_notices(predictions), failed)
        if notice:
            show_warning(f"{self.job_title}: {notice}")
        model = model_provenance(bundle_path)
        summary = []
        for index, prediction in zip(predictions.indices, predictions):
            layer = layers[index]
            row = prediction_rows([prediction], per_plane=False, image_column=False)[0]
            # a stack: one row per plane, with its day (the summary row only for the status)
            table.update_layer_rows(layer, prediction_rows([prediction], image_column=False))
            layer.metadata[PREDICT_RUN_KEY] = {
                "model": model, **self._run_settings, "tiling": prediction.tiling,
                "device": prediction.device, "precision": prediction.precision}
            summary.append(f"{layer.name}: {row[PREDICTED_CLASS_COLUMN]}")
            if self.maps_check.isChecked() and prediction.maps:
                yield  # one new layer per event-loop turn (see JobDock._finish_ok)
                self._add_maps(layer, prediction)
            if prediction.explanation is not None:
                yield
                self._add_gradcam(layer, prediction.explanation)
        if failed:
            summary.append(f"{len(failed)} layer(s) failed: " + "; ".join(failed))
        self.status.setText("; ".join(summary))

    def _remember(self, bundle_path: str) -> None:
        self.bundle_combo.blockSignals(True)
        self.bundle_combo.clear()
        self.bundle_combo.addItems(remember_bundle(bundle_path))
        self.bundle_combo.setCurrentIndex(0)
        self.bundle_combo.blockSignals(False)

    def _add_maps(self, layer, prediction: Prediction) -> None:
        task = prediction.task
        scale, translate = map_layer_geometry(layer, prediction, len(prediction.leading_shape))
        for map_name in task.headline_columns:
            name = f"{layer.name} {map_name}"
            old = self.viewer.layers[name] if name in self.viewer.layers else None
            if old is not None and old.ndim == prediction.maps[map_name].ndim:
                # update in place: removing a layer runs napari's gc.collect() (~1 s frozen)
                old.data = prediction.maps[map_name]
                old.scale, old.translate = scale, translate
                old.contrast_limits = score_limits(task, map_name)
                old.metadata["model_id"] = prediction.model_id
                continue
            if old is not None:
                self.viewer.layers.remove(name)
            colormap = SCORES.get(map_name).colormap if map_name in SCORES else "inferno"
            map_layer = self.viewer.add_image(
                prediction.maps[map_name], name=name, units=tuple(layer.units), scale=scale,
                translate=translate, colormap=colormap,
                contrast_limits=score_limits(task, map_name), opacity=0.55,
                blending="translucent",
                metadata={"msc_morph_score_map": map_name, "source_layer": layer.name,
                          "model_id": prediction.model_id})
            show_score_legend(self.viewer, map_layer)  # one labelled colour bar per score

    def _add_gradcam(self, layer, explanation: Explanation) -> None:
        """The heat map on the image's own pixels: same scale and translate as ``layer``."""
        name = f"{layer.name} Grad-CAM ({explanation.target_label})"
        if name in self.viewer.layers:
            self.viewer.layers.remove(name)
        self.viewer.add_image(
            explanation.heatmap, name=name, units=tuple(layer.units), scale=tuple(layer.scale),
            translate=tuple(layer.translate), colormap="inferno", contrast_limits=(0.0, 1.0),
            opacity=0.5, blending="additive",
            metadata={"msc_morph_score_map": "gradcam", "source_layer": layer.name,
                      "target": explanation.target, "target_layer": explanation.target_layer,
                      "model_id": explanation.model_id},
        )


def run_notice(notices, failed, shown: int = 2) -> str:
    """One line for a whole run: its first notices and skipped layers, and how many more.

    Examples
    --------
    >>> run_notice(["a has no pixel size", "b has no pixel size", "c has no pixel size"],
    ...            ["d: empty"])
    'a has no pixel size; b has no pixel size (+1 more); skipped 1 layer(s): d: empty'
    """
    def listed(items) -> str:
        more = len(items) - shown
        return "; ".join(items[:shown]) + (f" (+{more} more)" if more > 0 else "")

    parts = [listed(list(notices))] if notices else []
    if failed:
        parts.append(f"skipped {len(failed)} layer(s): {listed(list(failed))}")
    return "; ".join(parts)
