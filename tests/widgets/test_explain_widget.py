"""The Predict dock's "Explain (Grad-CAM)" option: a heat-map layer on the image's own pixels."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inference"))
from explain_helpers import responsive_bundle  # noqa: E402

from napari_msc_morph.widgets.predict_widget import CONFIG_DIR_ENV, PredictWidget  # noqa: E402
from napari_msc_morph.widgets.results_table import get_results_table  # noqa: E402


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / "config"))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return responsive_bundle(tmp_path_factory.mktemp("bundle") / "osteo.zip")


def _run(qtbot, widget):
    assert widget.run() is not None
    qtbot.waitUntil(lambda: not widget.busy, timeout=180000)


def test_explain_adds_an_aligned_gradcam_layer(make_napari_viewer, qtbot, bundle):
    viewer = make_napari_viewer()
    rng = np.random.default_rng(0)
    image = viewer.add_image(rng.integers(0, 256, (96, 140, 3), dtype=np.uint8), name="field",
                             rgb=True, scale=(0.65, 0.65), translate=(5.0, -3.0))
    widget = PredictWidget(viewer)
    widget.set_selected_layers([image])
    widget.set_bundle_path(bundle)
    widget.device_combo.setCurrentText("cpu")
    widget.explain_check.setChecked(True)
    _run(qtbot, widget)

    assert len(get_results_table(viewer).to_dataframe()) == 1  # the prediction still arrives
    cam = viewer.layers["field Grad-CAM (induced)"]
    assert cam.data.shape == image.data.shape[:2]
    assert tuple(cam.scale) == pytest.approx(tuple(image.scale))
    assert tuple(cam.translate) == pytest.approx(tuple(image.translate))
    assert cam.colormap.name == "inferno" and cam.blending == "additive"
    assert cam.opacity == pytest.approx(0.5)
    assert cam.data.dtype == np.float32 and 0 <= cam.data.min() and cam.data.max() == 1.0
    assert cam.metadata["target_layer"] == "layer4"
    # the heat map is not offered as an image to predict, and a re-run replaces it
    names = [widget.layer_list.item(i).text() for i in range(widget.layer_list.count())]
    assert names == ["field"]
    widget.set_selected_layers([image])
    _run(qtbot, widget)
    assert [layer.name for layer in viewer.layers].count("field Grad-CAM (induced)") == 1


def test_without_explain_no_gradcam_layer(make_napari_viewer, qtbot, bundle):
    viewer = make_napari_viewer()
    image = viewer.add_image(np.random.default_rng(1).random((70, 70)).astype(np.float32),
                             name="gray")
    widget = PredictWidget(viewer)
    widget.set_selected_layers([image])
    widget.set_bundle_path(bundle)
    widget.device_combo.setCurrentText("cpu")
    assert not widget.explain_check.isChecked()
    _run(qtbot, widget)
    assert not [layer for layer in viewer.layers if "Grad-CAM" in layer.name]
    assert len(get_results_table(viewer).to_dataframe()) == 1


def test_explain_cancel_adds_nothing(make_napari_viewer, qtbot, bundle):
    viewer = make_napari_viewer()
    image = viewer.add_image(np.random.default_rng(2).random((512, 512)).astype(np.float32),
                             name="big")
    widget = PredictWidget(viewer)
    widget.set_selected_layers([image])
    widget.set_bundle_path(bundle)
    widget.device_combo.setCurrentText("cpu")
    widget.explain_check.setChecked(True)
    worker = widget.run()
    with qtbot.waitSignal(worker.finished, timeout=180000):
        widget.cancel()
    qtbot.waitUntil(lambda: not widget.busy, timeout=180000)
    assert widget.status.text() == "Cancelled."
    assert not [layer for layer in viewer.layers if "Grad-CAM" in layer.name]
