"""Sample data that loads without freezing the viewer, and stack axes that say what they are.

npe2 sample commands run on the GUI thread and must return layers: :func:`in_background`
returns a hidden placeholder at once, makes the sample in a worker and swaps the layers in
one per event-loop turn (no nested event loop). :func:`label_stack_axis` shows a stack's
real axis value ("day 14"), as napari's slider shows only the index (docs/sample-data.md).
"""

from __future__ import annotations

import functools
import itertools
import threading
import weakref
from collections.abc import Callable

import numpy as np

#: Make samples in a worker thread when a viewer is on screen
#: (``benchmarks/bench_sample_stall.py`` turns it off to measure the GUI-thread stall).
BACKGROUND = True
#: Layer metadata key: ``{"axis": "day", "values": [0, 1, 3, ...]}``.
AXIS_KEY = "stack_axis"
#: Layer metadata key of the placeholder that stands in while a sample is made.
PLACEHOLDER_KEY = "msc_morph_sample_placeholder"
#: Canvas overlay showing the slider's value.
OVERLAY = "msc_morph_stack_axis"
_LABELLED: weakref.WeakSet = weakref.WeakSet()
#: The worker's progress callback while it makes a sample (set in the worker thread).
_REPORTER = threading.local()
_PLACEHOLDERS = itertools.count()
#: Samples whose layers are still being added (tests and benchmarks wait for none).
_ARRIVING: set[int] = set()


def _viewer_on_screen():
    """The current napari viewer when called on the GUI thread of a running Qt app."""
    try:
        from qtpy.QtWidgets import QApplication
    except Exception:  # no Qt binding: a script without a GUI
        return None
    if QApplication.instance() is None or threading.current_thread() is not threading.main_thread():
        return None
    from napari import current_viewer

    return current_viewer()


def generate(steps: list[Callable[[], object]]) -> list:
    """Results of ``steps`` in order; each one counts on the sample's progress bar."""
    report = getattr(_REPORTER, "step", None)
    made = []
    for step in steps:
        made.append(step())
        if report is not None:
            report(len(made), len(steps))
    return made


def sample_ready(viewer) -> bool:
    """Whether ``viewer`` holds layers and none is a sample still being made (tests, benchmarks)."""
    return len(viewer.layers) > 0 and not _ARRIVING and not any(
        PLACEHOLDER_KEY in layer.metadata for layer in viewer.layers)


def in_background(make: Callable[..., list], title: str) -> Callable[..., list]:
    """The npe2 sample command for ``make`` (a function returning layer data tuples)."""

    @functools.wraps(make)
    def command(**kwargs):
        viewer = _viewer_on_screen()
        if not BACKGROUND or viewer is None:
            layers = make(**kwargs)
            _label_if_stacked(viewer, layers)
            return layers
        return [_start(viewer, functools.partial(make, **kwargs), title)]

    return command


def _start(viewer, make, title: str):
    from napari.qt.threading import create_worker
    from napari.utils import progress
    from napari.utils.notifications import show_info
    from qtpy.QtCore import QObject, Signal

    from . import _warm
    from ._panel import show_failure

    class Relay(QObject):
        step = Signal(int, int)  # queued to the GUI thread: napari's progress bar lives there

    relay = Relay()
    bar = progress(total=0, desc=title)  # busy until the first field says how many

    def on_step(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    relay.step.connect(on_step)

    def work():
        _warm.image_layers()  # napari's first-layer costs, paid here instead of on the GUI thread
        _warm.labels_layers()
        _REPORTER.step = relay.step.emit
        try:
            return make()
        finally:
            _REPORTER.step = None

    token = next(_PLACEHOLDERS)
    _ARRIVING.add(token)

    def swap(layers=None) -> None:
        bar.close()
        relay.deleteLater()
        for layer in list(viewer.layers):
            if layer.metadata.get(PLACEHOLDER_KEY) == token:
                viewer.layers.remove(layer)
        _add_one_per_turn(viewer, list(layers or []), token)

    worker = create_worker(work, _ignore_errors=True)
    worker.returned.connect(swap)
    worker.errored.connect(lambda err: (swap(), show_failure(err, f"Making {title}")))
    show_info(f"MSC Morph: making {title}…")
    worker.start()
    # hidden: never drawn, so it costs no first-draw (shader) time on the GUI thread
    return (np.empty((0, 2)), {"name": f"making {title}…", "visible": False,
                               "metadata": {PLACEHOLDER_KEY: token}}, "points")


def _add_one_per_turn(viewer, layers: list, token: int, index: int = 0) -> None:
    """Add ``layers`` one per event-loop turn, so the viewer repaints in between."""
    from napari.layers import Layer
    from qtpy.QtCore import QTimer

    if index < len(layers):
        viewer.add_layer(Layer.create(*layers[index]))
        QTimer.singleShot(0, lambda: _add_one_per_turn(viewer, layers, token, index + 1))
        return
    _label_if_stacked(viewer, layers)
    _ARRIVING.discard(token)


def _label_if_stacked(viewer, layers) -> None:
    if viewer is not None and any(AXIS_KEY in (kwargs.get("metadata") or {})
                                  for _, kwargs, _ in layers):
        label_stack_axis(viewer)


def axis_text(layers, step: int) -> str:
    """``day 14`` for a stack whose metadata names its axis values; "" if none does."""
    for layer in layers:
        axis = (getattr(layer, "metadata", None) or {}).get(AXIS_KEY)
        if axis and layer.ndim >= 3:
            values = list(axis["values"])
            index = min(max(int(step), 0), len(values) - 1)
            return f"{axis['axis']} {axis.get('prefix', '')}{values[index]}"
    return ""


def label_stack_axis(viewer) -> None:
    """Keep a text overlay showing the leading axis's value (``day 14``) on ``viewer``."""
    if viewer is None or viewer in _LABELLED:
        return
    _LABELLED.add(viewer)
    from napari.components.overlays import TextOverlay

    overlays = viewer.canvas.overlays
    if OVERLAY not in overlays:
        overlays[OVERLAY] = TextOverlay(position="top_left", font_size=14, visible=False)

    def update(*_args):
        step = viewer.dims.current_step[0] if viewer.dims.ndim >= 3 else 0
        text = axis_text(viewer.layers, step) if viewer.dims.ndim >= 3 else ""
        overlays[OVERLAY].text = text
        overlays[OVERLAY].visible = bool(text)

    viewer.dims.events.current_step.connect(update)
    viewer.layers.events.inserted.connect(update)
    viewer.layers.events.removed.connect(update)
    update()
