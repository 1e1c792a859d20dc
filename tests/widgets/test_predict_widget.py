
import numpy as np
import pytest
import torch

from napari_msc_morph.inference import DEVICES, TILINGS, predict_images, prediction_rows
from napari_msc_morph.models import BundleConfig, create_backbone, save_bundle
from napari_msc_morph.widgets.predict_widget import (
    CONFIG_DIR_ENV,
    PredictWidget,
    load_recent_bundles,
    recent_bundles_file,
)
from napari_msc_morph.widgets.results_table import get_results_table


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    """Recent bundles go to a temporary folder, never the user's real config."""
    folder = tmp_path / "config"
    monkeypatch.setenv(CONFIG_DIR_ENV, str(folder))
    return folder


@pytest.fixture
def osteo_bundle_path(tmp_path):
    config = BundleConfig(task="osteogenic", backbone="resnet10t", input_size=64, tiling="six")
    torch.manual_seed(0)
    return save_bundle(create_backbone("resnet10t", num_classes=2), config, tmp_path / "osteo.zip")


def _wait_done(qtbot, widget, timeout=180000):
    qtbot.waitUntil(lambda: not widget.busy, timeout=timeout)


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
    # described once timm is imported off the GUI thread
    qtbot.waitUntil(lambda: "osteogenic" in widget.bundle_info.text(), timeout=30_000)
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
    with qtbot.waitSignal(worker.finished, timeout=180000):
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


def test_recent_bundles_live_in_the_overridable_config_dir(config_dir, osteo_bundle_path):
    from napari_msc_morph.widgets.predict_widget import remember_bundle

    assert recent_bundles_file() == config_dir / "recent_bundles.json"
    remember_bundle(osteo_bundle_path)
    assert recent_bundles_file().exists()
    assert load_recent_bundles() == [str(osteo_bundle_path.resolve())]


def test_predict_widget_combos_come_from_the_registries(make_napari_viewer):
    widget = PredictWidget(make_napari_viewer())
    tilings = [widget.tiling_combo.itemText(i) for i in range(widget.tiling_combo.count())]
    assert tilings == ["bundle default", *TILINGS.names()]
    devices = [widget.device_combo.itemText(i) for i in range(widget.device_combo.count())]
    assert devices == DEVICES.names()


def test_predict_widget_row_equals_a_direct_engine_call(make_napari_viewer, qtbot,
                                                         osteo_bundle_path):
    viewer = make_napari_viewer()
    rng = np.random.default_rng(3)
    stack = rng.integers(0, 4000, (2, 96, 112), dtype=np.uint16)
    layer = viewer.add_image(stack, name="stack", scale=(1.0, 0.8, 0.8))
    widget = PredictWidget(viewer)
    widget.set_selected_layers([layer])
    widget.set_bundle_path(osteo_bundle_path)
    widget.tiling_combo.setCurrentText("grid")
    widget.device_combo.setCurrentText("cpu")
    widget.run()
    _wait_done(qtbot, widget)
    rows = get_results_table(viewer).to_dataframe()

    # the same call the button makes: the layer's pixel size (scale), one row per plane
    direct = predict_images(osteo_bundle_path, [stack], tiling="grid", overlap=0.5,
                            device="cpu", pixel_size_um=0.8)
    assert len(rows) == 2
    for (_, row), expected in zip(rows.iterrows(), prediction_rows(direct, image_column=False)):
        assert expected["pixel_size_source"] == "user" and row["pixel_size_source"] == "layer"
        expected["pixel_size_source"] = "layer"  # the widget took it from the layer's scale
        assert str(row["plane"]) == expected.pop("plane")
        for key, value in expected.items():
            if isinstance(value, float):
                assert row[key] == pytest.approx(value, abs=1e-6), key
            else:
                assert row[key] == value, key
    # the stacked map has the stack's leading axis and the layer's leading scale
    maps = viewer.layers["stack os_score"]
    assert maps.data.shape == (2,) + direct[0].planes[0].maps["os_score"].shape
    np.testing.assert_allclose(maps.data, direct[0].maps["os_score"], atol=1e-6)
    assert maps.scale[0] == pytest.approx(1.0)


def test_pixel_size_field_and_unknown_sizes_are_said(make_napari_viewer, qtbot, tmp_path):
    config = BundleConfig(task="osteogenic", backbone="resnet10t", input_size=64,
                          pixel_size_um=0.65)
    bundle = save_bundle(create_backbone("resnet10t", num_classes=2), config, tmp_path / "px.zip")
    viewer = make_napari_viewer()
    rng = np.random.default_rng(5)
    layer = viewer.add_image(rng.integers(0, 255, (90, 100), dtype=np.uint8), name="no_scale")
    widget = PredictWidget(viewer)
    widget.set_selected_layers([layer])
    widget.set_bundle_path(bundle)
    qtbot.waitUntil(lambda: "trained at 0.65 µm/px" in widget.bundle_info.text(), timeout=30_000)
    widget.device_combo.setCurrentText("cpu")
    widget.run()
    _wait_done(qtbot, widget)
    row = get_results_table(viewer).to_dataframe().iloc[0]
    assert row["pixel_size_source"] == "assumed_from_model"
    assert row["pixel_size_um"] == pytest.approx(0.65)
    widget.pixel_size_spin.setValue(0.65)  # the user says what it is
    widget.run()
    _wait_done(qtbot, widget)
    row = get_results_table(viewer).to_dataframe().iloc[0]
    assert row["pixel_size_source"] == "user"
