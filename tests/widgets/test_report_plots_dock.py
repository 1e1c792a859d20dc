"""Training report figures (ROC per day, reliability) shown in a dock, and exportable."""

from __future__ import annotations

import json
from types import SimpleNamespace

import matplotlib.image as mpimg
import numpy as np
import pytest
from sklearn.metrics import roc_curve

from napari_msc_morph.errors import BadInputError
from napari_msc_morph.training.crossval import CrossValidation
from napari_msc_morph.training.metrics import reliability_table
from napari_msc_morph.training.plots import plot_reliability_before_after, plot_roc, save_figure
from napari_msc_morph.widgets._figure_export import export_figure
from napari_msc_morph.widgets.report_plots import ReportPlots, report_pngs
from napari_msc_morph.widgets.train_widget import TrainWidget


def _write_report(folder):
    """A report folder as ``write_report`` leaves it: metrics.json, roc.png, reliability.png."""
    rng = np.random.default_rng(0)
    y = np.tile([0, 1], 20)
    p = np.clip(0.5 * y + rng.uniform(0, 0.5, len(y)), 0, 1)
    curves = {"all (AUC 0.9)": roc_curve(y, p)[:2], "day 0 (AUC 0.8)": roc_curve(y[:20], p[:20])[:2]}
    folder.mkdir()
    save_figure(plot_roc(curves, "ROC"), folder / "roc.png")
    save_figure(plot_reliability_before_after(None, reliability_table(y, np.c_[1 - p, p]),
                                              ece_after=0.07), folder / "reliability.png")
    (folder / "metrics.json").write_text(json.dumps({"accuracy": 0.8, "auc": 0.9, "ece": 0.07,
                                                     "auc_day_0": 0.8, "n_images": 40}))
    return folder


def test_train_dock_shows_the_report_plots_in_a_dock(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    report = _write_report(tmp_path / "report")
    widget = TrainWidget(viewer)
    assert not widget.report_button.isEnabled()  # nothing trained yet
    assert widget.show_report_plots() is None
    widget.result = SimpleNamespace(report_files={"metrics": report / "metrics.json"})
    dock = widget.show_report_plots()
    assert isinstance(dock, ReportPlots) and dock in viewer.window.dock_widgets.values()
    assert [dock.tabs.tabText(i) for i in range(dock.tabs.count())] == ["ROC",
                                                                      "Reliability"]
    assert "auc 0.9" in dock.summary.text() and "day 0 0.800" in dock.summary.text()
    # the shown figure is the report's image, and it exports like every plugin canvas
    assert all(canvas.wait() for canvas in dock.canvases.values())  # read off the GUI thread
    image = dock.canvases["roc"].figure.axes[0].images[0].get_array()
    np.testing.assert_array_equal(image, mpimg.imread(report / "roc.png"))
    svg = export_figure(dock.canvases["reliability"].figure, tmp_path / "out" / "rel.svg")
    assert b"<svg" in svg.read_bytes()[:2000]
    assert widget.show_report_plots() is dock  # reused, not a second dock
    # after cross-validation: the best fold's report
    fold2 = _write_report(tmp_path / "fold2")
    (fold2 / "roc.png").unlink()
    first = SimpleNamespace(report_files={"metrics": report / "metrics.json"})
    best = SimpleNamespace(report_files={"metrics": fold2 / "metrics.json"})
    widget.result = CrossValidation(folds=None, summary=None, best_fold=2, monitor="val_loss",
                                    best_value=0.1, bundle_path=tmp_path, results=[first, best])
    assert widget.show_report_plots().folder == fold2
    assert dock.tabs.count() == 1 and dock.tabs.tabText(0) == "Reliability"
    assert "PNG or SVG" in widget.canvas.toolTip()  # the live curves export too


def test_a_folder_without_plots_is_a_clear_error(tmp_path):
    with pytest.raises(BadInputError, match="No report plots"):
        report_pngs(tmp_path)
    with pytest.raises(BadInputError, match="does not exist"):
        report_pngs(tmp_path / "missing")
