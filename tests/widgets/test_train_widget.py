"""The Train model widget in a real viewer: manifest run with live plot and Cancel; layers -> manifest."""

import sys
from pathlib import Path

import numpy as np
import pytest
import timm  # noqa: F401  (load torch's stack before any viewer exists, as napari does)

from napari_msc_morph.models import load_bundle
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
    widget.out_edit.setText(str(out))


def test_train_from_manifest_with_cancel(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    widget = TrainWidget(viewer)
    viewer.window.add_dock_widget(widget)
    manifest = write_passage_set(tmp_path / "data", n_donors=4, per_class=2)
    widget.manifest_edit.setText(str(manifest))
    widget.task.setCurrentText("passage")
    _tiny(widget, tmp_path / "model")
    epochs = []
    widget._events.event.connect(
        lambda e: e["kind"] == "epoch" and (epochs.append(e), widget.cancel()))
    worker = widget.start()
    assert worker is not None and not widget.train_button.isEnabled()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=180_000)
    assert widget.result is not None and widget.result.cancelled
    assert len(widget.history) == 1 and widget.ax_loss.lines  # the live plot got the epoch
    bundle = load_bundle(tmp_path / "model")  # the cancelled run left a usable bundle
    assert bundle.config.class_names == ("P1", "P10")
    assert "Cancelled" in widget.status.text()
    assert widget.train_button.isEnabled()


def test_user_errors_are_notifications_not_crashes(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    widget = TrainWidget(viewer)
    widget.out_edit.setText(str(tmp_path / "m"))
    assert widget.start() is None  # no manifest chosen
    assert "manifest" in widget.status.text()
    widget.source.setCurrentIndex(1)
    assert widget.start() is None  # no layers
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
    assert list(table["label"]) == ["P1", "P10"]
    assert all(Path(p).is_file() for p in table["path"])
    from napari_msc_morph.io import read_image

    assert read_image(table["path"][0]).pixel_size_um == pytest.approx(0.65)
