"""The Train dock's test report: metrics with their 95 % intervals
(:func:`~napari_msc_morph.training.report.metric_rows`, as in ``report.md``) and its plots."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from qtpy.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..training.report import metric_rows, summary_lines
from ._table_view import fill_table_widget

__all__ = ["TestReportView", "REPORT_PLOTS"]

#: The report's figures shown in the dock: file stem -> tab title.
REPORT_PLOTS = {"confusion_matrix": "Confusion matrix", "roc": "ROC"}
HEADERS = ("metric", "yours", "95 % CI", "published")


class TestReportView(QWidget):
    """Metrics table and report plots of one evaluation report folder."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.summary = QLabel("No test report yet: it appears when a run finishes.", self)
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(HEADERS), self)
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip(
            "Each metric on the held-out test images (never used in training). 95 % CI: the "
            "range the value would take with other donors like yours (donors resampled). "
            "Published: the paper's own figure on its own images, for context only.")
        self.table.setMinimumHeight(160)
        self.plots = QTabWidget(self)
        self.plots.setToolTip("Right-click a plot to save it as PNG or SVG.")
        self.canvases: dict = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)
        layout.addWidget(self.plots)
        self.plots.setVisible(False)

    def show_report(self, folder) -> None:
        """Fill the table and plots from ``folder`` (holding ``metrics.json``)."""
        folder = Path(folder)
        metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
        rows = metric_rows(metrics)
        fill_table_widget(self.table, pd.DataFrame(
            [(label, _number(ours), ci, _number(published))
             for _, label, ours, ci, published in rows], columns=HEADERS))
        lines = summary_lines(metrics)
        warnings = metrics.get("warnings") or []
        self.summary.setText(lines[2] + (f" {len(warnings)} warning(s): see report.md."
                                          if warnings else ""))
        self.summary.setToolTip("\n".join(warnings) or str(folder / "report.md"))
        self._show_plots(folder)

    def _show_plots(self, folder: Path) -> None:
        from .report_plots import png_canvas

        self.plots.clear()
        self.canvases.clear()
        for stem, title in REPORT_PLOTS.items():
            png = folder / f"{stem}.png"
            if not png.is_file():
                continue
            canvas = png_canvas(png, min_height=220)
            self.canvases[stem] = canvas
            self.plots.addTab(canvas, title)
        self.plots.setVisible(bool(self.canvases))


def _number(value) -> str:
    if isinstance(value, float):
        return "–" if value != value else f"{value:.3f}"
    return "–" if value is None else str(value)
