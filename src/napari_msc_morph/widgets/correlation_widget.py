"""Correlation dock: image scores from the results table against molecular readouts.

Thin: reads the viewer's results table, calls
:func:`~napari_msc_morph.analysis.aggregate.aggregate_to_samples`,
:func:`~napari_msc_morph.analysis.readouts.read_readouts` and
:func:`~napari_msc_morph.analysis.correlate.correlate`, and draws the engine's
figures into Qt canvases. Clicking a scatter point selects that sample's image
layer(s).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from qtpy.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..analysis.aggregate import _as_list, aggregate_to_samples
from ..analysis.correlate import correlate, join_readouts, time_course
from ..analysis.plots import (
    heatmap_figure,
    picked_samples,
    save_figure,
    scatter_figure,
    time_course_figure,
)
from ..analysis.readouts import read_readouts
from ..io import write_table
from .results_table import get_results_table

JOIN_CHOICES = ("sample_id", "day, condition")


class CorrelationWidget(QWidget):
    """Correlate the results table's scores with a readout file.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
    """

    def __init__(self, napari_viewer, parent=None):
        super().__init__(parent)
        self.viewer = getattr(napari_viewer, "__wrapped__", napari_viewer)
        self.readouts: pd.DataFrame | None = None
        self.samples: pd.DataFrame | None = None
        self.results: pd.DataFrame | None = None
        self.joined: pd.DataFrame | None = None
        self.course: pd.DataFrame | None = None
        self._worker = None

        self.readout_path = QLineEdit(self)
        self.readout_path.setPlaceholderText("qPCR / western / IF readouts (CSV or XLSX)")
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse_clicked)
        path_row = QHBoxLayout()
        path_row.addWidget(self.readout_path, 1)
        path_row.addWidget(browse)

        self.join_combo = QComboBox(self)
        self.join_combo.addItems(JOIN_CHOICES)
        self.join_combo.setEditable(True)
        self.method_combo = QComboBox(self)
        self.method_combo.addItems(["both", "pearson", "spearman"])
        self.score_combo = QComboBox(self)
        self.score_combo.currentIndexChanged.connect(self._redraw_scatter)
        self.plot_method_combo = QComboBox(self)
        self.plot_method_combo.addItems(["pearson", "spearman"])
        self.plot_method_combo.currentIndexChanged.connect(self._redraw)

        self.run_button = QPushButton("Correlate", self)
        self.run_button.clicked.connect(self._run_clicked)
        save_plots = QPushButton("Save plots…", self)
        save_plots.clicked.connect(self._save_plots_clicked)
        save_table = QPushButton("Export table…", self)
        save_table.clicked.connect(self._export_clicked)
        self.status = QLabel("Scores come from the Results table.", self)
        self.status.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Readouts", path_row)
        form.addRow("Join on", self.join_combo)
        form.addRow("Method", self.method_combo)
        form.addRow("Plot score", self.score_combo)
        form.addRow("Plot r", self.plot_method_combo)

        self.scatter_canvas = FigureCanvasQTAgg(Figure(figsize=(5, 4), layout="constrained"))
        self.heatmap_canvas = FigureCanvasQTAgg(Figure(figsize=(5, 3), layout="constrained"))
        self.time_canvas = FigureCanvasQTAgg(Figure(figsize=(5, 4), layout="constrained"))
        self.scatter_canvas.mpl_connect("pick_event", self._on_pick)
        self.table = QTableWidget(0, 0, self)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.scatter_canvas, "Scatter")
        self.tabs.addTab(self.heatmap_canvas, "Heatmap")
        self.tabs.addTab(self.time_canvas, "Time course")
        self.tabs.addTab(self.table, "Table")
        for canvas in (self.scatter_canvas, self.heatmap_canvas, self.time_canvas):
            canvas.setMinimumHeight(260)

        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(save_plots)
        buttons.addWidget(save_table)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.tabs, 1)

    # ------------------------------------------------------------ compute
    @property
    def on(self) -> list[str]:
        """The join column(s) chosen."""
        return _as_list(self.join_combo.currentText())

    def load_readouts(self, source) -> pd.DataFrame:
        """Read readouts from a path or take a DataFrame (long or wide)."""
        if isinstance(source, (str, os.PathLike)):
            self.readout_path.setText(os.fspath(source))
        self.readouts = read_readouts(source)
        return self.readouts

    def compute(self, scores_table: pd.DataFrame | None = None) -> pd.DataFrame:
        """Aggregate, join and correlate now (on the calling thread); then draw.

        Parameters
        ----------
        scores_table : DataFrame, optional
            Per-image scores; default: the viewer's results table.
        """
        result = self._compute(scores_table)
        self._show(result)
        return self.results

    def _compute(self, scores_table=None):
        if self.readouts is None:
            path = self.readout_path.text().strip()
            if not path:
                raise ValueError("Choose a readout file (CSV or XLSX) first.")
            self.readouts = read_readouts(path)
        if scores_table is None:
            scores_table = get_results_table(self.viewer, show=False).to_dataframe()
        if scores_table.empty:
            raise ValueError("The results table is empty: run a prediction or measurement first.")
        on = self.on
        samples = aggregate_to_samples(scores_table, on=on, source="the results table")
        results = correlate(samples, self.readouts, on=on, method=self.method_combo.currentText())
        joined = join_readouts(samples, self.readouts, on=on)
        course = None
        try:
            course = time_course(samples, self.readouts)
        except ValueError:
            course = None  # no day column: no time course
        return samples, results, joined, course

    def _show(self, result) -> None:
        self.samples, self.results, self.joined, self.course = result
        scores = list(dict.fromkeys(self.results["score"]))
        current = self.score_combo.currentText()
        self.score_combo.blockSignals(True)
        self.score_combo.clear()
        self.score_combo.addItems(scores)
        preferred = current if current in scores else next(
            (s for s in scores if "osscore" in s.lower()), scores[0] if scores else "")
        self.score_combo.setCurrentText(preferred)
        self.score_combo.blockSignals(False)
        methods = list(dict.fromkeys(self.results["method"]))
        if self.plot_method_combo.currentText() not in methods and methods:
            self.plot_method_combo.blockSignals(True)
            self.plot_method_combo.setCurrentText(methods[0])
            self.plot_method_combo.blockSignals(False)
        self._fill_table()
        self._redraw()
        warnings = sorted(set(self.results["warning"]) - {""})
        n = len(self.samples)
        self.status.setText(f"{len(self.results)} correlations over {n} samples."
                            + (f" Warning: {'; '.join(warnings)}" if warnings else ""))
        if warnings:
            from napari.utils.notifications import show_warning

            show_warning("Correlation: " + "; ".join(warnings))

    def _fill_table(self) -> None:
        frame = self.results
        self.table.setColumnCount(len(frame.columns))
        self.table.setRowCount(len(frame))
        self.table.setHorizontalHeaderLabels(list(frame.columns))
        for r, row in enumerate(frame.itertuples(index=False)):
            for c, value in enumerate(row):
                text = f"{value:.3g}" if isinstance(value, float) and np.isfinite(value) else (
                    "" if isinstance(value, float) else str(value))
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()

    # --------------------------------------------------------------- plots
    def _redraw(self, *_):
        if self.results is None:
            return
        method = self.plot_method_combo.currentText()
        self._redraw_scatter()
        heatmap_figure(self.results, method, fig=self.heatmap_canvas.figure)
        self.heatmap_canvas.draw_idle()
        if self.course is not None and not self.course.empty:
            time_course_figure(self.course, fig=self.time_canvas.figure)
        else:
            self.time_canvas.figure.clear()
            self.time_canvas.figure.text(0.5, 0.5, "no 'day' column: no time course", ha="center")
        self.time_canvas.draw_idle()

    def _redraw_scatter(self, *_):
        if self.results is None or not self.score_combo.currentText():
            return
        scatter_figure(self.joined, self.results, self.score_combo.currentText(), on=self.on,
                       method=self.plot_method_combo.currentText(),
                       fig=self.scatter_canvas.figure)
        self.scatter_canvas.draw()

    def save_plots(self, folder: str | os.PathLike) -> list[Path]:
        """Save the scatter, heatmap and time course shown as PNG and SVG in ``folder``."""
        if self.results is None:
            raise ValueError("Nothing to save yet: run the correlation first.")
        folder = Path(folder)
        score = self.score_combo.currentText()
        method = self.plot_method_combo.currentText()
        written = save_figure(self.scatter_canvas.figure, folder / f"scatter_{score}_{method}")
        written += save_figure(self.heatmap_canvas.figure, folder / f"heatmap_{method}")
        if self.course is not None and not self.course.empty:
            written += save_figure(self.time_canvas.figure, folder / "time_course")
        return written

    # ------------------------------------------------------ point -> layer
    def layers_for_samples(self, keys) -> list:
        """Layers of the results table whose join columns equal one of ``keys``."""
        table = get_results_table(self.viewer, show=False)
        frame = table.to_dataframe()
        on = self.on
        wanted = {tuple(_key_text(v) for v in key) for key in keys}
        layers = []
        for index, record in frame.iterrows():
            key = tuple(_key_text(record[c]) for c in on)
            layer = table.layer_at(index)
            if key in wanted and layer is not None and layer in self.viewer.layers:
                layers.append(layer)
        return layers

    def select_samples(self, keys) -> list:
        """Select and show the image layers of the samples ``keys``."""
        layers = self.layers_for_samples(keys)
        if layers:
            for layer in layers:
                layer.visible = True
            self.viewer.layers.selection.clear()
            self.viewer.layers.selection.update(layers)
            if len(layers) == 1:  # setting `active` would drop the others from the selection
                self.viewer.layers.selection.active = layers[0]
        return layers

    def _on_pick(self, event) -> None:
        keys = picked_samples(event.artist, event.ind)
        if keys:
            layers = self.select_samples(keys[:1])
            label = " / ".join(map(str, keys[0]))
            self.status.setText(f"Sample {label}: {len(layers)} layer(s) selected.")

    # ------------------------------------------------------------ buttons
    def _browse_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Readouts", "", "Tables (*.csv *.xlsx *.tsv)"
        )
        if path:
            self.readout_path.setText(path)
            self.readouts = None

    def _run_clicked(self) -> None:
        from napari.qt.threading import create_worker

        self.readouts = None  # re-read the file: it may have been edited
        scores_table = get_results_table(self.viewer, show=False).to_dataframe()
        self.run_button.setEnabled(False)
        self.status.setText("Correlating…")
        worker = create_worker(self._compute_or_error, scores_table)
        worker.returned.connect(self._on_returned)
        worker.finished.connect(lambda: self.run_button.setEnabled(True))
        self._worker = worker
        worker.start()

    def _compute_or_error(self, scores_table):
        # User errors come back as values: napari would show a raised one as a traceback.
        # (superqt treats a returned exception object as raised, hence the wrapping.)
        try:
            return "ok", self._compute(scores_table)
        except (ValueError, FileNotFoundError, KeyError) as err:
            return "error", err

    def _on_returned(self, outcome) -> None:
        kind, value = outcome
        if kind == "error":
            self._on_error(value)
        else:
            self._show(value)

    def _on_error(self, err: Exception) -> None:
        from napari.utils.notifications import show_error

        self.status.setText(str(err))
        show_error(str(err))

    def _save_plots_clicked(self) -> None:
        from napari.utils.notifications import show_error, show_info

        folder = QFileDialog.getExistingDirectory(self, "Save plots into")
        if not folder:
            return
        try:
            written = self.save_plots(folder)
        except (OSError, ValueError) as err:
            show_error(str(err))
            return
        show_info(f"Saved {len(written)} files in {folder}")

    def _export_clicked(self) -> None:
        from napari.utils.notifications import show_error

        if self.results is None:
            show_error("Nothing to export yet: run the correlation first.")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export correlations", "correlations.csv",
                                              "CSV (*.csv);;Excel (*.xlsx)")
        if path:
            try:
                write_table(self.results, path)
            except (OSError, ValueError, ImportError) as err:
                show_error(str(err))


def _key_text(value) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()
