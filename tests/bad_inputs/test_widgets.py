"""In napari, bad input becomes a notification and the viewer keeps working.

Each dock is opened the way a user opens it (Plugins menu ->
``add_plugin_dock_widget``), given something wrong, and must (1) show one
napari error notification naming the problem, (2) leave its Run button usable,
and (3) then do real work in the same viewer.
"""

from __future__ import annotations

import numpy as np
import pytest

from napari_msc_morph.synthetic import if_field


@pytest.fixture
def errors(monkeypatch):
    shown: list[str] = []
    monkeypatch.setattr("napari.utils.notifications.show_error", shown.append)
    return shown


@pytest.fixture(scope="module")
def field():
    return if_field(size=(128, 128), n_cells=6, seed=5)


def _dock(viewer, name):
    _, widget = viewer.window.add_plugin_dock_widget("napari-msc-morph", name)
    return widget


def _settle(qtbot, widget, timeout=120_000):
    qtbot.waitUntil(lambda: not widget.busy, timeout=timeout)


def test_segment_dock_refuses_rgb_then_segments(make_napari_viewer, qtbot, errors, field):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((64, 64, 3), np.uint8), name="photo", rgb=True)
    widget = _dock(viewer, "Segment cells")
    widget.nuclei_combo.setCurrentText("photo")
    widget.run()
    _settle(qtbot, widget)
    assert errors and "photo" in errors[-1] and "RGB" in errors[-1]
    assert widget.run_button.isEnabled()
    viewer.add_image(field.channels["DAPI"], name="dapi")
    widget.nuclei_combo.setCurrentText("dapi")
    widget.run()
    _settle(qtbot, widget)
    assert "dapi nuclei" in viewer.layers


def test_measure_dock_refuses_an_intensity_image_as_labels(make_napari_viewer, qtbot, errors,
                                                           field):
    viewer = make_napari_viewer()
    viewer.add_labels(field.channels["DAPI"].astype(np.int32), name="not labels")
    widget = _dock(viewer, "Measure cells")
    widget.labels_combo.setCurrentText("not labels")
    widget.run()
    _settle(qtbot, widget)
    assert errors and "not labels" in errors[-1] and "label image" in errors[-1]
    viewer.add_labels(field.cells, name="cells")
    widget.labels_combo.setCurrentText("cells")
    widget.run()
    _settle(qtbot, widget)
    assert "area_px" in viewer.layers["cells"].features


def test_predict_dock_reports_a_pickle_bundle_and_keeps_going(make_napari_viewer, qtbot,
                                                              errors, tmp_path):
    viewer = make_napari_viewer()
    layer = viewer.add_image(np.zeros((80, 80), np.uint8), name="field")
    (tmp_path / "model.pth").write_bytes(b"\x80\x04junk")
    widget = _dock(viewer, "Predict")
    widget.set_selected_layers([layer])
    widget.set_bundle_path(tmp_path / "model.pth")
    widget.run()
    qtbot.waitUntil(lambda: any("model.pth" in e or "pickle" in e for e in errors),
                    timeout=120_000)
    _settle(qtbot, widget)
    assert widget.run_button.isEnabled()
    viewer.add_points([[10, 10]])  # the viewer still works
    assert len(viewer.layers) == 2


def test_correlation_dock_without_readouts_says_what_to_do(make_napari_viewer, qtbot, errors):
    viewer = make_napari_viewer()
    widget = _dock(viewer, "Correlation with readouts")
    widget.run()
    _settle(qtbot, widget)
    assert errors and "readout" in errors[-1].lower()
    assert widget.run_button.isEnabled()


def test_an_unexpected_engine_error_is_a_short_notification(make_napari_viewer, qtbot, errors,
                                                           monkeypatch, field):
    from napari_msc_morph.widgets import measure_widget

    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(measure_widget, "measure_field", broken)
    viewer = make_napari_viewer()
    viewer.add_labels(field.cells, name="cells")
    widget = _dock(viewer, "Measure cells")
    widget.labels_combo.setCurrentText("cells")
    widget.run()
    qtbot.waitUntil(lambda: bool(errors), timeout=60_000)
    _settle(qtbot, widget)
    assert "unexpected RuntimeError: simulated bug" in errors[-1]
    assert widget.run_button.isEnabled() and "unexpected" in widget.status.text()
