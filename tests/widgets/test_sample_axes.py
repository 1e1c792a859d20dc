"""The osteogenic sample's day axis, and samples made off the GUI thread."""

from __future__ import annotations

import numpy as np
from napari.layers import Layer

from napari_msc_morph import _sample_data
from napari_msc_morph.synthetic import OSTEO_DAYS
from napari_msc_morph.widgets import sample_loading


def test_osteo_sample_has_a_day_axis_and_the_overlay_shows_the_day(make_napari_viewer, qtbot,
                                                                   monkeypatch):
    monkeypatch.setattr(_sample_data, "TIME_COURSE_SIZE", (48, 64))
    monkeypatch.setattr(_sample_data.sample_osteo_time_course, "__defaults__", ((48, 64), 0))
    viewer = make_napari_viewer()
    viewer.open_sample("napari-msc-morph", "osteo_time_course")
    qtbot.waitUntil(lambda: sample_loading.sample_ready(viewer), timeout=60_000)
    induced = viewer.layers["D02_induced_days"]
    assert induced.axis_labels == ("day", "y", "x")
    assert str(induced.units[0]) == "day"
    assert viewer.dims.axis_labels[0] == "day"
    assert viewer.dims.nsteps[0] == len(OSTEO_DAYS)
    overlay = viewer.canvas.overlays[sample_loading.OVERLAY]
    for step, day in enumerate(OSTEO_DAYS):
        viewer.dims.set_current_step(0, step)
        assert overlay.text == f"day {day}"
    assert overlay.visible
    viewer.layers.clear()          # no stack left: the label goes
    assert not overlay.visible


def test_a_sample_is_made_in_a_worker_and_the_call_returns_at_once(make_napari_viewer, qtbot):
    import threading

    from qtpy.QtCore import QTimer

    viewer = make_napari_viewer()
    ticks, threads = [], []
    release = threading.Event()

    def step(value):
        threads.append(threading.current_thread() is threading.main_thread())
        assert release.wait(10)            # made only once the command has returned
        threading.Event().wait(0.15)       # a slow field
        return value

    def two_fields():
        made = sample_loading.generate([lambda: step(1), lambda: step(2)])
        return [(np.full((8, 8), v, np.uint8), {"name": f"field {v}"}, "image") for v in made]

    command = sample_loading.in_background(two_fields, "two fields")
    viewer.add_layer(Layer.create(*command()[0]))  # what napari does with the returned tuple
    assert not sample_loading.sample_ready(viewer)  # a placeholder stands in meanwhile
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(5)
    release.set()
    qtbot.waitUntil(lambda: sample_loading.sample_ready(viewer), timeout=10_000)
    timer.stop()
    assert [layer.name for layer in viewer.layers] == ["field 1", "field 2"]
    assert threads == [False, False]   # made off the GUI thread
    assert len(ticks) >= 5             # and the GUI kept handling events meanwhile


def test_without_background_the_steps_run_in_the_caller(monkeypatch):
    monkeypatch.setattr(sample_loading, "BACKGROUND", False)
    layers = _sample_data.sample_tissue_source(size=(32, 40))
    assert [kw["name"] for _, kw, _ in layers] == ["umbilical_cord_MSC", "bone_marrow_MSC"]
    assert all(np.asarray(data).shape[:2] == (32, 40) for data, _, _ in layers)


def test_a_sample_that_fails_leaves_no_placeholder_and_says_so(make_napari_viewer, qtbot,
                                                               monkeypatch):
    shown = []
    monkeypatch.setattr("napari.utils.notifications.show_error", shown.append)
    viewer = make_napari_viewer()

    def broken():
        raise RuntimeError("no field")

    command = sample_loading.in_background(broken, "a broken sample")
    viewer.add_layer(Layer.create(*command()[0]))
    qtbot.waitUntil(lambda: bool(shown), timeout=10_000)
    assert len(viewer.layers) == 0
    assert "RuntimeError: no field" in shown[0] and "bug" in shown[0]
