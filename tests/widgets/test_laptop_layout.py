"""Issue 24.6/24.5: four docks open in a 1280x800 window: nothing grows, clips or goes unexplained.

Every dock of the plugin is checked in a four-dock arrangement (the ones
docs/screenshots/laptop_layout.py photographs): Predict, Correlation, Results and
report plots; Segment, Fix labels, Measure and Results; Study, Train, Correlation's
Compare groups and Results.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from qtpy.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QDockWidget,
    QLineEdit,
    QListWidget,
    QScrollArea,
    QTabBar,
    QWidget,
)

from napari_msc_morph.analysis import correlate_study
from napari_msc_morph.widgets._panel import MAX_DOCK_HEIGHT, MAX_DOCK_WIDTH
from napari_msc_morph.widgets.correlation_widget import CorrelationWidget
from napari_msc_morph.widgets.predict_widget import PredictWidget
from napari_msc_morph.widgets.report_plots import ReportPlots, show_report_plots
from napari_msc_morph.widgets.results_table import get_results_table

LAPTOP = (1280, 800)
INPUTS = (QAbstractButton, QComboBox, QLineEdit, QAbstractSpinBox, QListWidget)


def _report_folder(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = tmp_path / "report"
    folder.mkdir(parents=True)
    for name in ("roc", "reliability", "confusion_matrix", "learning_curves"):
        fig, ax = plt.subplots(figsize=(9, 9), dpi=100)  # larger than the dock on purpose
        ax.plot([0, 1], [0, 1])
        fig.savefig(folder / f"{name}.png")
        plt.close(fig)
    (folder / "metrics.json").write_text('{"accuracy": 0.8, "auc": 0.9}')
    return folder


def _correlation_with_many_warnings(viewer):
    """A Correlation dock showing a study with 240 long warnings (the issue's 200,000 chars)."""
    rng = np.random.default_rng(0)
    table = get_results_table(viewer, show=False)
    rows = []
    for i in range(6):
        layer = viewer.add_image(np.zeros((8, 8), np.uint8), name=f"s{i}")
        table.update_layer_row(layer, {"os_score": i / 5 + rng.normal(0, 0.05),
                                       "sample_id": f"s{i}"})
        rows.append({"sample_id": f"s{i}", "RUNX2_qPCR": i + rng.normal(0, 0.3)})
    import pandas as pd

    widget = CorrelationWidget(viewer)
    study = correlate_study(table.to_dataframe(), pd.DataFrame(rows), method="pearson",
                            n_boot=0)
    warnings = [f"score column_{k} x marker M{k}: " + "a long explanation " * 40
                for k in range(240)]
    widget._show(dataclasses.replace(study, warnings=warnings))
    return widget, sum(map(len, warnings))


def _inputs_without_tooltip(widget) -> list[str]:
    missing = []
    for child in widget.findChildren(QWidget):
        if not isinstance(child, INPUTS) or child.toolTip().strip():
            continue
        parent = child.parentWidget()
        # the line edit inside a combo or spin box, and Qt's own tab-scroll/close buttons
        # (and a table's corner button)
        if isinstance(parent, (QComboBox, QAbstractSpinBox, QTabBar, QAbstractItemView)):
            continue
        if type(child).__module__.startswith(("napari", "matplotlib", "vispy")):
            continue
        missing.append(f"{type(widget).__name__}: {type(child).__name__} "
                       f"{getattr(child, 'text', lambda: '')()!r}")
    return missing


def _clipped_buttons(widget) -> list[str]:
    clipped = []
    for button in widget.findChildren(QAbstractButton):
        if not button.isVisible() or isinstance(button.parentWidget(), QTabBar):
            continue
        if button.sizeHint().width() > button.width():
            clipped.append(f"{type(widget).__name__}: {button.text()!r} "
                           f"{button.width()} < {button.sizeHint().width()} px")
    return clipped


@pytest.fixture
def laptop_viewer(make_napari_viewer, qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_MSC_MORPH_CONFIG_DIR", str(tmp_path / "config"))
    viewer = make_napari_viewer(show=True)
    window = viewer.window._qt_window
    window.showNormal()
    window.resize(*LAPTOP)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == LAPTOP, timeout=3000)
    return viewer


def test_four_docks_fit_a_1280x800_window(laptop_viewer, qtbot, tmp_path):
    viewer = laptop_viewer
    window = viewer.window._qt_window
    _, predict = viewer.window.add_plugin_dock_widget("napari-msc-morph", "Predict")
    # a recently used bundle with a long path (the combo box lists them)
    predict.bundle_combo.addItem("/home/someone/projects/napari-msc-morph/msc-demo/models/"
                                 "osteogenic-resnet10t-96px-2026-12-01/osteo-model.zip")
    correlation, n_chars = _correlation_with_many_warnings(viewer)
    assert n_chars > 100_000
    viewer.window.add_dock_widget(correlation, name="Correlation", area="right", tabify=True)
    results = get_results_table(viewer)  # docked by the plugin itself
    plots = show_report_plots(viewer, _report_folder(tmp_path))
    docks = (predict, correlation, results, plots)
    qtbot.wait(300)
    assert (window.width(), window.height()) == LAPTOP  # nothing grew napari's window
    # the docks leave the canvas room (it shrank to ~300 px between wide docks)
    assert all(w.sizeHint().width() <= MAX_DOCK_WIDTH for w in docks)
    assert viewer.window._qt_viewer.canvas.native.width() >= 420

    # the correlation's warnings: one line and a Details… button, the dock stays small
    assert correlation.sizeHint().height() <= MAX_DOCK_HEIGHT
    assert len(correlation.status.text()) < 400
    assert correlation.status.sizeHint().height() < 100
    assert correlation.scroll.widget().sizeHint().height() < 2000
    assert correlation.warnings_button.isVisibleTo(correlation)

    problems = [p for widget in docks for p in _dock_problems(window, widget, qtbot)]
    assert not problems, "\n".join(problems)
    _assert_tab_titles_whole(window)
    assert (window.width(), window.height()) == LAPTOP


def _assert_tab_titles_whole(window) -> None:
    """Tabs of tabified docks show their whole title (no "R…")."""
    titles = []
    for bar in window.findChildren(QTabBar):
        if not bar.isVisible() or bar.parentWidget() is not window:
            continue
        for i in range(bar.count()):
            text = bar.tabText(i)
            titles.append(text)
            assert bar.tabRect(i).width() >= bar.fontMetrics().horizontalAdvance(text), text
    assert len(titles) >= 2, titles  # the plugin's docks share the right area as tabs


def _dock_problems(window, widget, qtbot) -> list[str]:
    """Bring ``widget``'s dock to the front; its clipped buttons, sideways scrolling, tooltips."""
    dock = next(d for d in window.findChildren(QDockWidget)
                if d.widget() is widget or d.widget().isAncestorOf(widget))
    dock.raise_()
    qtbot.wait(100)
    problems = _clipped_buttons(widget)
    scroll = getattr(widget, "scroll", None)
    if isinstance(scroll, QScrollArea) and scroll.horizontalScrollBar().maximum() > 0:
        problems.append(f"{type(widget).__name__}: the form is wider than the dock "
                        f"(scrolls {scroll.horizontalScrollBar().maximum()} px sideways)")
    return problems + _inputs_without_tooltip(widget)


def _if_field_layers(viewer):
    """A small IF field (DAPI, actin, RUNX2) with its nuclei, as after File > Open."""
    from napari_msc_morph.synthetic import if_field

    field = if_field(size=(160, 160), n_cells=6, seed=3)
    scale = (field.pixel_size_um,) * 2
    for name in ("DAPI", "actin", "RUNX2"):
        viewer.add_image(field.channels[name], name=name, scale=scale)
    viewer.add_labels(field.nuclei, name="nuclei", scale=scale)


#: The other four-dock arrangements: every dock of the manifest is in one of them.
ARRANGEMENTS = {
    "image": ("Segment cells", "Fix labels", "Measure cells", "Results table"),
    "study": ("Study", "Train model", "Correlation with readouts", "Results table"),
}


@pytest.mark.parametrize("arrangement", list(ARRANGEMENTS))
def test_every_dock_fits_a_1280x800_window_with_three_others(laptop_viewer, qtbot,
                                                              arrangement):
    viewer = laptop_viewer
    window = viewer.window._qt_window
    _if_field_layers(viewer)
    widgets = []
    for name in ARRANGEMENTS[arrangement]:
        _, widget = viewer.window.add_plugin_dock_widget("napari-msc-morph", name,
                                                         tabify=True)
        widgets.append(widget)
    if arrangement == "study":
        widgets[2].tabs.setCurrentWidget(widgets[2].compare_panel)
        widgets.append(widgets[2].compare_panel)
    qtbot.wait(300)
    assert (window.width(), window.height()) == LAPTOP
    assert all(w.sizeHint().width() <= MAX_DOCK_WIDTH for w in widgets)
    assert viewer.window._qt_viewer.canvas.native.width() >= 420
    problems = [p for widget in widgets for p in _dock_problems(window, widget, qtbot)]
    assert not problems, "\n".join(problems)
    _assert_tab_titles_whole(window)
    assert (window.width(), window.height()) == LAPTOP


def test_the_manifest_docks_are_all_in_an_arrangement():
    import yaml

    from napari_msc_morph import __file__ as package

    manifest = yaml.safe_load(open(package.replace("__init__.py", "napari.yaml")))
    docks = {w["display_name"] for w in manifest["contributions"]["widgets"]}
    covered = {"Predict", "Correlation with readouts", "Results table"}
    covered |= {name for names in ARRANGEMENTS.values() for name in names}
    assert docks <= covered, docks - covered


def test_report_plots_never_grow_the_window(laptop_viewer, qtbot, tmp_path):
    viewer = laptop_viewer
    window = viewer.window._qt_window
    viewer.window.add_plugin_dock_widget("napari-msc-morph", "Predict")
    qtbot.wait(100)
    widget = show_report_plots(viewer, _report_folder(tmp_path))
    qtbot.wait(300)
    assert isinstance(widget, ReportPlots)
    assert widget.sizeHint().height() <= MAX_DOCK_HEIGHT
    assert (window.width(), window.height()) == LAPTOP
    assert show_report_plots(viewer, _report_folder(tmp_path / "again")) is widget  # reused
    qtbot.wait(100)
    assert (window.width(), window.height()) == LAPTOP


def test_predict_layer_list_follows_removals_once_per_turn(make_napari_viewer, qtbot,
                                                          monkeypatch):
    calls = []
    original = PredictWidget._refresh_layers
    monkeypatch.setattr(PredictWidget, "_refresh_layers",
                        lambda self, *a: (calls.append(1), original(self, *a)))
    viewer = make_napari_viewer()
    widget = PredictWidget(viewer)
    layers = [viewer.add_image(np.zeros((8, 8), np.uint8), name=f"f{i}") for i in range(6)]
    assert widget.layer_list.count() == 6
    qtbot.wait(50)
    calls.clear()
    viewer.layers.select_all()
    viewer.layers.remove_selected()
    assert len(layers) == 6 and len(viewer.layers) == 0
    qtbot.wait(50)
    assert len(calls) == 1  # one rebuild for six removals, not six
    assert widget.layer_list.count() == 0
