"""A matplotlib Qt canvas whose figures are built and drawn in one plot thread.

Drawing a figure with Agg costs 0.1-0.6 s; in ``FigureCanvasQTAgg`` that ran in the GUI
thread's paint event and froze the viewer (a live training plot on every progress tick).
Here the paint event only copies the last finished image; figures are touched by one
thread at a time (:meth:`BackgroundCanvas.editing` for in-place edits).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.backends.qt_compat import QT_API, _isdeleted
from matplotlib.figure import Figure
from qtpy.QtCore import QEventLoop, QObject, QPoint, QTimer, Signal
from qtpy.QtGui import QImage, QPainter

logger = logging.getLogger(__name__)

__all__ = ["BackgroundCanvas"]

_RENDERING = threading.local()  # .renderer: the renderer the plot thread is drawing into


@functools.cache
def _executor() -> ThreadPoolExecutor:
    # one thread for every plot: plots are small, and one thread cannot oversubscribe a
    # 2-core laptop already running a training job
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="msc-morph-plots")


class _Relay(QObject):
    """Carries a finished render to the GUI thread (queued signal)."""

    finished = Signal(object)


class BackgroundCanvas(FigureCanvasQTAgg):
    """A ``FigureCanvasQTAgg`` that builds and draws its figures in a plot thread.

    ``figure`` is shown first; ``figure_kwargs`` go to every figure :meth:`plot` makes.
    """

    def __init__(self, figure: Figure | None = None, **figure_kwargs):
        super().__init__(figure if figure is not None else Figure(**figure_kwargs))
        self._figure_kwargs = figure_kwargs
        self._connections: list[tuple[str, Callable]] = []
        self._shown: RendererAgg | None = None  # the image the paint event copies
        self._busy = False  # a job of this canvas is queued or running
        self._queued: tuple | None = None  # the newest request that waits for it
        self._generation = 0  # bumped by plot(): older builds are dropped
        self._lock = threading.Lock()  # held by the plot thread while it draws the figure
        self._relay = _Relay()
        self._relay.finished.connect(self._on_finished)
        self.render_count = 0  # finished renders (for tests and benchmarks)

    # ------------------------------------------------------------ public API
    def plot(self, build: Callable[[Figure], object],
             then: Callable[[Figure, object], None] | None = None) -> None:
        """Build a new figure with ``build(fig)`` off the GUI thread, draw and show it; then
        ``then(fig, build's value)`` on the GUI thread."""
        self._generation += 1
        self._request(("build", self._generation, build, then))

    def draw_idle(self) -> None:
        """Redraw the current figure in the plot thread (resizes, in-place edits)."""
        if getattr(self, "_relay", None) is None:  # during FigureCanvasQTAgg.__init__
            return
        self._request(("redraw", self._generation, None, None))

    def draw(self) -> None:
        """Draw now, on the calling thread (matplotlib's synchronous API)."""
        if getattr(self, "_relay", None) is None:
            return
        self.wait()
        with self._lock:
            super().draw()
        self._shown = self.renderer
        self.update()

    def wait(self, timeout_s: float = 60.0) -> bool:
        """Let the Qt event loop run until no render is queued or running; False on timeout."""
        if not self._busy:
            return True
        loop = QEventLoop()
        poll = QTimer()
        poll.timeout.connect(lambda: None if self._busy else loop.quit())
        poll.start(5)
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        loop.exec()
        poll.stop()
        return not self._busy

    @property
    def shown_size(self) -> tuple[int, int] | None:
        """(width, height) in device pixels of the image on screen; None before the first."""
        return None if self._shown is None else (int(self._shown.width), int(self._shown.height))

    @property
    def rendering(self) -> bool:
        """Whether a render of this canvas is queued or running."""
        return self._busy

    @contextmanager
    def editing(self):
        """Edit the shown figure in place (waits for a redraw in flight), then redraw it."""
        with self._lock:
            yield self.figure
        self.draw_idle()

    def mpl_connect(self, s, func):
        """Connect ``func`` to event ``s`` of this canvas, and of every figure it shows later."""
        self._connections.append((s, func))
        return super().mpl_connect(s, func)

    def get_renderer(self):
        # layout code asks the canvas for a renderer while the plot thread draws: the one
        # being drawn into, so the GUI canvas's own is never replaced from another thread
        renderer = getattr(_RENDERING, "renderer", None)
        return renderer if renderer is not None else super().get_renderer()

    # ----------------------------------------------------------- plumbing
    def _size(self) -> tuple[float, float, float]:
        width, height = self.figure.get_size_inches()
        return float(width), float(height), float(self.figure.dpi)

    def _request(self, job: tuple) -> None:
        if job[0] == "redraw" and self._queued is not None and self._queued[0] == "build":
            return  # the queued build draws at the current size anyway
        if self._busy:
            self._queued = job
            return
        self._submit(job)

    def _submit(self, job: tuple) -> None:
        kind, generation, build, then = job
        self._busy = True
        size = self._size()
        figure = self.figure if kind == "redraw" else None
        relay = self._relay
        kwargs = dict(self._figure_kwargs)
        original_dpi = getattr(self.figure, "_original_dpi", self.figure.dpi)
        lock = self._lock

        def work():
            try:
                if figure is None:
                    fig = Figure(figsize=size[:2], dpi=size[2], **kwargs)
                    fig._original_dpi = original_dpi  # savefig(dpi="figure") as the shown one
                    agg = FigureCanvasAgg(fig)
                    value = build(fig)
                    agg.draw()
                    outcome = ("built", generation, fig, agg.renderer, value, then)
                else:
                    width, height, dpi = size
                    renderer = RendererAgg(int(round(width * dpi)), int(round(height * dpi)), dpi)
                    with lock:
                        _RENDERING.renderer = renderer
                        try:
                            figure.draw(renderer)
                        finally:
                            _RENDERING.renderer = None
                    outcome = ("redrawn", generation, figure, renderer, None, None)
            except Exception as err:  # noqa: BLE001  (shown to the user, never raised in Qt)
                outcome = ("failed", generation, err, None, None, None)
            relay.finished.emit((outcome, size))

        _executor().submit(work)

    def _on_finished(self, message) -> None:
        (kind, generation, fig, renderer, value, then), size = message
        self._busy = False
        if _isdeleted(self):  # the dock was closed while its plot was drawn
            return
        try:
            if kind == "failed":
                logger.error("plot failed", exc_info=fig)
                from napari.utils.notifications import show_warning

                show_warning(f"MSC Morph: a plot could not be drawn: {fig}")
            elif kind == "built" and generation == self._generation:
                self._install(fig)
                self._shown = renderer
                if then is not None:
                    then(fig, value)
            elif kind == "redrawn" and fig is self.figure:
                self._shown = renderer
            self.render_count += 1
            if self._shown is not None and size != self._size() and self._queued is None:
                self._queued = ("redraw", self._generation, None, None)  # resized meanwhile
            self.update()
        finally:
            queued, self._queued = self._queued, None
            if queued is not None:
                self._submit(queued)

    def _install(self, fig: Figure) -> None:
        fig.set_canvas(self)
        self.figure = fig
        # the widget may have been resized while the figure was built: take its size now
        # (a size that differs from the drawn one queues a redraw, see _on_finished)
        ratio = self.device_pixel_ratio
        if self.width() > 0 and self.height() > 0:
            fig.set_size_inches(self.width() * ratio / fig.dpi, self.height() * ratio / fig.dpi,
                                forward=False)
        for s, func in self._connections:
            FigureCanvasQTAgg.mpl_connect(self, s, func)

    def paintEvent(self, event):  # noqa: N802  (Qt's name)
        painter = QPainter(self)
        try:
            rect = event.rect()
            painter.eraseRect(rect)
            shown = self._shown
            if shown is not None:
                buffer = memoryview(shown.buffer_rgba())
                image = QImage(_pointer(buffer), buffer.shape[1], buffer.shape[0],
                               buffer.shape[1] * 4, QImage.Format.Format_RGBA8888)
                image.setDevicePixelRatio(self.device_pixel_ratio)
                painter.drawImage(QPoint(0, 0), image)
            elif self.width() > 0 and self.height() > 0 and not self._busy:
                self.draw_idle()  # first paint: draw the figure we were made with
            self._draw_rect_callback(painter)
        finally:
            painter.end()


def _pointer(buffer: memoryview):
    """What ``QImage`` takes as pixel data on this Qt binding (as matplotlib's own canvas)."""
    if QT_API == "PyQt6":
        from PyQt6 import sip

        return int(sip.voidptr(buffer))
    return buffer
