"""Issue 24.7: one notification per run, not per layer; a stale hint is cleared."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_msc_morph.models import BundleConfig, create_backbone, save_bundle
from napari_msc_morph.widgets.predict_widget import (
    CONFIG_DIR_ENV,
    MISSING_BUNDLE,
    PredictWidget,
    run_notice,
)


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / "config"))


@pytest.fixture
def bundle(tmp_path):
    config = BundleConfig(task="osteogenic", backbone="resnet10t", input_size=64, tiling="center",
                          pixel_size_um=0.65)
    torch.manual_seed(0)
    return save_bundle(create_backbone("resnet10t", num_classes=2), config, tmp_path / "o.zip")


def test_predict_on_many_layers_notifies_once(make_napari_viewer, qtbot, bundle, monkeypatch):
    import napari.utils.notifications as notifications

    shown = []
    monkeypatch.setattr(notifications, "show_warning", shown.append)
    viewer = make_napari_viewer()
    rng = np.random.default_rng(0)
    # no pixel size: each layer has its own notice ("fieldN has no pixel size; ... assumed")
    layers = [viewer.add_image(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8),
                               name=f"field{i}", rgb=True) for i in range(4)]
    widget = PredictWidget(viewer)
    widget.set_selected_layers(layers)
    widget.set_bundle_path(bundle)
    widget.device_combo.setCurrentText("cpu")
    assert widget.run() is not None
    qtbot.waitUntil(lambda: not widget.busy, timeout=180000)
    assert len(shown) == 1, shown  # was 4: one per layer
    assert "more" in shown[0] and len(shown[0]) < 600


def test_run_notice_counts_what_it_does_not_list():
    notices = [f"field{i} has no pixel size" for i in range(42)]
    text = run_notice(notices, [])
    assert text.count("has no pixel size") == 2 and "(+40 more)" in text
    assert run_notice([], []) == ""


def test_choosing_a_bundle_clears_the_stale_hint(make_napari_viewer, bundle):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((64, 64), np.uint8), name="field")
    widget = PredictWidget(viewer)
    widget.set_bundle_path("")
    widget.set_selected_layers(["field"])
    widget.run()
    assert widget.status.text() == MISSING_BUNDLE
    widget.set_bundle_path(bundle)
    assert MISSING_BUNDLE not in widget.status.text()
