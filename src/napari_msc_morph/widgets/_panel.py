"""The Run / Cancel / progress / status block every long-running dock shares (:class:`JobDock`).

Errors are shown the CLI's way (:func:`show_failure`): a user error's message, "Cancelled.",
or for anything else a bug notification naming the log file with its traceback.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qtpy.QtCore import QObject, QSize, QTimer, Signal
from qtpy.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ..errors import USER_ERRORS, Cancelled, write_bug_log
from ..jobs import CancelToken, ProgressFn

logger = logging.getLogger("napari_msc_morph")

#: The tallest a dock asks to be (px): several docks stacked on a 1280x800 laptop
#: screen must not push the window past the screen; longer content scrolls.
MAX_DOCK_HEIGHT = 560
#: The narrowest a dock may be squeezed (px) before its form scrolls sideways: wide
#: forms (Predict, Train) must not take the canvas's room on a laptop.
MIN_DOCK_WIDTH = 400
#: The widest a dock asks to be (px): on a 1280 px screen napari's layer list takes
#: ~320 px, so wider docks left the canvas ~300 px; longer fields scroll or elide.
MAX_DOCK_WIDTH = 460


#: Progress bars and status lines are updated at most this often (ms): each update
#: repaints, and with napari's OpenGL canvas in the window a repaint composes the
#: whole window (tens of ms with software OpenGL).
PROGRESS_INTERVAL_MS = 100


def _set_progress(bar, maximum: int, value: int) -> None:
    """Set a QProgressBar without the synchronous ``repaint()`` of its ``setValue``
    (with updates disabled it is skipped; re-enabling them schedules a coalesced paint)."""
    bar.setUpdatesEnabled(False)
    try:
        bar.setRange(0, maximum)
        bar.setValue(value)
    finally:
        bar.setUpdatesEnabled(True)


class _ProgressRelay(QObject):
    """Carries progress from the worker thread to the GUI thread (queued signal)."""

    step = Signal(int, int, str)


@dataclass
class _JobFailed:
    """A user error carried back from the worker thread as a value."""

    error: BaseException


def show_failure(err: BaseException, title: str) -> str:
    """Notify the user of ``err`` the way the CLI reports it; returns a one-line status."""
    from napari.utils.notifications import show_error, show_info

    if isinstance(err, Cancelled):
        show_info(f"{title}: cancelled.")
        return "Cancelled."
    if isinstance(err, USER_ERRORS):
        show_error(f"{title}: {err}")
        return str(err)
    log = write_bug_log(err, re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-"))
    logger.error("%s failed (a bug)", title, exc_info=err)
    where = (f"the traceback is in {log}; please report it with that file"
             if log is not None else "the traceback is in the napari console")
    message = (f"unexpected {type(err).__name__}: {err}. This is a bug in napari-msc-morph: "
               f"{where}.")
    show_error(f"{title}: {message}")
    return message


#: viewer -> dock class name -> {field attribute: value}; dropped with its viewer, never
#: written to disk. The forms are plain Qt widgets, so magicgui's ``persist`` does not apply.
_FIELDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def keep_fields(dock) -> None:
    """Give ``dock``'s form fields (combo/spin/line edit/check box/``FileEdit`` attributes
    but ``dock.not_remembered``) the values its viewer's last dock of its kind had."""
    from magicgui.widgets import FileEdit

    # napari hands a dock opened from its menu a proxy of the viewer, a new one per dock
    viewer = getattr(dock, "viewer", None)
    viewer = getattr(viewer, "__wrapped__", viewer)
    try:
        saved = _FIELDS.setdefault(viewer, {}).setdefault(type(dock).__name__, {})
    except (AttributeError, TypeError):  # no viewer, or one that cannot be weakly referenced
        return
    kinds = (QComboBox, QAbstractSpinBox, QLineEdit, QCheckBox, FileEdit)
    for name, field in vars(dock).items():  # creation order: a recipe box before what it fills
        if name.startswith("_") or name in dock.not_remembered or not isinstance(field, kinds):
            continue
        if isinstance(field, FileEdit):
            field = field.line_edit.native  # its text: "" when empty (FileEdit.value reads ".")
        prop = field.metaObject().userProperty()  # currentText, value, text or checked
        if name in saved:
            prop.write(field, saved[name])  # a combo box whose item has gone keeps its choice
        saved[name] = prop.read(field)
        changed = getattr(field, bytes(prop.notifySignal().name()).decode())
        changed.connect(lambda *_, n=name, f=field, p=prop: saved.__setitem__(n, p.read(f)))


def keep_tab_titles_whole(widget) -> None:
    """Let the tabs of the docks in ``widget``'s main window show whole titles.

    Qt elides them to the dock's width (four docks on a 1280 px laptop read "R…",
    "Correl…"); without eliding the tab bar scrolls instead.
    """
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QMainWindow, QTabBar

    try:
        window = widget.window()
    except RuntimeError:  # closed before the event loop came round
        return
    if not isinstance(window, QMainWindow):
        return
    for bar in window.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly):
        bar.setElideMode(Qt.TextElideMode.ElideNone)
        bar.setUsesScrollButtons(True)


class CoalescedRefresh:
    """Run ``callback`` once per event-loop turn, however many times it was asked for.

    Deleting 42 layers sends 42 ``removed`` events; rebuilding a dock's lists on each
    kept napari busy. :meth:`flush` runs a pending refresh now (before reading the lists).
    """

    def __init__(self, owner: QObject, callback: Callable[[], Any]):
        self._callback = callback
        self._timer = QTimer(owner)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(callback)

    def schedule(self, *_) -> None:
        """Ask for one refresh in the next event-loop turn."""
        try:
            self._timer.start()
        except RuntimeError:  # the dock is gone (Qt deleted its timer): nothing to refresh
            pass

    def flush(self) -> None:
        """Run the pending refresh now (no-op when none is pending)."""
        try:
            pending = self._timer.isActive()
            self._timer.stop()
        except RuntimeError:
            return
        if pending:
            self._callback()


def watch_layer_list(viewer, owner: QObject, callback: Callable[[], Any]) -> CoalescedRefresh:
    """Call ``callback`` once per event-loop turn after the viewer's layer list changed."""
    refresh = CoalescedRefresh(owner, callback)
    for name in ("inserted", "removed", "moved", "reordered"):
        getattr(viewer.layers.events, name).connect(refresh.schedule)
    return refresh


def button(parent, text: str, tip: str, on_click: Callable) -> QPushButton:
    """A push button with tooltip ``tip`` calling ``on_click``."""
    push = QPushButton(text, parent)
    push.setToolTip(tip)
    push.clicked.connect(on_click)
    return push


def hbox(*items) -> QHBoxLayout:
    """A row of widgets; ``(widget, stretch)`` stretches one, an int adds a stretch."""
    row = QHBoxLayout()
    for item in items:
        if isinstance(item, int):
            row.addStretch(item)
        elif isinstance(item, tuple):
            row.addWidget(*item)
        else:
            row.addWidget(item)
    return row


def capped_size(hint: QSize) -> QSize:
    """``hint`` at most :data:`MAX_DOCK_WIDTH` x :data:`MAX_DOCK_HEIGHT` (napari sizes a new
    dock by its hint; longer content scrolls)."""
    return QSize(min(hint.width(), MAX_DOCK_WIDTH), min(hint.height(), MAX_DOCK_HEIGHT))


class DockWidget(QWidget):
    """A dock's content: asks for at most :func:`capped_size`; tab titles stay whole."""

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return capped_size(super().sizeHint())

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        QTimer.singleShot(0, lambda: keep_tab_titles_whole(self))  # after Qt's layout


def build_run_panel(widget, form, run_text: str) -> QVBoxLayout:
    """Lay out ``form`` above Run/Cancel buttons, a progress bar and a status line.

    Sets ``widget.run_button``, ``cancel_button``, ``progress``, ``status`` and ``scroll``
    (everything scrolls inside the dock instead of growing napari's window) and returns
    the content's layout so callers can add more below.
    """
    widget.run_button = button(widget, run_text, f"{run_text}: runs in the background; the "
                               "viewer stays usable.", widget.run)
    widget.cancel_button = button(widget, "Cancel", "Stop the running job at its next step.",
                                  widget.cancel)
    widget.cancel_button.setEnabled(False)
    widget.progress = QProgressBar(widget)
    widget.progress.setRange(0, 1)
    widget.status = QLabel("", widget)
    widget.status.setWordWrap(True)
    # a label's text can be long (an error message): it wraps at the dock's width, never
    # asks for more (a long word would otherwise widen the dock and clip the buttons)
    widget.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    content = QWidget()
    layout = QVBoxLayout(content)
    widget.scroll = QScrollArea(widget)
    widget.scroll.setWidgetResizable(True)
    widget.scroll.setFrameShape(QFrame.Shape.NoFrame)
    widget.scroll.setWidget(content)
    outer = QVBoxLayout(widget)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(widget.scroll)
    if form is not None:
        if isinstance(form, QWidget):
            layout.addWidget(form)
        else:
            if isinstance(form, QFormLayout):
                # a dock squeezed to MIN_DOCK_WIDTH puts a row's field under its label
                # instead of scrolling sideways (Segment, Correlation: 55-70 px)
                form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
            layout.addLayout(form)
    layout.addLayout(hbox(widget.run_button, widget.cancel_button))
    layout.addWidget(widget.progress)
    layout.addWidget(widget.status)
    return layout


class JobDock(DockWidget):
    """Base of every dock that runs one engine job with Run/Cancel/progress/status.

    Subclasses set :attr:`job_title`, build their form, call :meth:`build_run_panel`
    and implement ``run()`` as ``self.start_job(lambda progress, cancel: engine(...,
    progress=progress, cancel=cancel), on_done)``.
    """

    job_title = "MSC Morph"
    #: Form fields not restored in a re-opened dock (values that follow the data).
    not_remembered: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        # After the most-derived __init__ has built the form, restore the fields this
        # viewer's last dock of the same kind had (keep_fields).
        super().__init_subclass__(**kwargs)
        init = cls.__init__

        @functools.wraps(init)  # keeps the signature napari reads (``napari_viewer``)
        def __init__(self, *args, **kw):
            init(self, *args, **kw)
            if type(self) is cls:
                keep_fields(self)

        cls.__init__ = __init__

    #: First-use costs of the result handler, paid in the worker before the job: modules
    #: to import, or ``module:function`` to call (see :mod:`._warm`). A first import on the
    #: GUI thread (scipy.stats behind the results table: 1-3 s) froze the viewer.
    warm_up: tuple[str, ...] = ("napari_msc_morph.widgets.results_table",
                                "napari_msc_morph.widgets._figure_canvas")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.worker = None
        self._cancel_token: CancelToken | None = None
        self._succeeded = False
        self._relay = _ProgressRelay(self)
        self._relay.step.connect(self._on_progress)
        self._showing = None  # the result handler's steps, one per event-loop turn
        self._finish_deferred = False
        # progress is shown at most every PROGRESS_INTERVAL_MS (latest step wins)
        self._latest_step: tuple[int, int, str] | None = None
        self._step_timer = QTimer(self)
        self._step_timer.setSingleShot(True)
        self._step_timer.setInterval(PROGRESS_INTERVAL_MS)
        self._step_timer.timeout.connect(self._show_step)

    # ------------------------------------------------------------- layout
    build_run_panel = build_run_panel

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        """The content's size, :func:`capped_size`."""
        hint = super().sizeHint()
        scroll = getattr(self, "scroll", None)
        if scroll is not None and scroll.widget() is not None:
            inner = scroll.widget().sizeHint()
            bar = scroll.verticalScrollBar().sizeHint().width()
            hint = QSize(inner.width() + bar, inner.height())
        return capped_size(hint)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        """As narrow as the form allows up to :data:`MIN_DOCK_WIDTH`, as short as a few rows."""
        hint = super().minimumSizeHint()
        scroll = getattr(self, "scroll", None)
        if scroll is not None and scroll.widget() is not None:
            bar = scroll.verticalScrollBar().sizeHint().width()
            form = scroll.widget().minimumSizeHint().width() + bar
            hint.setWidth(max(hint.width(), min(form, MIN_DOCK_WIDTH)))
        return hint

    # ------------------------------------------------------------- running
    @property
    def busy(self) -> bool:
        return self.worker is not None

    def start_job(
        self,
        job: Callable[[ProgressFn, CancelToken], Any],
        on_done: Callable[[Any], None],
        status: str = "Working…",
    ):
        """Run ``job(progress, cancel)`` in a thread worker; ``on_done(result)`` on success.
        Returns the started worker."""
        from napari.qt.threading import create_worker

        token = CancelToken()
        relay = self._relay

        def progress(done: int, total: int, message: str = "") -> None:
            relay.step.emit(int(done), int(total), str(message))

        def work():
            # A raised error would reach napari's error relay (a traceback notification) and
            # superqt would re-raise it; user errors come back as values instead, wrapped
            # because superqt treats a *returned* exception as raised.
            for target in self.warm_up:
                module, _, function = target.partition(":")
                loaded = importlib.import_module(module)
                if function:
                    getattr(loaded, function)()
            try:
                return job(progress, token)
            except USER_ERRORS as err:
                return _JobFailed(err)

        # Unexpected errors go to report_error (a short notification, traceback in the log);
        # without a handler of our own superqt would re-raise them into the Qt event loop.
        worker = create_worker(work, _start_thread=False, _ignore_errors=True,
                               _connect={"errored": self.report_error})
        worker.returned.connect(lambda result: self._finish_ok(on_done, result))
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self._cancel_token = token
        self._succeeded = False
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)  # busy until the first step says how long
        self.status.setText(status)
        worker.start()
        return worker

    def cancel(self) -> None:
        """Ask the running job to stop at its next check."""
        if self._cancel_token is not None and not self._cancel_token.cancelled:
            self._cancel_token.cancel()
            self.status.setText("Cancelling…")

    # ------------------------------------------------------------- reporting
    def report_error(self, err: BaseException) -> None:
        """Show ``err`` as a notification and in the status line; never raise."""
        self._latest_step = None  # a pending progress message must not hide the error
        self.status.setText(show_failure(err, self.job_title))

    def _on_progress(self, done: int, total: int, message: str) -> None:
        if self._cancel_token is not None and self._cancel_token.cancelled:
            return
        self._latest_step = (done, total, message)
        if not self._step_timer.isActive():
            self._step_timer.start()

    def _show_step(self) -> None:
        step, self._latest_step = self._latest_step, None
        if step is None or self.worker is None:
            return
        done, total, message = step
        if total > 0:
            _set_progress(self.progress, total, min(done, total))
        if message:
            self.status.setText(message)

    def _finish_ok(self, on_done, result) -> None:
        self._show_step()  # the last step's message, before the result replaces it
        if isinstance(result, _JobFailed):
            self.report_error(result.error)
            return

        def steps():
            # A result handler that adds several layers yields between them: napari
            # builds and draws each layer on the GUI thread (100-300 ms with software
            # OpenGL), so one layer per event-loop turn lets the viewer repaint and react
            # in between. The dock stays busy until the last one is on screen.
            shown = on_done(result)
            if inspect.isgenerator(shown):
                yield from shown

        self._showing = steps()
        self._show_next()

    def _show_next(self) -> None:
        if self._showing is None or _is_deleted(self):
            return
        try:
            next(self._showing)
        except StopIteration:
            self._succeeded = True
        except Exception as err:  # a bad result must not kill the viewer
            self.report_error(err)
        else:
            QTimer.singleShot(0, self._show_next)
            return
        self._showing = None
        if self._finish_deferred:
            self._finish_deferred = False
            self._on_finished()

    def _on_finished(self) -> None:
        if self._showing is not None:  # the worker is done; the results are still arriving
            self._finish_deferred = True
            return
        self.worker = None
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self._step_timer.stop()
        self._latest_step = None
        _set_progress(self.progress, 1, 1 if self._succeeded else 0)
        self._cancel_token = None


def _is_deleted(widget) -> bool:
    """Whether Qt already destroyed ``widget`` (a dock closed while results arrived)."""
    try:
        widget.objectName()  # any call on a destroyed widget raises, on every Qt binding
    except RuntimeError:
        return True
    return False
