"""The Train model widget in a real viewer: manifest run with live plot, Cancel and the test
report; layers -> manifest."""

import sys
from pathlib import Path

import numpy as np
import pytest
import timm  # noqa: F401  (load torch's stack before any viewer exists, as napari does)

from napari_msc_morph.models import DEVICES, load_bundle
from napari_msc_morph.training import OPTIMIZERS
from napari_msc_morph.widgets.train_widget import TrainWidget, manifest_from_layers

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from train_helpers import write_passage_set  # noqa: E402


def _tiny(widget, out):
    widget.backbone.setCurrentText("test_resnet")
    widget.epochs.setValue(3)
    widget.input_size.setValue(64)
    widget.batch_size.setValue(8)
    widget.downscale.setValue(4)
    widget.device.setCurrentText("cpu")
    widget.out_edit.value = out


def test_train_from_manifest_with_cancel(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    widget = TrainWidget(viewer)
    viewer.window.add_dock_widget(widget)
    manifest = write_passage_set(tmp_path / "data", n_donors=4, per_class=2)
    widget.manifest_edit.value = manifest
    widget.task.setCurrentText("passage")
    _tiny(widget, tmp_path / "model")
    epochs = []
    widget.epoch_finished.connect(lambda row: (epochs.append(row), widget.cancel()))
    worker = widget.run()
    assert worker is not None and not widget.run_button.isEnabled()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=180_000)
    assert widget.result is not None and widget.result.cancelled
    assert widget.canvas.wait()  # the live plot is drawn in the plot thread
    assert len(widget.history) == 1 and widget.figure.axes[0].lines  # it got the epoch
    bundle = load_bundle(tmp_path / "model")  # the cancelled run left a usable bundle
    assert bundle.config.class_names == ("P1", "P10")
    assert "Cancelled" in widget.status.text()
    assert widget.run_button.isEnabled()


def test_finished_run_shows_the_test_report(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    widget = TrainWidget(viewer)
    manifest = write_passage_set(tmp_path / "data", n_donors=4, per_class=2)
    widget.manifest_edit.value = manifest
    widget.task.setCurrentText("passage")
    _tiny(widget, tmp_path / "model")
    widget.epochs.setValue(1)
    assert widget.optimizer.count() == len(OPTIMIZERS) and widget.device.count() == len(DEVICES)
    widget.run()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=180_000)
    assert widget.result is not None and not widget.result.cancelled
    assert widget.result.test_evaluation is not None
    assert (tmp_path / "model.train" / "report" / "metrics.json").is_file()
    # the report is a table (metric, yours, 95 % CI, published) and plots, not a text dump
    assert "Test split" in widget.status.text() and "accuracy 0." not in widget.status.text()
    view = widget.report_view
    assert widget.results.currentWidget() is view
    rows = {view.table.item(i, 0).text(): [view.table.item(i, j).text() for j in (1, 2, 3)]
            for i in range(view.table.rowCount())}
    metrics = widget.result.test_evaluation.metrics
    assert rows["accuracy (exact class)"][0] == f"{metrics['accuracy']:.3f}"
    assert view.table.horizontalHeaderItem(2).text() == "95 % CI"
    assert "held-out images" in view.summary.text()
    assert [view.plots.tabText(i) for i in range(view.plots.count())] == [
        "Confusion matrix", "ROC"]
    assert view.canvases["confusion_matrix"].wait()
    assert view.canvases["confusion_matrix"].figure.axes  # the PNG is drawn


def test_user_errors_are_notifications_not_crashes(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    widget = TrainWidget(viewer)
    widget.out_edit.value = tmp_path / "m"
    assert widget.run() is None  # no manifest chosen
    assert "manifest" in widget.status.text()
    widget.source.setCurrentIndex(1)
    assert widget.run() is None  # no layers
    assert "no image layers" in widget.status.text()


def test_manifest_from_layers(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((40, 50), np.uint8), name="early", scale=(0.65, 0.65),
                     metadata={"label": "P1", "donor": "D1"})
    viewer.add_image(np.ones((40, 50), np.uint8), name="late")
    widget = TrainWidget(viewer)
    widget.source.setCurrentIndex(1)
    assert widget.layer_table.rowCount() == 2
    widget.set_layer_row("late", "P10", "D2")
    labels, donors = widget.layer_assignments()
    assert labels == {"early": "P1", "late": "P10"} and donors == {"early": "D1", "late": "D2"}
    table = manifest_from_layers(widget.image_layers(), labels, donors, tmp_path)
    assert list(table["layer"]) == ["early", "late"]  # a single plane: the layer's own name
    assert list(table["label"]) == ["P1", "P10"]
    assert all(Path(p).is_file() for p in table["path"])
    from napari_msc_morph.io import read_image

    assert read_image(table["path"][0]).pixel_size_um == pytest.approx(0.65)


def test_recipe_box_fills_the_form_and_the_config(make_napari_viewer, tmp_path):
    from napari_msc_morph.training.recipes import RECIPES

    widget = TrainWidget(make_napari_viewer())
    items = [widget.recipe.itemText(i) for i in range(widget.recipe.count())]
    assert items == ["custom", *RECIPES.names()]
    widget.recipe.setCurrentText("passage-resnext")
    assert (widget.task.currentText(), widget.backbone.currentText()) == (
        "passage", "resnext50_32x4d")
    assert (widget.optimizer.currentText(), widget.lr.text(), widget.batch_size.value()) == (
        "sgd", "0.001", 8)
    assert widget.pretrained.isChecked() and widget.input_size.value() == 448
    config = widget.config()
    assert (config.recipe, config.monitor, config.resolved_momentum, config.tiling) == (
        "passage-resnext", "val_accuracy", 0.9, "six")
    # a changed field wins over the recipe; the weights file makes the run offline-ready
    widget.batch_size.setValue(4)
    widget.weights_edit.value = tmp_path / "w.safetensors"
    config = widget.config()
    assert config.batch_size == 4 and config.weights == str(tmp_path / "w.safetensors")
    widget.recipe.setCurrentText("source-resnext")
    config = widget.config()
    assert (config.crop, config.tiling, config.epochs, config.learning_rate) == (
        "center", "center", 150, 1e-5)
    widget.recipe.setCurrentText("custom")
    assert widget.config().recipe is None


def test_recipe_back_to_custom_gives_back_the_custom_values(make_napari_viewer):
    widget = TrainWidget(make_napari_viewer())
    widget.optimizer.setCurrentText("adam")
    widget.lr.setText("")
    widget.epochs.setValue(7)
    widget.batch_size.setValue(5)
    widget.pretrained.setChecked(False)
    widget.recipe.setCurrentText("osteonet")
    assert (widget.optimizer.currentText(), widget.lr.text(), widget.epochs.value()) == (
        "sgd", "0.001", 30)
    widget.recipe.setCurrentText("passage-resnext")  # recipe to recipe: the new recipe's
    assert widget.task.currentText() == "passage"
    widget.recipe.setCurrentText("custom")
    assert (widget.optimizer.currentText(), widget.lr.text(), widget.epochs.value(),
            widget.batch_size.value(), widget.pretrained.isChecked()) == ("adam", "", 7, 5, False)
    config = widget.config()
    assert (config.optimizer, config.lr, config.recipe) == ("adam", None, None)
