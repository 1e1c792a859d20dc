"""A layer chooser that keeps both ends of long layer names visible."""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QComboBox, QStyle, QStyleOptionComboBox, QStylePainter

#: Characters a layer chooser asks room for; longer names are shortened in the middle.
MIN_NAME_CHARS = 18


class LayerComboBox(QComboBox):
    """A combo box of layer names elided in the middle ("od_1_pat…DAPI [2]": the end tells
    layers apart, Qt would cut it), each item's tooltip its whole name; it asks for room for
    :data:`MIN_NAME_CHARS` characters only, so a long name never widens the dock.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(MIN_NAME_CHARS)
        self.view().setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.model().rowsInserted.connect(self._name_tooltips)

    def _name_tooltips(self, _parent, first: int, last: int) -> None:
        for row in range(first, last + 1):
            self.setItemData(row, self.itemText(row), Qt.ItemDataRole.ToolTipRole)

    def _text_rect(self):
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        return option, self.style().subControlRect(
            QStyle.ComplexControl.CC_ComboBox, option, QStyle.SubControl.SC_ComboBoxEditField,
            self)

    def shown_text(self, index: int | None = None) -> str:
        """The text the box shows for item ``index`` (the current one by default)."""
        _, rect = self._text_rect()
        text = self.currentText() if index is None else self.itemText(index)
        return self.fontMetrics().elidedText(text, Qt.TextElideMode.ElideMiddle, rect.width())

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QStylePainter(self)
        option, _ = self._text_rect()
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        option.currentText = self.shown_text()
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)
