"""The Measure dock's channel list: each image layer shown as "<layer> → <marker>", and a
box to name the selected channel's marker (the item text stays the layer name)."""

from __future__ import annotations

from qtpy.QtCore import QSize, Qt, Signal
from qtpy.QtWidgets import (
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QStyledItemDelegate,
)

#: Item data role holding the marker (column prefix) of a listed layer.
MARKER_ROLE = Qt.ItemDataRole.UserRole
ARROW = " → "


def shown_name(layer_name: str, marker: str | None) -> str:
    """How a channel is listed: "<layer name> → <marker>" (the layer name alone if no marker)."""
    return f"{layer_name}{ARROW}{marker}" if marker else layer_name


class _MarkerDelegate(QStyledItemDelegate):
    """Draws "<layer> → <marker>", no wider than the list (elided in the middle)."""

    def initStyleOption(self, option, index) -> None:  # noqa: N802 (Qt's name)
        super().initStyleOption(option, index)
        option.text = shown_name(option.text, index.data(MARKER_ROLE))

    def sizeHint(self, option, index) -> QSize:  # noqa: N802 (Qt's name)
        hint = super().sizeHint(option, index)
        view = self.parent()
        return QSize(min(hint.width(), max(view.viewport().width(), 1)), hint.height())


class ChannelList(QListWidget):
    """Tickable image layers with their markers; typing a marker in ``marker_edit`` (placed
    by the dock) emits :attr:`marker_named` (layer name, typed text)."""

    marker_named = Signal(str, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setItemDelegate(_MarkerDelegate(self))
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setResizeMode(QListView.ResizeMode.Adjust)  # items re-fit when the dock resizes
        self.marker_edit = QLineEdit()
        self.marker_edit.setPlaceholderText("select a channel to name its marker")
        self.marker_edit.setToolTip(
            "The marker of the selected channel (e.g. RUNX2): its columns are named after "
            "it (RUNX2_mean), the same in every image. Double-click a channel, type its "
            "marker and press Enter; the name stays with the layer and is saved with it")
        self.marker_edit.setEnabled(False)
        self.currentItemChanged.connect(self._show_current)
        self.itemDoubleClicked.connect(self._edit_marker)
        self.marker_edit.editingFinished.connect(self._on_marker_typed)

    def set_layers(self, names) -> None:
        """List the image layers ``names``, none ticked."""
        self.clear()
        for name in names:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.addItem(item)
        self._show_current()

    def items(self) -> list[QListWidgetItem]:
        return [self.item(row) for row in range(self.count())]

    def checked(self) -> list[str]:
        """The names of the ticked layers, in list order."""
        return [item.text() for item in self.items()
                if item.checkState() == Qt.CheckState.Checked]

    def set_markers(self, markers: dict[str, str]) -> None:
        """Show each layer's marker (``{layer name: marker}``), in the list and tooltips."""
        self.blockSignals(True)  # not a tick: the dock's itemChanged is for ticks only
        try:
            for item in self.items():
                marker = markers.get(item.text())
                item.setData(MARKER_ROLE, marker)
                item.setToolTip(f"Layer “{item.text()}”: measured as {marker} ({marker}_mean, "
                                f"…). Double-click to name its marker" if marker
                                else item.text())
        finally:
            self.blockSignals(False)
        self._show_current()

    def _show_current(self, *_) -> None:
        item = self.currentItem()
        self.marker_edit.setEnabled(item is not None)
        self.marker_edit.setText("" if item is None else item.data(MARKER_ROLE) or "")

    def _edit_marker(self, item) -> None:
        self.setCurrentItem(item)
        self.marker_edit.setFocus()
        self.marker_edit.selectAll()

    def _on_marker_typed(self) -> None:
        item = self.currentItem()
        text = self.marker_edit.text().strip()
        if item is None or not text or text == item.data(MARKER_ROLE):
            self._show_current()  # nothing typed: the marker stays
            return
        self.marker_named.emit(item.text(), text)
