"""Docks fit a 1280x800 laptop without resizing napari's window, remember their settings per
viewer, and Train's defaults fit the machine; one labelled colour bar per score."""

from __future__ import annotations

import numpy as np
import pytest
import timm  # noqa: F401  (load torch's stack before any viewer exists, as napari does)

from napari_msc_morph.widgets import _train_defaults
from napari_msc_morph.widgets._score_legend import (
    OVERLAY_PREFIX,
    refresh_score_legends,
    show_score_legend,
)
from napari_msc_morph.widgets.correlation_widget import CorrelationWidget
from napari_msc_morph.widgets.measure_widget import MeasureWidget
from napari_msc_morph.widgets.predict_widget import PredictWidget
from napari_msc_morph.widgets.results_table import get_results_table
from napari_msc_morph.widgets.segment_widget import SegmentWidget
from napari_msc_morph.widgets.train_widget import TrainWidget

DOCKS = (SegmentWidget, MeasureWidget, PredictWidget, TrainWidget, CorrelationWidget)


def test_every_dock_fits_a_laptop_screen_without_touching_the_window(make_napari_viewer, qtbot):
    viewer = make_napari_viewer(show=True)
    window = viewer.window._qt_window
    size = window.size()
    for dock_class in DOCKS:
        widget = dock_class(viewer)
        assert widget.sizeHint().height() <= 800, dock_class.__name__
        # the whole form is still there, in a scroll area
        assert widget.scroll.widget().sizeHint().height() > 0
        viewer.window.add_dock_widget(widget, name=dock_class.__name__, area="right")
    assert get_results_table(viewer).sizeHint().height() <= 800
    qtbot.wait(200)
    # all six docks stacked on the right (napari's own layout) still fit a 1280x800 laptop
    # screen, so napari never has to grow its window (nor remember an oversized one)
    smallest = window.minimumSizeHint()
    assert smallest.height() <= 800 - 60 and smallest.width() <= 1280
    assert window.size() == size                  # the plugin never resizes napari's window


def test_docks_remember_their_fields_per_viewer(make_napari_viewer):
    viewer = make_napari_viewer()
    first = SegmentWidget(viewer)
    assert first.min_diameter.value() != 12.5
    first.min_diameter.setValue(12.5)
    first.exclude_border.setChecked(not first.exclude_border.isChecked())
    border = first.exclude_border.isChecked()
    train = TrainWidget(viewer)
    train.epochs.setValue(7)
    train.backbone.setCurrentText("resnet18")
    first.close()
    first.deleteLater()
    train.close()

    second = SegmentWidget(viewer)               # re-opened in the same viewer
    assert second.min_diameter.value() == 12.5
    assert second.exclude_border.isChecked() == border
    again = TrainWidget(viewer)
    assert (again.epochs.value(), again.backbone.currentText()) == (7, "resnet18")
    again.epochs.setValue(9)                     # the latest values are the ones kept
    again.close()
    assert TrainWidget(viewer).epochs.value() == 9

    other = make_napari_viewer()                 # another viewer starts from the defaults
    assert SegmentWidget(other).min_diameter.value() != 12.5
    assert TrainWidget(other).epochs.value() != 7


def test_a_dock_closed_and_reopened_from_the_plugins_menu_keeps_its_fields(make_napari_viewer):
    # napari gives each dock it opens from the menu its own proxy of the viewer
    viewer = make_napari_viewer()
    dock, widget = viewer.window.add_plugin_dock_widget("napari-msc-morph", "Segment cells")
    assert widget.min_diameter.value() != 12.5
    widget.min_diameter.setValue(12.5)
    viewer.window.remove_dock_widget(dock)       # the dock's close button
    _, again = viewer.window.add_plugin_dock_widget("napari-msc-morph", "Segment cells")
    assert again is not widget and again.min_diameter.value() == 12.5


def test_measure_does_not_carry_a_pixel_size_over(make_napari_viewer):
    viewer = make_napari_viewer()
    first = MeasureWidget(viewer)
    first.pixel_size.setValue(3.25)
    first.close()
    second = MeasureWidget(viewer)
    assert second.pixel_size.value() != 3.25


def test_train_starts_small_on_a_cpu_and_shows_the_estimated_time(make_napari_viewer):
    viewer = make_napari_viewer()
    widget = TrainWidget(viewer)
    assert widget.device.currentText() == "auto"  # this machine has no GPU: auto means cpu
    assert (widget.backbone.currentText(), widget.input_size.value(), widget.epochs.value()) \
        == ("resnet10t", 224, 10)
    text = widget.estimate_label.text()
    assert text.startswith("Estimated training time: ≈") and "on cpu" in text
    assert "assuming 100 images" in text
    short = _train_defaults.update_estimate(widget)
    widget.epochs.setValue(40)                    # the label follows the fields
    assert widget.estimate_label.text() != short
    viewer.add_image(np.zeros((32, 32), np.uint8), name="a")
    viewer.add_image(np.zeros((32, 32), np.uint8), name="b")
    widget.source.setCurrentIndex(1)
    assert "2 images" in widget.estimate_label.text()


def test_train_takes_the_recipe_values_on_a_gpu(make_napari_viewer, monkeypatch):
    monkeypatch.setattr(_train_defaults, "_resolved_device", lambda text: "cuda")
    widget = TrainWidget(make_napari_viewer())
    widget.task.setCurrentText("passage")
    values = _train_defaults.apply_machine_defaults(widget)
    assert values == {"backbone": "resnext50_32x4d", "input_size": 448, "epochs": 300}
    assert widget.backbone.currentText() == "resnext50_32x4d"
    assert "GPU assumed" in widget.estimate_label.text()


def _score_map(viewer, name, score="os_score"):
    layer = viewer.add_image(np.random.default_rng(0).random((8, 8)), name=name,
                             contrast_limits=(0, 1), colormap="magma",
                             metadata={"msc_morph_score_map": score})
    show_score_legend(viewer, layer)
    return layer


def test_one_labelled_colour_bar_per_score(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    maps = [_score_map(viewer, f"img{i} os_score") for i in range(4)]
    assert [m.colorbar.visible for m in maps] == [True, False, False, False]
    label = viewer.canvas.overlays[OVERLAY_PREFIX + "os_score"]
    assert label.visible
    # wrapped: one long line ran into the day label on a laptop-sized canvas
    assert label.text == "os_score: Osteogenic\nScore, 0\u20131 (no unit)"
    assert max(map(len, label.text.splitlines())) <= 24
    passage = _score_map(viewer, "img0 expected_passage", score="expected_passage")
    passage.contrast_limits = (1, 10)
    refresh_score_legends(viewer)
    assert passage.colorbar.visible
    assert viewer.canvas.overlays[OVERLAY_PREFIX + "expected_passage"].text.replace("\n", " ") \
        == "expected_passage: expected passage, 1\u201310 (passage number)"
    maps[0].visible = False                       # the next visible map carries the bar
    assert [m.colorbar.visible for m in maps] == [False, True, False, False]
    for layer in maps:
        viewer.layers.remove(layer)
    # the legends are refreshed once after the removals, in the next event-loop turn
    qtbot.waitUntil(lambda: not label.visible, timeout=2000)


@pytest.mark.parametrize("n_images", [1, 4])
def test_demo_arrangement_keeps_experiments_apart(make_napari_viewer, n_images):
    from napari_msc_morph.widgets.demo_viewer import arrange_by_experiment

    viewer = make_napari_viewer()
    bright = [viewer.add_image(np.zeros((40, 60)), name=f"bf{i}", scale=(0.65, 0.65))
              for i in range(n_images)]
    fluo = [viewer.add_image(np.zeros((50, 50)), name="DAPI", scale=(0.3, 0.3)),
            viewer.add_labels(np.zeros((50, 50), int), name="cells", scale=(0.3, 0.3))]
    arrange_by_experiment(bright, fluo)
    boxes = {layer.name: np.asarray(layer.extent.world)[:, -2:] for layer in bright + fluo}

    def overlap(a, b):
        return bool(np.all(a[0] < b[1]) and np.all(b[0] < a[1]))

    names = list(boxes)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            same_field = {a, b} == {"DAPI", "cells"}
            assert overlap(boxes[a], boxes[b]) == same_field, (a, b)


def test_plugin_docks_opened_from_the_menu_fit_the_screen_and_our_docks_go_into_tabs(
        make_napari_viewer, qtbot):
    # six docks opened from the Plugins menu (napari stacks them) must fit a laptop screen;
    # docks the plugin opens itself (results table, demo) use napari's tabify
    from qtpy.QtWidgets import QDockWidget

    viewer = make_napari_viewer(show=True)
    window = viewer.window._qt_window
    for name in ("Segment cells", "Measure cells", "Predict", "Train model",
                 "Correlation with readouts"):
        viewer.window.add_plugin_dock_widget("napari-msc-morph", name)
    table = get_results_table(viewer)
    ours = [d for d in window.findChildren(QDockWidget) if "napari-msc-morph" in d.windowTitle()
            or "MSC Morph" in d.windowTitle()]
    assert len(ours) == 6
    (table_dock,) = [d for d in ours if d.widget() is table or d.widget().isAncestorOf(table)]
    qtbot.waitUntil(lambda: bool(window.tabifiedDockWidgets(table_dock)))  # napari's tabify
    assert window.minimumSizeHint().height() <= 800 - 60
    assert all(d.isVisible() or window.tabifiedDockWidgets(d) for d in ours)  # none closed
