"""The "Compare groups" tab of the Correlation dock.

One :func:`~napari_msc_morph.analysis.compare.compare_groups` call (as ``msc-morph compare``)
on the results table, the cells of measured Labels layers or a file; clicking a strip point
selects its layer (and, in a cell table, the cell's label).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from qtpy.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QTableWidget,
    QTabWidget,
)

from ..analysis.aggregate import parse_columns
from ..analysis.compare import (
    COMPARE_METHODS,
    NO_UNIT,
    GroupComparison,
    compare_groups,
    write_comparison,
)
from ..analysis.compare_plots import box_strip_figure
from ..analysis.score_defaults import default_score_columns
from ..errors import BadInputError, MscMorphError
from ..io import read_table
from ._figure_canvas import BackgroundCanvas
from ._figure_export import enable_export, export_buttons
from ._panel import JobDock, button, hbox
from ._results_values import _is_missing, key_text, select_layers, show_plane
from ._table_view import combo, export_dialog, file_row, fill_table_widget, line_edit, set_items
from .results_table import get_results_table

#: Table sources offered in the "Table" combo (then one entry per measured Labels layer).
RESULTS_SOURCE = "Results table (one row per image, or per plane of a stack)"
CELLS_SOURCE = "Cells of all measured Labels layers"
FILE_SOURCE = "CSV / XLSX file"
LAYER_PREFIX = "Cells of "
NONE = "(none)"
#: Unit combo entries besides the columns: let the engine choose, or test every row.
AUTO_UNIT = "(auto: donor or sample column)"
ROWS_UNIT = "(none: every row is a unit)"
#: Shown columns of the test table (from GroupComparison.long_table()).
_SHOWN = ["section", "test", "group", "group_a", "group_b", "n", "n_a", "n_b", "mean", "median",
          "estimate", "statistic", "p", "p_adjust", "effect", "effect_size", "note"]
#: Preferred defaults for the column combos.
_VALUE_HINTS = ("os_score", "osscore", "score", "area_um2", "area_px", "area")
_GROUP_HINTS = ("day", "condition", "group", "passage")


def _is_measured(layer) -> bool:
    features = getattr(layer, "features", None)
    return (type(layer).__name__ == "Labels" and isinstance(features, pd.DataFrame)
            and not features.empty and "label" in features)


class ComparePanel(JobDock):
    """Compare a value between groups (e.g. OsScore by day, cell area by condition)."""

    job_title = "Compare groups"

    def __init__(self, napari_viewer, parent=None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.result: GroupComparison | None = None
        self.table: pd.DataFrame | None = None  # the table the shown result was computed on
        self._strip = None  # the strip-plot points (PathCollection) of the shown figure
        self._listed_table: pd.DataFrame | None = None  # the table whose columns are listed

        self.source_combo = _RefreshingCombo(self.refresh, self)
        self.source_combo.currentIndexChanged.connect(self._source_changed)
        # long entries ("Results table (one row per image, …)") must not widen the
        # Correlation dock on a laptop: the box takes the row's width, its list shows them whole
        self.source_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.source_combo.setMinimumContentsLength(16)
        source_row = hbox((self.source_combo, 1), button(
            self, "↻", "Re-read the tables and their columns (after Predict or Measure).",
            self.refresh))
        self.path_edit = line_edit(self, "table file (CSV or XLSX)",
                                   "A CSV or XLSX table with one row per image, cell or sample.")
        self.path_edit.editingFinished.connect(self._fill_columns)
        path_row = file_row(self.path_edit, self._browse_clicked, self)
        self.source_combo.setToolTip(
            "Which table to test: the Results table (one row per image, or per plane of a "
            "stack, with its day), the cells of measured Labels layers, or a file.")
        self.value_combo = combo(
            self, editable=True,
            tip="The number compared between groups, e.g. os_score or area_um2_median. Scores and "
            "measurement summaries are listed first; bookkeeping columns (pixel size, tile "
            "counts, coordinates) last.")
        self.by_combo = combo(self, editable=True,
                              tip="The column whose values are the groups, e.g. day or condition.")
        self.paired_combo = combo(
            self, editable=True,
            tip="The subject measured in every group (e.g. donor): repeated-measures tests "
            "(Friedman / Wilcoxon, Page's trend test).")
        self.unit_combo = combo(
            self, editable=True,
            tip="The experimental unit (donor, sample, well): its rows are averaged to one value "
            "before testing, and n counts units (Method mixed: a random intercept per unit). "
            "Auto takes a donor or sample column whose values each lie in one group.")
        self.control_combo = combo(
            self, tip="Compare every group with this one (e.g. passage P10): Dunnett's test after the "
            "ANOVA, Holm over the k - 1 pairs otherwise.")
        self.by_combo.currentTextChanged.connect(self._fill_controls)
        self.method_combo = combo(
            self, COMPARE_METHODS.names(), registry=COMPARE_METHODS,
            tip="auto picks the test from the data (Welch's ANOVA when every group has 3 or more "
            "units, else ranks); welch/anova compare means, kruskal ranks, friedman repeated "
            "measures, mixed every row with a random effect per unit. Hover an entry for more.")
        self.order_edit = line_edit(
            self, "group order, e.g. control,induced (optional)", "The groups in their order, "
            "separated by commas: the trend test and the plot follow it. Numbers (days) sort "
            "themselves.")
        self.where_edit = line_edit(
            self, "only rows where, e.g. condition=induced (optional)", "Keep only the rows "
            "matching COLUMN=VALUE (several: separate with commas), e.g. condition=induced.")

        form = QFormLayout()
        form.addRow("Table", source_row)
        form.addRow("File", path_row)
        form.addRow("Value", self.value_combo)
        form.addRow("Groups (by)", self.by_combo)
        form.addRow("Paired by", self.paired_combo)
        form.addRow("Unit", self.unit_combo)
        form.addRow("Control", self.control_combo)
        form.addRow("Order", self.order_edit)
        form.addRow("Only rows", self.where_edit)
        form.addRow("Method", self.method_combo)
        layout = self.build_run_panel(form, "Compare")

        self.canvas = enable_export(
            BackgroundCanvas(Figure(figsize=(5, 4), layout="constrained"), layout="constrained"),
            "compare_groups")
        self.canvas.setMinimumHeight(260)
        self.canvas.mpl_connect("pick_event", self._on_pick)
        self.tests = QTableWidget(0, 0, self)
        self.views = QTabWidget(self)
        self.views.addTab(self.canvas, "Box + strip")
        self.views.addTab(self.tests, "Tests")
        layout.addWidget(self.views, 1)
        exports = export_buttons(self.canvas, "compare_groups", self)
        exports.addWidget(button(self, "Export tests…", "Save the test table (statistics, "
                                 "p-values, effect sizes) as CSV or XLSX.", self._export_clicked))
        layout.addLayout(exports)
        self.status.setText("Compare a value between groups: e.g. os_score by day, "
                            "area by condition.")
        self.refresh()

    # -------------------------------------------------------------- tables
    def refresh(self, *_) -> None:
        """Re-list the sources (measured Labels layers change) and the columns."""
        names = [RESULTS_SOURCE, CELLS_SOURCE]
        names += [LAYER_PREFIX + layer.name for layer in self.viewer.layers if _is_measured(layer)]
        names.append(FILE_SOURCE)
        set_items(self.source_combo, names, (RESULTS_SOURCE.lower(),))
        self._source_changed()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """Re-list the tables (Predict/Measure may have run)."""
        super().showEvent(event)
        if not self.busy:
            self.refresh()

    def set_source(self, name: str) -> None:
        """Choose a table source by its combo text."""
        if self.source_combo.findText(name) < 0:
            self.refresh()
        self.source_combo.setCurrentText(name)
        self._source_changed()

    def _source_changed(self, *_) -> None:
        self.path_edit.setEnabled(self.source_combo.currentText() == FILE_SOURCE)
        self._fill_columns()

    def _fill_columns(self, *_) -> None:
        try:
            table = self.current_table()
        except (OSError, ValueError, MscMorphError):
            table = pd.DataFrame()
        numeric = [c for c in table.columns
                   if pd.to_numeric(table[c], errors="coerce").notna().any()
                   and c not in ("label", "index")]
        groups = [c for c in table.columns if c not in ("label", "index")
                  and 1 < table[c].nunique() < max(2, len(table))]
        # a value column is a measured number, rarely a day/passage: the default scores
        # (task scores, measurement summaries) first, then others, bookkeeping and days last
        preferred = set(default_score_columns(table[numeric])) if numeric else set()
        numeric.sort(key=lambda c: (c not in preferred, str(c).lower() in _GROUP_HINTS))
        set_items(self.value_combo, numeric, _VALUE_HINTS)
        set_items(self.by_combo, groups, _GROUP_HINTS)
        set_items(self.paired_combo, [NONE, *groups], (NONE,))
        set_items(self.unit_combo, [AUTO_UNIT, ROWS_UNIT, *groups], (AUTO_UNIT.lower(),))
        self._listed_table = table
        self._fill_controls()

    def _fill_controls(self, *_) -> None:
        """The Control combo lists the groups of the chosen Groups (by) column."""
        table = self._listed_table
        by = self.by_combo.currentText()
        values = []
        if table is not None and by in table.columns:
            values = sorted({key_text(v) for v in table[by].dropna()}, key=_group_sort_key)
        set_items(self.control_combo, [NONE, *values], (NONE,))

    def current_table(self) -> pd.DataFrame:
        """The chosen table as a DataFrame (read now: the tables change)."""
        source = self.source_combo.currentText()
        if source == RESULTS_SOURCE:
            return get_results_table(self.viewer, show=False).to_dataframe()
        if source == FILE_SOURCE:
            path = self.path_edit.text().strip()
            if not path:
                raise BadInputError("Choose a table file (CSV or XLSX) first.")
            return read_table(path)
        if source == CELLS_SOURCE:
            layers = [layer for layer in self.viewer.layers if _is_measured(layer)]
            if not layers:
                raise BadInputError("No measured Labels layer: run Measure cells first.")
            return self.cells_table(layers)
        name = source[len(LAYER_PREFIX):]
        if name not in self.viewer.layers or not _is_measured(self.viewer.layers[name]):
            raise BadInputError(f"Labels layer {name!r} is gone or not measured; press ↻.")
        return self.cells_table([self.viewer.layers[name]])

    def _with_metadata(self, rows: pd.DataFrame, layer) -> pd.DataFrame:
        """``rows`` plus the layer's scalar metadata and its results-table metadata."""
        results = get_results_table(self.viewer, show=False)
        index = results.row_index(layer)
        meta = {} if index is None else dict(results.to_dataframe().iloc[index])
        meta.update({k: v for k, v in layer.metadata.items() if isinstance(v, (str, int, float))})
        for column, value in meta.items():
            if column not in rows and column != "layer" and not _is_missing(value):
                rows[column] = value
        return rows

    def cells_table(self, layers) -> pd.DataFrame:
        """The per-cell tables of ``layers`` stacked, with a ``layer`` column and each
        layer's metadata (condition, day…)."""
        parts = []
        for layer in layers:
            cells = layer.features.drop(columns=["index"], errors="ignore").copy()
            cells.insert(0, "layer", layer.name)
            parts.append(self._with_metadata(cells, layer))
        return pd.concat(parts, ignore_index=True, sort=False)

    def _input_state(self, table: pd.DataFrame | None = None) -> dict:
        if table is None:
            table = self.current_table()
        if table.empty:
            raise BadInputError("The chosen table is empty: run Predict or Measure cells first.")
        value, by = self.value_combo.currentText().strip(), self.by_combo.currentText().strip()
        if not value or not by:
            raise BadInputError("Choose a value column and a group column first.")
        paired = self.paired_combo.currentText().strip()
        unit = self.unit_combo.currentText().strip()
        control = self.control_combo.currentText().strip()
        table = rows_where(table, self.where_edit.text())
        return {"table": table, "value": value, "by": by,
                "paired_by": None if paired in ("", NONE) else paired,
                "order": parse_columns(self.order_edit.text()) or None,
                "method": self.method_combo.currentText(),
                "unit": {"": None, AUTO_UNIT: None, ROWS_UNIT: NO_UNIT}.get(unit, unit),
                "control": None if control in ("", NONE) else control}

    # ------------------------------------------------------------- running
    def compute(self, table: pd.DataFrame | None = None) -> GroupComparison:
        """Compare now (on the calling thread), then show; return the result."""
        state = self._input_state(table)
        self._show(compare_groups(**state), state["table"])
        return self.result

    def run(self) -> None:
        """The Compare button: one :func:`compare_groups` call in a thread worker."""
        try:
            state = self._input_state()
        except (OSError, ValueError, MscMorphError) as err:
            self.report_error(err)
            return
        return self.start_job(
            lambda progress, cancel: compare_groups(**state, progress=progress, cancel=cancel),
            lambda result: self._show(result, state["table"]), status="Comparing…")

    def _show(self, result: GroupComparison, table: pd.DataFrame) -> None:
        self.result, self.table = result, table
        frame = result.long_table()
        fill_table_widget(self.tests, frame[[c for c in _SHOWN if c in frame.columns]])
        self._strip = None
        self.canvas.plot(lambda fig: _strip_points(box_strip_figure(result, fig=fig), result),
                         lambda fig, strip: setattr(self, "_strip", strip))
        omnibus = result.omnibus.iloc[0]
        text = (f"{result.value} by {result.by}: {omnibus['test']} p = {_p(omnibus['p'])}, "
                f"{omnibus['effect']} = {omnibus['effect_size']:.3f} "
                f"({result.n_text(omnibus['n'])}, {len(result.groups)} groups)")
        if not result.trend.empty:
            trend = result.trend.iloc[0]
            text += f"; trend {trend['test']} p = {_p(trend['p'])}"
        if result.warnings:
            text += ". Warning: " + "; ".join(w.rstrip(".") for w in result.warnings)
        self.status.setText(text + ".")

    # ------------------------------------------------------ point -> layer
    def select_point(self, point: int) -> None:
        """Select the layer of strip point ``point`` (its table row)."""
        row = self.table.iloc[int(self.result.data.index[point])]
        name = row.get("layer")
        if name is None or name not in self.viewer.layers:
            return
        layer = self.viewer.layers[name]
        select_layers(self.viewer, [layer])
        show_plane(self.viewer, layer, row.get("plane"))  # a stack's row: show its plane
        label = row.get("label")
        if type(layer).__name__ == "Labels" and label is not None and np.isfinite(label):
            layer.selected_label = int(label)
        what = f"“{name}”" + (f", cell {int(label)}" if label is not None
                              and type(layer).__name__ == "Labels" else "")
        self.status.setText(f"{what}: {self.result.value} = {row.get(self.result.value)}.")

    def _on_pick(self, event) -> None:
        if event.artist is not self._strip or not len(event.ind):
            return
        indices = np.asarray(event.ind)  # overlapping points: the one nearest the click
        xy = self._strip.get_offset_transform().transform(self._strip.get_offsets()[indices])
        mouse = np.array([event.mouseevent.x, event.mouseevent.y])
        self.select_point(int(indices[np.argmin(((xy - mouse) ** 2).sum(axis=1))]))

    # ------------------------------------------------------------ buttons
    def _browse_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Table", "", "Tables (*.csv *.xlsx *.tsv)")
        if path:
            self.path_edit.setText(os.fspath(path))
            self.set_source(FILE_SOURCE)

    def _export_clicked(self) -> None:
        export_dialog(self, self.result, nothing_yet="Nothing to export yet: press Compare first.",
                      title="Export group comparison", default_name="compare.csv",
                      write=lambda path: write_comparison(self.result, path))


class _RefreshingCombo(QComboBox):
    """A combo box that calls ``before_popup()`` each time it opens."""

    def __init__(self, before_popup, parent=None):
        super().__init__(parent)
        self._before_popup = before_popup

    def showPopup(self) -> None:  # noqa: N802 (Qt's name)
        self._before_popup()
        super().showPopup()


def rows_where(table: pd.DataFrame, where: str) -> pd.DataFrame:
    """The rows of ``table`` matching every ``COLUMN=VALUE`` of ``where`` (comma-separated;
    compared as :func:`~._results_values.key_text`)."""
    keep = pd.Series(True, index=table.index)
    for part in filter(None, (p.strip() for p in where.split(","))):
        column, sep, value = (x.strip() for x in part.partition("="))
        if not sep or not column:
            raise BadInputError(f"Only rows {part!r}: write COLUMN=VALUE, e.g. condition=induced.")
        if column not in table.columns:
            raise BadInputError(f"Only rows: column {column!r} is not in the table; its columns "
                                f"are: {', '.join(map(str, table.columns))}.")
        keep &= table[column].map(key_text) == key_text(value)
    if not keep.any():
        raise BadInputError(f"Only rows {where.strip()!r} matches no row; check the value.")
    return table[keep]


def _group_sort_key(text: str):
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)


def _p(p) -> str:
    return f"{p:.3g}" if isinstance(p, (float, int)) and np.isfinite(p) else "n/a"


def _strip_points(fig, result: GroupComparison):
    """The strip plot's points (one per compared row), made pickable; None if not found."""
    for collection in fig.axes[0].collections:
        if len(collection.get_offsets()) == len(result.data):
            collection.set_picker(5)
            return collection
    return None
