"""Sample data that loads without freezing the viewer, and stack axes that say what they are.

npe2 sample-data commands must *return* their layers, and napari calls them on
the GUI thread, so :func:`generate` runs the generation steps (one synthetic
field each) in a napari worker thread and keeps the Qt event loop turning while
it waits (a local ``QEventLoop``, the way a modal dialog waits): the viewer
stays responsive, a progress bar counts the fields in napari's activity panel
and a notification says what is being made. Without a running Qt application
(scripts, the CLI's tests) the steps simply run in turn.

:func:`label_stack_axis` names a stack's leading axis with its real values:
napari's slider shows the step *index*, and the osteogenic days (0, 1, 3, 5, 7,
14, 21) are not evenly spaced, so no scale/translate can make index = day.
The layer's ``axis_labels`` say ``day``; a canvas text overlay shows the value
at the slider's position ("day 14"), updated whenever the slider moves.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

#: Run sample generation in a worker thread when a Qt application is running
#: (``benchmarks/bench_sample_stall.py`` turns it off to measure the old stall).
BACKGROUND = True
#: Layer metadata key: ``{"axis": "day", "values": [0, 1, 3, ...]}``.
AXIS_KEY = "stack_axis"
#: Canvas overlay showing the slider's value.
OVERLAY = "msc_morph_stack_axis"
_LABELLED: weakref.WeakSet = weakref.WeakSet()


def _qt_app():
    try:
        from qtpy.QtWidgets import QApplication
    except Exception:  # no Qt binding: a script without a GUI
        return None
    app = QApplication.instance()
    if app is None or threading.current_thread() is not threading.main_thread():
        return None
    return app


def generate(steps: list[Callable[[], object]], title: str) -> list:
    """Results of ``steps`` (called in order), made off the GUI thread when there is one."""
    if not BACKGROUND or _qt_app() is None:
        return [step() for step in steps]
    from napari.qt.threading import create_worker
    from napari.utils.notifications import show_info
    from qtpy.QtCore import QEventLoop

    outcome: dict = {}

    def work():
        from . import _warm

        _warm.image_layers()  # napari's first-layer costs, paid here instead of on the GUI thread
        _warm.labels_layers()
        made = []
        for step in steps:
            made.append(step())
            yield len(made)
        return made

    loop = QEventLoop()
    worker = create_worker(work, _progress={"total": len(steps), "desc": title},
                           _ignore_errors=True)
    worker.returned.connect(lambda made: outcome.__setitem__("made", made))
    worker.errored.connect(lambda err: outcome.__setitem__("error", err))
    worker.finished.connect(loop.quit)
    show_info(f"MSC Morph: making {title} ({len(steps)} field{'s' * (len(steps) > 1)})…")
    worker.start()
    if "made" not in outcome and "error" not in outcome:
        loop.exec()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["made"]


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


def label_current_viewer() -> None:
    """:func:`label_stack_axis` on the viewer a sample is being opened in (if any)."""
    if _qt_app() is None:
        return
    try:
        from napari import current_viewer
    except ImportError:
        return
    label_stack_axis(current_viewer())
