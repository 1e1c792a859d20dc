"""BackgroundCanvas: plots are built and drawn in a plot thread, never on the GUI thread."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from matplotlib.backend_bases import MouseEvent
from qtpy.QtCore import QTimer

from napari_msc_morph.widgets._figure_canvas import BackgroundCanvas


@pytest.fixture
def canvas(qtbot):
    widget = BackgroundCanvas(layout="constrained")
    widget.resize(320, 240)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _non_white_pixels(widget) -> int:
    image = widget.grab().toImage()
    pixels = [image.pixelColor(x, y) for x in range(0, image.width(), 4)
              for y in range(0, image.height(), 4)]
    return sum(1 for c in pixels if (c.red(), c.green(), c.blue()) != (255, 255, 255))


def test_figure_is_built_off_the_gui_thread_while_the_event_loop_runs(canvas):
    gui_turned = threading.Event()
    seen = {}

    def build(fig):
        seen["thread"] = threading.current_thread()
        # blocks until the GUI thread runs a timer: only possible if it is free
        seen["gui_ran_meanwhile"] = gui_turned.wait(timeout=10)
        ax = fig.add_subplot()
        ax.plot([0, 1, 2], [0, 1, 0], linewidth=4, color="black")
        return "built"

    def then(fig, value):
        seen["then"] = (threading.current_thread(), value, fig)

    blank = _non_white_pixels(canvas)
    canvas.plot(build, then)
    QTimer.singleShot(0, gui_turned.set)
    assert canvas.rendering
    assert canvas.wait()
    assert seen["gui_ran_meanwhile"]
    assert seen["thread"] is not threading.main_thread()
    assert seen["then"][0] is threading.main_thread() and seen["then"][1] == "built"
    assert seen["then"][2] is canvas.figure and canvas.figure.axes[0].lines
    assert canvas.figure.canvas is canvas
    assert _non_white_pixels(canvas) > blank  # the painted image is the built figure


def test_a_newer_show_supersedes_one_still_building(canvas):
    release = threading.Event()
    shown = []

    def slow(fig):
        release.wait(timeout=10)
        fig.add_subplot().set_title("old")

    def new(fig):
        fig.add_subplot().set_title("new")

    canvas.plot(slow, lambda fig, _: shown.append("old"))
    canvas.plot(new, lambda fig, _: shown.append("new"))
    release.set()
    assert canvas.wait()
    assert shown == ["new"]
    assert canvas.figure.axes[0].get_title() == "new"


def test_pick_connections_follow_the_new_figure(canvas):
    picked = []
    canvas.mpl_connect("pick_event", lambda event: picked.append(list(event.ind)))

    def build(fig):
        ax = fig.add_subplot()
        ax.scatter([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], picker=5)
        return ax

    holder = {}
    canvas.plot(build, lambda fig, ax: holder.setdefault("ax", ax))
    assert canvas.wait()
    x, y = holder["ax"].transData.transform((2.0, 2.0))
    MouseEvent("button_press_event", canvas, x, y, button=1)._process()
    assert picked == [[1]]


def test_resize_redraws_at_the_new_size(canvas, qtbot):
    canvas.plot(lambda fig: fig.add_subplot().plot([0, 1]))
    assert canvas.wait()
    before = canvas.render_count
    canvas.resize(480, 300)
    qtbot.waitUntil(lambda: canvas.render_count > before and not canvas.rendering)
    ratio = canvas.device_pixel_ratio
    assert canvas.shown_size == (round(canvas.width() * ratio), round(canvas.height() * ratio))


def test_a_failing_builder_warns_and_the_canvas_keeps_working(canvas, monkeypatch):
    import napari.utils.notifications as notifications

    warnings = []
    monkeypatch.setattr(notifications, "show_warning", warnings.append)

    def broken(fig):
        raise ValueError("no data to plot")

    canvas.plot(broken)
    assert canvas.wait()
    assert warnings and "no data to plot" in warnings[0]
    canvas.plot(lambda fig: fig.add_subplot().set_title("fine"))
    assert canvas.wait()
    assert canvas.figure.axes[0].get_title() == "fine"


def test_draw_is_still_synchronous_for_scripts(canvas):
    ax = canvas.figure.add_subplot()
    ax.plot([0, 10], [0, 10])
    canvas.draw()
    assert canvas.shown_size is not None
    x, y = ax.transData.transform((5, 5))
    assert 0 < x < canvas.figure.bbox.width and 0 < y < canvas.figure.bbox.height


def test_in_place_edits_are_redrawn_in_the_plot_thread(canvas):
    canvas.plot(lambda fig: fig.add_subplot())
    assert canvas.wait()
    before = canvas.render_count
    with canvas.editing() as fig:
        fig.axes[0].imshow(np.eye(8))
    assert canvas.wait()
    assert canvas.render_count == before + 1


def test_a_resize_during_a_build_is_drawn_at_the_new_size(canvas, qtbot):
    release = threading.Event()

    def slow(fig):
        release.wait(timeout=10)
        fig.add_subplot().plot([0, 1])

    canvas.plot(slow)
    canvas.resize(520, 330)  # the dock grew while the figure was being built
    qtbot.wait(20)
    release.set()
    qtbot.waitUntil(lambda: not canvas.rendering, timeout=20000)
    ratio = canvas.device_pixel_ratio
    expected = (round(canvas.width() * ratio), round(canvas.height() * ratio))
    assert canvas.shown_size == expected
    assert tuple(round(v) for v in canvas.figure.bbox.size) == expected
