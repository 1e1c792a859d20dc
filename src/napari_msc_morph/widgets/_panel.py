"""The Run / Cancel / progress / status block every long-running dock shares."""

from __future__ import annotations

from qtpy.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout


def build_run_panel(widget, form, run_text: str) -> QVBoxLayout:
    """Lay out ``form`` above Run/Cancel buttons, a progress bar and a status line.

    Sets ``widget.run_button`` (connected to ``widget.run``),
    ``widget.cancel_button`` (disabled, connected to ``widget.cancel``),
    ``widget.progress`` (range 0-1 until work starts) and ``widget.status``,
    and returns the widget's layout so callers can add more below.
    """
    widget.run_button = QPushButton(run_text, widget)
    widget.run_button.clicked.connect(widget.run)
    widget.cancel_button = QPushButton("Cancel", widget)
    widget.cancel_button.setEnabled(False)
    widget.cancel_button.clicked.connect(widget.cancel)
    widget.progress = QProgressBar(widget)
    widget.progress.setRange(0, 1)
    widget.status = QLabel("", widget)
    widget.status.setWordWrap(True)
    buttons = QHBoxLayout()
    buttons.addWidget(widget.run_button)
    buttons.addWidget(widget.cancel_button)
    layout = QVBoxLayout(widget)
    layout.addLayout(form)
    layout.addLayout(buttons)
    layout.addWidget(widget.progress)
    layout.addWidget(widget.status)
    return layout
