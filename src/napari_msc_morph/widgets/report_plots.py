"""A dock showing every PNG of a training/evaluation report folder (ROC per day,
reliability, confusion, learning curves), one tab each, under the headline metrics."""

from __future__ import annotations

import json
import os
from pathlib import Path

from qtpy.QtWidgets import (
    QFileDialog,
    QLabel,
    QSizePolicy,
    QTabWidget,
    QVBoxLayout,
)

from ..errors import BadInputError
from ._figure_canvas import BackgroundCanvas
from ._figure_export import enable_export
from ._panel import DockWidget, button, hbox

#: The shortest a plot may be squeezed (px): small enough for four docks on a laptop.
MIN_PLOT_HEIGHT = 160

#: Tab order and titles of the report figures (others follow, titled by file name).
KNOWN_PLOTS = {"roc": "ROC", "reliability": "Reliability", "confusion_matrix": "Confusion",
               "learning_curves": "Learning curves"}
_METRICS = ("accuracy", "auc", "within3_accuracy", "ece", "n_images")


def report_pngs(folder: str | os.PathLike) -> list[Path]:
    """The report's PNG figures in ``folder``: known ones first, in :data:`KNOWN_PLOTS` order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BadInputError(f"Report folder {folder} does not exist; choose the folder that "
                            "holds metrics.json (the training output's report folder).")
    pngs = sorted(folder.glob("*.png"))
    if not pngs:
        raise BadInputError(f"No report plots (*.png) in {folder}; choose the folder that holds "
                            "metrics.json and roc.png / reliability.png.")
    known = list(KNOWN_PLOTS)
    return sorted(pngs, key=lambda p: (known.index(p.stem) if p.stem in known else len(known),
                                       p.name))


class ReportPlots(DockWidget):
    """Tabs of a report folder's figures; they never ask for more than a dock's room
    (a 1280x800 laptop lost its status bar below the screen)."""

    def __init__(self, napari_viewer=None, parent=None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.folder: Path | None = None
        self.canvases: dict[str, BackgroundCanvas] = {}
        self.summary = QLabel("Open a training or evaluation report folder.", self)
        self.summary.setWordWrap(True)
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        browse = button(self, "Open report folder…", "Show the plots of another training or "
                        "evaluation report (the folder holding metrics.json).", self._browse_clicked)
        self.tabs = QTabWidget(self)
        layout = QVBoxLayout(self)
        layout.addLayout(hbox((self.summary, 1), browse))
        layout.addWidget(self.tabs, 1)

    def load_folder(self, folder: str | os.PathLike) -> list[str]:
        """Show every report PNG of ``folder``; return the tab titles."""
        pngs = report_pngs(folder)
        self.tabs.clear()
        self.canvases.clear()
        for png in pngs:
            title = KNOWN_PLOTS.get(png.stem, png.stem.replace("_", " "))
            canvas = png_canvas(png, MIN_PLOT_HEIGHT)
            canvas.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
            self.canvases[png.stem] = canvas
            self.tabs.addTab(canvas, title)
        self.folder = Path(folder)
        self.summary.setText(f"{self.folder}: {_metrics_line(self.folder / 'metrics.json')}")
        return [self.tabs.tabText(i) for i in range(self.tabs.count())]

    def _browse_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Report folder")
        if folder:
            try:
                self.load_folder(folder)
            except BadInputError as err:
                self.summary.setText(str(err))


def _metrics_line(path: Path) -> str:
    try:
        metrics = json.loads(path.read_text())
    except (OSError, ValueError):
        return "no metrics.json"
    parts = [f"{k} {metrics[k]:.3g}" for k in _METRICS if isinstance(metrics.get(k), (int, float))]
    days = [f"day {k[len('auc_day_'):]} {v:.3f}" for k, v in metrics.items()
            if k.startswith("auc_day_") and isinstance(v, (int, float))]
    if days:
        parts.append("AUC per day: " + ", ".join(days))
    return "; ".join(parts) or "no headline metrics"


def show_report_plots(viewer, folder: str | os.PathLike) -> ReportPlots:
    """Dock (or reuse) a :class:`ReportPlots` in ``viewer``'s window showing ``folder``."""
    window = viewer.window
    widget = next((w for w in list(getattr(window, "dock_widgets", {}).values())
                   if isinstance(w, ReportPlots)), None)
    if widget is None:
        widget = ReportPlots(viewer)
        window.add_dock_widget(widget, name="Report plots", area="right", tabify=True)
    widget.load_folder(folder)
    return widget


def png_canvas(png: Path, min_height: int) -> BackgroundCanvas:
    """A canvas showing the image ``png`` (read and drawn off-thread); right-click saves it."""
    import matplotlib.image as mpimg

    def show(fig) -> None:
        ax = fig.add_axes((0, 0, 1, 1))
        ax.imshow(mpimg.imread(png))
        ax.set_axis_off()

    canvas = enable_export(BackgroundCanvas(), png.stem)
    canvas.setMinimumHeight(min_height)
    canvas.plot(show)
    return canvas
