"""Small Qt pieces the table-showing docks share: a file row, a DataFrame in a
``QTableWidget``, the "Export…" buttons' save dialog, values as text."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from qtpy.QtCore import QSignalBlocker, Qt
from qtpy.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
)

from ..errors import BadInputError
from ..table_export import path_for_filter
from ._panel import button, hbox
from ._results_values import cell_text

#: What the export dialogs offer.
TABLE_FILTER = "CSV (*.csv);;Excel (*.xlsx)"


def fill_table_widget(table: QTableWidget, frame: pd.DataFrame) -> None:
    """Show ``frame`` in ``table`` (header = columns), columns sized to their contents."""
    table.setColumnCount(len(frame.columns))
    table.setRowCount(len(frame))
    table.setHorizontalHeaderLabels([str(c) for c in frame.columns])
    for r, row in enumerate(frame.itertuples(index=False)):
        for c, value in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(cell_text(value)))
    table.resizeColumnsToContents()


def combo(parent, items=(), tip: str = "", *, editable: bool = False,
          registry=None) -> QComboBox:
    """A combo box of ``items`` with tooltip ``tip``; items in ``registry`` get its help."""
    box = QComboBox(parent)
    box.addItems(list(items))
    box.setEditable(editable)
    box.setToolTip(tip)
    for index, item in enumerate(items):
        if registry is not None and item in registry:
            box.setItemData(index, registry.help(item), Qt.ToolTipRole)
    return box


def line_edit(parent, placeholder: str, tip: str) -> QLineEdit:
    edit = QLineEdit(parent)
    edit.setPlaceholderText(placeholder)
    edit.setToolTip(tip)
    return edit


def set_items(box: QComboBox, items, hints) -> None:
    """Fill ``box`` without signals, keeping its text if still listed, else the first of
    ``hints`` (lower case) listed, else the first item."""
    current = box.currentText()
    lowered = {str(i).lower(): str(i) for i in items}
    chosen = current if current in lowered.values() else next(
        (lowered[h] for h in hints if h in lowered), str(items[0]) if items else "")
    with QSignalBlocker(box):
        box.clear()
        box.addItems([str(i) for i in items])
        box.setCurrentText(chosen)


def file_row(edit, on_browse: Callable[[], None], parent) -> QHBoxLayout:
    """``edit`` (a path box) with a "Browse…" button calling ``on_browse``."""
    return hbox((edit, 1), button(parent, "Browse…", "Choose the file in a file dialog (or "
                                  "type or paste its path).", on_browse))


def export_dialog(dock, shown, *, title: str, default_name: str, write: Callable[[str], object],
                  nothing_yet: str = "", report: Callable | None = None,
                  filters: str = TABLE_FILTER) -> str | None:
    """The "Export…" buttons: ask where, then ``write(path)``; return the path written.

    Errors go to ``report`` (default: the dock's status line); ``shown`` None or an empty
    DataFrame means nothing to export yet (``nothing_yet`` says what to do).
    """
    report = report or dock.report_error
    if shown is None or isinstance(shown, pd.DataFrame) and shown.empty:
        report(BadInputError(nothing_yet))
        return None
    path, chosen = QFileDialog.getSaveFileName(dock, title, default_name, filters)
    if not path:
        return None
    path = path_for_filter(path, chosen)  # the chosen filter's suffix when none was typed
    try:
        write(path)
    except Exception as err:  # noqa: BLE001  (reported; the viewer keeps working)
        report(err)
        return None
    return path
