"""First-use costs paid off the GUI thread: napari's first layers, and heavy imports.

A throwaway napari layer made in a worker compiles the same numba kernels as the first
real one (1.1 s on the GUI thread for the first Labels layer); a dock imports its heavy
modules with :func:`import_in_background` (``benchmarks/bench_dock_open.py`` times the docks).
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Sequence

import numpy as np
from qtpy.QtCore import QObject, QTimer, Signal

logger = logging.getLogger(__name__)

#: Modules :func:`import_in_background` has finished importing (a module is in
#: ``sys.modules`` while another thread is still running it, so that cannot tell).
_IMPORTED: set[str] = set()
_LOCK = threading.Lock()
#: The import thread starts this long after the dock was built: it would otherwise share
#: the interpreter (the GIL) with napari docking and painting the dock.
START_DELAY_MS = 150


class _Ready(QObject):
    done = Signal()


def import_in_background(modules: Sequence[str], then: Callable[[], None],
                         owner: QObject,
                         importer: Callable[[str], object] = importlib.import_module) -> None:
    """Import ``modules`` in a thread started :data:`START_DELAY_MS` later, then ``then()``.

    Parameters
    ----------
    modules : sequence of str
        Absolute module names.
    then : callable
        Called on the GUI thread once they are imported (at once if they already were).
    owner : QObject
        The dock: the timer and the signal die with it (``then`` is not called).
    importer : callable
        Imports one name (timm: ``models.backbones.import_timm``, which hides triton).
    """
    with _LOCK:
        missing = [name for name in modules if name not in _IMPORTED]
    if not missing:
        then()
        return
    ready = _Ready(owner)
    ready.done.connect(then)

    def work() -> None:
        try:
            for name in missing:
                importer(name)
                with _LOCK:
                    _IMPORTED.add(name)
        except Exception:  # the dock imports again on use and reports it there
            logger.exception("importing %s in the background failed", missing)
            return
        try:
            ready.done.emit()
        except RuntimeError:  # the dock was closed (and deleted) meanwhile
            pass

    timer = QTimer(owner)
    timer.setSingleShot(True)
    timer.timeout.connect(
        lambda: threading.Thread(target=work, name="msc-morph-imports", daemon=True).start())
    timer.start(START_DELAY_MS)

def labels_layers() -> None:
    """Make (and drop) a tiny int32 napari Labels layer (the dtype segmentation and samples add)."""
    from napari.layers import Labels

    Labels(np.zeros((4, 4), dtype=np.int32))


def image_layers() -> None:
    """Make (and drop) a tiny float32 napari Image layer (score maps, heat maps)."""
    from napari.layers import Image

    Image(np.zeros((4, 4), dtype=np.float32), colormap="inferno")
