"""The Train widget's folds box (donor-grouped cross-validation) and class-weights option."""

import sys
from pathlib import Path

import pandas as pd
import timm  # noqa: F401  (load torch's stack before any viewer exists, as napari does)

from napari_msc_morph.models import load_bundle
from napari_msc_morph.training.crossval import CrossValidation
from napari_msc_morph.widgets.train_widget import TrainWidget

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from train_helpers import write_passage_set  # noqa: E402


def test_folds_box_runs_a_cross_validation(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    widget = TrainWidget(viewer)
    manifest = write_passage_set(tmp_path / "data", n_donors=4, per_class=1, size=(96, 128))
    widget.manifest_edit.value = manifest
    widget.task.setCurrentText("passage")
    widget.backbone.setCurrentText("test_resnet")
    widget.epochs.setValue(1)
    widget.input_size.setValue(32)
    widget.batch_size.setValue(4)
    widget.device.setCurrentText("cpu")
    widget.out_edit.value = tmp_path / "model"
    assert widget.folds.value() == 1 and widget.class_weights.currentText() == "none"
    widget.folds.setValue(2)
    widget.class_weights.setCurrentText("balanced")
    assert widget.config().class_weights == "balanced"
    widget.run()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=180_000)
    assert isinstance(widget.result, CrossValidation), widget.status.text()
    assert len(widget.result.folds) == 2
    summary = pd.read_csv(tmp_path / "model.cv" / "cv_summary.csv")
    assert "test_accuracy" in set(summary["metric"])
    assert "best fold" in widget.status.text() and "test_accuracy" in widget.status.text()
    assert load_bundle(tmp_path / "model").config.metrics["class_weights"] == "balanced"
    assert len(list(tmp_path.rglob("model.json"))) == 1  # keep the best only (the default)
