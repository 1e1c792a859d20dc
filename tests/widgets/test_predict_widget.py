
import numpy as np
import pytest
import torch

from napari_msc_morph.models import BundleConfig, create_backbone, save_bundle
from napari_msc_morph.widgets.predict_widget import PredictWidget, load_recent_bundles
from napari_msc_morph.widgets.results_table import get_results_table


@pytest.fixture
def osteo_bundle_path(tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_MSC_MORPH_CONFIG_DIR", str(tmp_path / "config"))
    config = BundleConfig(task="osteogenic", backbone="resnet10t", input_size=64, tiling="six")
    torch.manual_seed(0)
    return save_bundle(create_backbone("resnet10t", num_classes=2), config, tmp_path / "osteo.zip")


def _wait_done(qtbot, widget, timeout=180000):
    qtbot.waitUntil(lambda: not widget.running, timeout=timeout)


def test_predict_widget_writes_row_and_aligned_score_map(make_napari_viewer, qtbot, osteo_bundle_path):
    viewer = make_napari_viewer()
    rng = np.random.default_rng(0)
    image = viewer.add_image(
        rng.integers(0, 256, (128, 192, 3), dtype=np.uint8), name="field", rgb=True,
        scale=(0.5, 0.5), translate=(10.0, 20.0),
    )
    widget = PredictWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.set_selected_layers([image])
    widget.set_bundle_path(osteo_bundle_path)
    assert "osteogenic" in widget.bundle_info.text()
    widget.tiling_combo.setCurrentText("grid")
    widget.device_combo.setCurrentText("cpu")
    assert widget.run() is not None
    _wait_done(qtbot, widget)

    table = get_results_table(viewer).to_dataframe()
    assert len(table) == 1
    row = table.iloc[0]
    assert row["predicted_class"] in ("control", "induced")
    assert row["os_score"] == pytest.approx(row["p_induced"])
    assert row["n_tiles"] == 3 * 5

    maps = viewer.layers["field os_score"]
    assert maps.data.shape == (3, 5)
    assert maps.colormap.name == "magma"
    assert maps.colorbar.visible
    # map pixel (0, 0) sits on the first tile's centre, one stride (32 px) per map pixel
    assert tuple(maps.scale) == pytest.approx((0.5 * 32, 0.5 * 32))
    first_centre = ((0 + 63) / 2, (0 + 63) / 2)  # grid offset is 0 here: (128-64) and (192-64) divide by 32
    assert tuple(maps.translate) == pytest.approx(
        (10.0 + 0.5 * first_centre[0], 20.0 + 0.5 * first_centre[1])
    )
    # the bundle is remembered
    assert load_recent_bundles()[0] == str(osteo_bundle_path.resolve())
    # the score map is not offered as an input image
    assert [widget.layer_list.item(i).text() for i in range(widget.layer_list.count())] == ["field"]

    # re-running updates the same row and map layer
    widget.set_selected_layers([image])
    widget.run()
    _wait_done(qtbot, widget)
    assert len(get_results_table(viewer).to_dataframe()) == 1
    assert len([layer for layer in viewer.layers if layer.name == "field os_score"]) == 1


def test_predict_widget_cancel(make_napari_viewer, qtbot, osteo_bundle_path):
    viewer = make_napari_viewer()
    layer = viewer.add_image(np.random.default_rng(1).random((512, 512)).astype(np.float32), name="big")
    widget = PredictWidget(viewer)
    widget.set_selected_layers([layer])
    widget.set_bundle_path(osteo_bundle_path)
    widget.tiling_combo.setCurrentText("grid")
    widget.overlap_spin.setValue(0.75)  # 15 x 15 tiles
    widget.device_combo.setCurrentText("cpu")
    worker = widget.run()
    with qtbot.waitSignal(worker.aborted, timeout=180000):
        widget.cancel()
    _wait_done(qtbot, widget)
    assert widget.status.text() == "Cancelled."
    assert len(get_results_table(viewer).to_dataframe()) == 0
    assert "big os_score" not in viewer.layers
    assert widget.run_button.isEnabled()


def test_predict_widget_user_errors(make_napari_viewer, qtbot, tmp_path, monkeypatch, osteo_bundle_path):
    from napari_msc_morph.widgets import predict_widget

    errors = []
    monkeypatch.setattr("napari.utils.notifications.show_error", errors.append)
    viewer = make_napari_viewer()
    widget = PredictWidget(viewer)
    assert widget.run() is None  # no layer chosen
    layer = viewer.add_image(np.zeros((80, 80, 4), np.uint8), name="rgba", rgb=True)
    widget.set_selected_layers([layer])
    widget.set_bundle_path(osteo_bundle_path)
    assert widget.run() is None
    assert "'rgba' has 4 channels" in errors[-1]
    # a pickle is refused inside the worker and reported, the viewer keeps working
    gray = viewer.add_image(np.zeros((80, 80), np.uint8), name="gray")
    (tmp_path / "model.pth").write_bytes(b"\x80\x04junk")
    widget.set_selected_layers([gray])
    widget.set_bundle_path(tmp_path / "model.pth")
    assert widget.run() is not None
    # the worker may fail before a signal spy could connect: wait for its effect instead
    qtbot.waitUntil(lambda: any("unpickling can execute arbitrary code" in e for e in errors),
                    timeout=180000)
    _wait_done(qtbot, widget)
    assert widget.run_button.isEnabled()
    assert predict_widget.load_recent_bundles() == []
