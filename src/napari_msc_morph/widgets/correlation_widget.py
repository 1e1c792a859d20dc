"""Correlation dock: image scores from the results table against molecular readouts.

One :func:`~napari_msc_morph.analysis.study.correlate_study` call; clicking a scatter point
selects that sample's image layers. matplotlib and scipy.stats (1.5 s of a frozen viewer)
are imported in the background before the plot tabs are built.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from qtpy.QtCore import QSignalBlocker, Qt
from qtpy.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QLabel,
    QMessageBox,
    QTableWidget,
    QTabWidget,
    QWidget,
)

from ..analysis.aggregate import SAMPLE_KEYS, parse_columns
from ..analysis.correlate import ALL_METHODS, CORRELATION_METHODS, method_choices
from ..analysis.qpcr import TRANSFORMS
from ..analysis.study import CorrelationStudy, correlate_study
from ..errors import USER_ERRORS, BadInputError, MscMorphError
from ..io import write_table
from ._panel import JobDock, button, hbox
from ._results_values import key_text, select_layers
from ._table_view import combo, export_dialog, file_row, fill_table_widget, line_edit, set_items
from ._warm import import_in_background
from .results_table import get_results_table

#: Warnings listed in the status line's tooltip (all of them: the Details… button).
MAX_TOOLTIP_WARNINGS = 10
#: Combo-box entries meaning "no repeated measures" and "values as they are".
NO_GROUPING = "(none)"
NO_TRANSFORM = "none"
#: What the plot tabs and the Compare groups panel import (matplotlib, scipy.stats).
PLOT_MODULES = ("napari_msc_morph.widgets._figure_canvas", "napari_msc_morph.analysis.plots",
                "napari_msc_morph.widgets.compare_panel")
#: The plot tabs, in order, before the Table and Compare groups tabs.
PLOT_TABS = ("Scatter", "Heatmap", "Time course")


def warnings_summary(warnings) -> str:
    """One line for the status: how many warnings and the first, cut to 120 characters.

    Examples
    --------
    >>> warnings_summary(["few samples", "constant score"])
    '2 warnings, e.g. few samples'
    """
    if not warnings:
        return ""
    first = _shortened(warnings[0], 120)
    if len(warnings) == 1:
        return f"Warning: {first}"
    return f"{len(warnings)} warnings, e.g. {first}"


class CorrelationWidget(JobDock):
    """Correlate the results table's scores with a readout file."""

    job_title = "Correlation"

    def __init__(self, napari_viewer, parent=None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.study: CorrelationStudy | None = None
        self.results: pd.DataFrame | None = None
        self.joined: pd.DataFrame | None = None
        self.course: pd.DataFrame | None = None
        # readouts handed over as a table (load_readouts) rather than typed as a path
        self._readout_frame: pd.DataFrame | None = None

        self.readout_path = line_edit(
            self, "qPCR / western / IF readouts (CSV or XLSX)",
            "The molecular measurements of the same samples (qPCR Ct or fold change, western "
            "band intensities, IF counts) as a table with a sample column, e.g. sample_id.")
        self.readout_path.textEdited.connect(lambda *_: setattr(self, "_readout_frame", None))
        path_row = file_row(self.readout_path, self._browse_clicked, self)

        self.join_combo = combo(  # editable: any other column list works too
            self, SAMPLE_KEYS.names(), registry=SAMPLE_KEYS, editable=True,
            tip="The column(s) that say which sample an image and a readout belong to. Images "
            "of the same sample are averaged first, so n counts samples, not images.")
        self.method_combo = combo(
            self, method_choices(), "Pearson measures a straight-line relation; Spearman any "
            "rising or falling one (ranks, robust to outliers); both reports the two.")
        self.method_combo.setCurrentText(ALL_METHODS)
        # repeated measures: a column name (empty = none); the usual one is offered
        self.repeated_combo = combo(
            self, [NO_GROUPING, "donor"], editable=True,
            tip="Samples sharing this column's value (e.g. donor) are repeated measures: adds the "
            "repeated-measures correlation (rm_corr) and a mixed-model slope next to the pooled r.")
        self.transform_combo = combo(
            self, [NO_TRANSFORM, *TRANSFORMS.names()], registry=TRANSFORMS,
            tip="How qPCR values are put on a scale that correlates fairly: log2 of fold changes, "
            "or delta-Ct against a reference gene (2^-ddCt with a control).")
        self.reference_gene = line_edit(
            self, "reference gene for delta-ct, e.g. GAPDH", "The housekeeping gene every Ct "
            "is compared with (delta-Ct transform only), e.g. GAPDH.")
        self.control = line_edit(
            self, "delta-ct control, e.g. control or day=0 (optional)", "The samples fold "
            "changes are relative to (delta-delta-Ct), e.g. control or day=0. Leave empty for "
            "plain delta-Ct.")
        self.scores_edit = line_edit(
            self, "default: task scores and morphometry medians",
            "Which columns of the Results table to correlate, separated by commas (e.g. "
            "os_score, area_um2_median). Left empty: the task scores (os_score, "
            "expected_passage) and one summary per measurement (medians, fraction positive, "
            "cell density); never bookkeeping such as pixel size, tile counts or coordinates.")
        self.score_combo = combo(self, tip="The score drawn in the scatter plot.")
        self.score_combo.currentIndexChanged.connect(self._redraw_scatter)
        self.plot_method_combo = combo(self, CORRELATION_METHODS.names(),
                                       "The correlation coefficient shown in the plots.")
        self.plot_method_combo.currentIndexChanged.connect(self._redraw)

        form = QFormLayout()
        form.addRow("Readouts", path_row)
        form.addRow("Scores", self.scores_edit)
        form.addRow("Join on", self.join_combo)
        form.addRow("Method", self.method_combo)
        form.addRow("Repeated by", self.repeated_combo)
        form.addRow("qPCR transform", self.transform_combo)
        form.addRow("Reference gene", self.reference_gene)
        form.addRow("Control", self.control)
        form.addRow("Plot score", self.score_combo)
        form.addRow("Plot r", self.plot_method_combo)
        layout = self.build_run_panel(form, "Correlate")
        self.status.setText("Scores come from the Results table.")
        # many warnings (one per score and marker) would make the status line pages long:
        # it says how many, this button lists them
        self.warnings_button = button(self, "Details…", "List every warning of the last "
                                      "correlation.", self.show_warnings)
        self.warnings_button.setVisible(False)
        layout.addWidget(self.warnings_button)

        layout.addLayout(hbox(
            button(self, "Save plots…", "Save the scatter, heatmap and time course as PNG and "
                   "SVG.", self._save_plots_clicked),
            button(self, "Export table…", "Save the correlation table (r, confidence interval, "
                   "p, q) as CSV or XLSX.", self._export_clicked)))

        # placeholders until matplotlib and scipy.stats are imported (see _build_plots)
        self._plots: dict[str, QWidget] = {}
        self.table = QTableWidget(0, 0, self)
        self.tabs = QTabWidget(self)
        for title in PLOT_TABS:
            self.tabs.addTab(self._placeholder("The plots appear here after Correlate."), title)
        self.tabs.addTab(self.table, "Table")
        self.tabs.addTab(self._placeholder("Loading…"), "Compare groups")
        self.tabs.currentChanged.connect(self._tab_chosen)
        layout.addWidget(self.tabs, 1)
        import_in_background(PLOT_MODULES, self._build_plots, self)

    # ---------------------------------------------------------- plot tabs
    def _placeholder(self, text: str) -> QLabel:
        label = QLabel(text, self)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setMinimumHeight(260)
        return label

    def _tab_chosen(self, index: int) -> None:
        self._build_plots()
        if self.tabs.tabText(index) == "Compare groups":
            self._build_compare()

    def _build_plots(self) -> None:
        """Put the canvases in their tabs (once)."""
        if "Scatter" in self._plots:
            return
        from matplotlib.figure import Figure

        from ._figure_canvas import BackgroundCanvas
        from ._figure_export import enable_export

        for index, (title, height) in enumerate(zip(PLOT_TABS, (4, 3, 4))):
            canvas = BackgroundCanvas(Figure(figsize=(5, height), layout="constrained"),
                                      layout="constrained")
            canvas.setMinimumHeight(260)
            enable_export(canvas, "correlation")  # right-click: Save PNG…/SVG…
            self._replace_tab(index, canvas, title)
            self._plots[title] = canvas
        self._plots["Scatter"].mpl_connect("pick_event", self._on_pick)

    def _build_compare(self) -> None:
        """Put the Compare groups panel in its tab (once: when it is first shown or used)."""
        if "Compare groups" in self._plots:
            return
        from .compare_panel import ComparePanel

        self._plots["Compare groups"] = ComparePanel(self.viewer, self)
        self._replace_tab(self.tabs.count() - 1, self._plots["Compare groups"], "Compare groups")
        self.updateGeometry()  # the dock's width follows the panel's (napari's layout asks again)

    def _replace_tab(self, index: int, widget: QWidget, title: str) -> None:
        current = self.tabs.currentIndex()
        with QSignalBlocker(self.tabs):
            self.tabs.widget(index).deleteLater()
            self.tabs.removeTab(index)
            self.tabs.insertTab(index, widget, title)
            self.tabs.setCurrentIndex(current)

    def _plot(self, title: str):
        if title == "Compare groups":
            self._build_compare()
        else:
            self._build_plots()
        return self._plots[title]

    @property
    def scatter_canvas(self):
        return self._plot("Scatter")

    @property
    def heatmap_canvas(self):
        return self._plot("Heatmap")

    @property
    def time_canvas(self):
        return self._plot("Time course")

    @property
    def compare_panel(self):
        return self._plot("Compare groups")

    # -------------------------------------------------------------- inputs
    @property
    def on(self) -> list[str]:
        """The join column(s) chosen."""
        return parse_columns(self.join_combo.currentText())

    def load_readouts(self, source) -> None:
        """Use readouts from a path (shown in the path box) or a DataFrame (long or wide)."""
        if isinstance(source, pd.DataFrame):
            self._readout_frame = source
        else:
            self.readout_path.setText(os.fspath(source))
            self._readout_frame = None

    def _input_state(self, scores_table: pd.DataFrame | None = None) -> dict:
        """Everything :func:`correlate_study` needs, gathered on the GUI thread."""
        readouts = self._readout_frame
        if readouts is None:
            path = self.readout_path.text().strip()
            if not path:
                raise BadInputError("Choose a readout file (CSV or XLSX) first.")
            readouts = path  # read by the engine on every run: the file may have changed
        if scores_table is None:
            scores_table = get_results_table(self.viewer, show=False).to_dataframe()
        if scores_table.empty:
            raise BadInputError(
                "The results table is empty: run a prediction or measurement first.")
        repeated = self.repeated_combo.currentText().strip()
        transform = self.transform_combo.currentText()
        return {"scores": scores_table, "readouts": readouts, "on": self.on,
                "method": self.method_combo.currentText(), "scores_name": "the results table",
                "score_columns": parse_columns(self.scores_edit.text()) or None,
                "repeated_by": None if repeated in ("", NO_GROUPING) else repeated,
                "transform": None if transform == NO_TRANSFORM else transform,
                "reference_gene": self.reference_gene.text().strip() or None,
                "control": self.control.text().strip() or None}

    # ------------------------------------------------------------- running
    def compute(self, scores_table: pd.DataFrame | None = None) -> pd.DataFrame:
        """Correlate ``scores_table`` (default: the results table) now, draw, return the results."""
        self._show(correlate_study(**self._input_state(scores_table)))
        return self.results

    def run(self) -> None:
        """The Correlate button: one :func:`correlate_study` call in a thread worker."""
        try:
            state = self._input_state()
        except USER_ERRORS as err:
            self.report_error(err)
            return
        return self.start_job(
            lambda progress, cancel: correlate_study(**state, progress=progress, cancel=cancel),
            self._show, status="Correlating…",
        )

    def _show(self, study: CorrelationStudy) -> None:
        self.study = study
        self.results, self.joined, self.course = study.results, study.joined, study.time_course
        scores = study.score_columns
        set_items(self.score_combo, scores,
                  [s.lower() for s in scores if s.lower().replace("_", "").endswith("score")])
        methods = study.methods
        if self.plot_method_combo.currentText() not in methods and methods:
            with QSignalBlocker(self.plot_method_combo):
                self.plot_method_combo.setCurrentText(methods[0])
        fill_table_widget(self.table, self.results)
        self._redraw()
        warnings = study.warnings
        summary = warnings_summary(warnings)
        self.status.setText(f"{len(self.results)} correlations of {len(scores)} score(s) over "
                            f"n = {study.n_samples} samples ({' / '.join(study.on)})."
                            + (f" {summary}" if summary else ""))
        self.status.setToolTip("\n".join(
            ["Scores: " + ", ".join(scores),
             *(_shortened(w, 200) for w in warnings[:MAX_TOOLTIP_WARNINGS])]))
        self.warnings_button.setVisible(bool(warnings))
        if warnings:
            from napari.utils.notifications import show_warning

            show_warning(f"Correlation: {summary} (Details… in the dock)")

    def show_warnings(self) -> QMessageBox:
        """A message box with the last run's warnings, one per line (opened, not waited on)."""
        warnings = self.study.warnings if self.study is not None else []
        box = QMessageBox(QMessageBox.Icon.Information, "Correlation warnings",
                          warnings_summary(warnings) or "No warnings.", parent=self)
        box.setDetailedText("\n".join(warnings))  # Qt shows it in a scrolling text box
        box.setModal(False)
        box.show()
        return box

    # --------------------------------------------------------------- plots
    def _redraw(self, *_):
        if self.results is None:
            return
        self._redraw_scatter()
        from ..analysis.plots import heatmap_figure, time_course_figure

        results, course = self.results, self.course
        method = self.plot_method_combo.currentText()
        self.heatmap_canvas.plot(lambda fig: heatmap_figure(results, method, fig=fig))
        if course is not None and not course.empty:
            self.time_canvas.plot(lambda fig: time_course_figure(course, fig=fig))
        else:
            self.time_canvas.plot(lambda fig: fig.text(
                0.5, 0.5, "no 'day' column: no time course", ha="center"))

    def _redraw_scatter(self, *_):
        if self.results is None or not self.score_combo.currentText():
            return
        from ..analysis.plots import scatter_figure

        joined, results, score = self.joined, self.results, self.score_combo.currentText()
        on, method = self._points_key(), self.plot_method_combo.currentText()
        self.scatter_canvas.plot(lambda fig: scatter_figure(joined, results, score, on=on,
                                                            method=method, fig=fig))

    def wait_for_plots(self) -> None:
        """Let the plots being drawn finish (before reading or saving them)."""
        for canvas in (self.scatter_canvas, self.heatmap_canvas, self.time_canvas):
            canvas.wait()

    def save_plots(self, folder: str | os.PathLike) -> list[Path]:
        """Save the scatter, heatmap and time course shown as PNG and SVG in ``folder``."""
        if self.results is None:
            raise BadInputError("Nothing to save yet: run the correlation first.")
        from ..analysis.plots import save_figure

        folder = Path(folder)
        self.wait_for_plots()
        score = self.score_combo.currentText()
        method = self.plot_method_combo.currentText()
        written = save_figure(self.scatter_canvas.figure, folder / f"scatter_{score}_{method}")
        written += save_figure(self.heatmap_canvas.figure, folder / f"heatmap_{method}")
        if self.course is not None and not self.course.empty:
            written += save_figure(self.time_canvas.figure, folder / "time_course")
        return written

    # ------------------------------------------------------ point -> layer
    def _points_key(self) -> list[str]:
        """The join key the shown results were computed with (the combo may have changed)."""
        return self.study.on if self.study is not None else self.on

    def select_samples(self, keys) -> list:
        """Select and show the image layers (results-table rows) of the samples ``keys``."""
        table = get_results_table(self.viewer, show=False)
        on = self._points_key()
        wanted = {tuple(key_text(v) for v in key) for key in keys}
        layers = [layer for index, record in table.to_dataframe().iterrows()
                  if tuple(key_text(record[c]) for c in on) in wanted
                  and (layer := table.layer_at(index)) is not None and layer in self.viewer.layers]
        if layers:
            select_layers(self.viewer, layers)
        return layers

    def _on_pick(self, event) -> None:
        from ..analysis.plots import picked_samples

        keys = picked_samples(event.artist, event.ind)
        if keys:
            layers = self.select_samples(keys[:1])
            label = " / ".join(map(str, keys[0]))
            self.status.setText(f"Sample {label}: {len(layers)} layer(s) selected.")

    # ------------------------------------------------------------ buttons
    def _browse_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Readouts", "", "Tables (*.csv *.xlsx *.tsv)")
        if path:
            self.load_readouts(path)

    def _save_plots_clicked(self) -> None:
        from napari.utils.notifications import show_info

        folder = QFileDialog.getExistingDirectory(self, "Save plots into")
        if not folder:
            return
        try:
            written = self.save_plots(folder)
        except (OSError, ValueError, MscMorphError) as err:
            self.report_error(err)
            return
        show_info(f"Saved {len(written)} files in {folder}")

    def _export_clicked(self) -> None:
        export_dialog(self, self.results,
                      nothing_yet="Nothing to export yet: run the correlation first.",
                      title="Export correlations", default_name="correlations.csv",
                      write=lambda path: write_table(self.results, path))


def _shortened(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"
