"""The Backend row of the Segment and Study docks: the segmentation backends this install
can run and, for one that runs on a device (cellpose), the device from the registry."""

from __future__ import annotations

from qtpy.QtWidgets import QComboBox, QHBoxLayout, QLabel

from ..models.backbones import DEVICES
from ..morphology.segment import SEGMENTATION_BACKENDS, available_backends


def backend_row(backend_tip: str) -> tuple[QHBoxLayout, QComboBox, QComboBox]:
    """``(row, backend box, device box)``; the device shows only for a backend that uses one."""
    backend, device, label = QComboBox(), QComboBox(), QLabel("Device")
    backend.addItems(available_backends())
    backend.setToolTip(backend_tip)
    device.addItems(DEVICES.names())
    device.setToolTip("Where cellpose runs:\n" + "\n".join(
        f"{name}: {DEVICES.help(name)}" for name in DEVICES))

    def show_device(name: str) -> None:
        uses_device = bool(name) and "device" in SEGMENTATION_BACKENDS.entry(name).extra
        label.setVisible(uses_device)
        device.setVisible(uses_device)

    backend.currentTextChanged.connect(show_device)
    show_device(backend.currentText())
    row = QHBoxLayout()
    for widget, stretch in ((backend, 1), (label, 0), (device, 0)):
        row.addWidget(widget, stretch)
    return row, backend, device
