"""Save a plugin plot as PNG or SVG: a right-click menu (:func:`enable_export`) or a
row of buttons (:func:`export_buttons`), written atomically by :func:`export_figure`."""

from __future__ import annotations

import os
from pathlib import Path

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QFileDialog, QHBoxLayout, QMenu

from ..errors import BadInputError
from ._panel import button, hbox, show_failure

__all__ = ["FORMATS", "enable_export", "export_buttons", "export_figure"]

#: Formats offered: suffix -> file-dialog filter.
FORMATS = {"png": "PNG image (*.png)", "svg": "SVG vector image (*.svg)"}


def export_figure(figure, path: str | os.PathLike, fmt: str | None = None,
                  dpi: int = 150) -> Path:
    """Write ``figure`` to ``path`` (format from ``fmt`` or the suffix) atomically."""
    from ..analysis.plots import save_figure

    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".") or "png").lower()
    if fmt not in FORMATS:
        raise BadInputError(f"Cannot save a plot as {fmt!r}: choose one of "
                            f"{', '.join(FORMATS)} (the file name's suffix).")
    return save_figure(figure, path, formats=(fmt,), dpi=dpi)[0]


def _save_dialog(canvas, fmt: str, name: str) -> Path | None:
    """Ask for a file name, then save; errors are shown, never raised."""
    path, _ = QFileDialog.getSaveFileName(canvas, f"Save plot as {fmt.upper()}",
                                          f"{name}.{fmt}", FORMATS[fmt])
    if not path:
        return None
    canvas.wait()  # a BackgroundCanvas: save the figure being drawn, once it is done
    try:
        written = export_figure(canvas.figure, path, fmt)
    except Exception as err:  # noqa: BLE001  (a notification; the viewer keeps working)
        show_failure(err, "Saving the plot")
        return None
    from napari.utils.notifications import show_info

    show_info(f"Plot saved to {written}")
    return written


def enable_export(canvas, name: str = "plot"):
    """Give ``canvas`` a right-click menu "Save PNG…" / "Save SVG…" proposing ``name``."""
    canvas.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def show_menu(pos):
        menu = QMenu(canvas)
        for fmt in FORMATS:
            action = menu.addAction(f"Save {fmt.upper()}…")
            action.triggered.connect(lambda _=False, f=fmt: _save_dialog(canvas, f, name))
        menu.exec_(canvas.mapToGlobal(pos))

    canvas.customContextMenuRequested.connect(show_menu)
    tip = canvas.toolTip()
    canvas.setToolTip((tip + "\n" if tip else "") + "Right-click: save the plot as PNG or SVG.")
    return canvas


def export_buttons(canvas, name: str = "plot", parent=None) -> QHBoxLayout:
    """A row of "Save PNG…" / "Save SVG…" buttons saving ``canvas``'s figure."""
    return hbox(*(button(parent, f"Save {fmt.upper()}…", f"Save the plot as a {fmt.upper()} file.",
                         lambda _=False, f=fmt: _save_dialog(canvas, f, name)) for fmt in FORMATS), 1)
