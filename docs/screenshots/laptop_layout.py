"""Screenshots for docs/widgets/laptop.md: four docks open in a 1280x800 window.

    xvfb-run -a python docs/screenshots/laptop_layout.py

The window stays 1280 x 800 (a laptop screen) with Predict, Correlation, the Results
table and the report plots open on the right, tabified as napari does; one screenshot
per dock brought to the front (docs/images/laptop_<dock>.png). The Correlation dock
shows a study whose warnings would fill pages: one line and a Details… button.
The script checks what the pictures show: the window kept its size and no button is
narrower than its text.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import napari
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _common import IMAGES, save_screenshot, settle  # noqa: E402
from qtpy.QtWidgets import QAbstractButton, QApplication, QDockWidget  # noqa: E402

from napari_msc_morph.widgets.correlation_widget import CorrelationWidget  # noqa: E402
from napari_msc_morph.widgets.report_plots import show_report_plots  # noqa: E402
from napari_msc_morph.widgets.results_table import get_results_table  # noqa: E402

LAPTOP = (1280, 800)
PLUGIN = "napari-msc-morph"


def fill_results(viewer) -> pd.DataFrame:
    """Eight samples with an OsScore rising with day, and their RUNX2/OCN readouts."""
    rng = np.random.default_rng(0)
    table = get_results_table(viewer)  # docked: an undocked table is only weakly held
    readouts = []
    for donor in ("D1", "D2"):
        for day in (0, 7, 14, 21):
            sample = f"{donor}_d{day}"
            image = rng.normal(120, 20, (256, 256)).clip(0, 255).astype(np.uint8)
            layer = viewer.add_image(image, name=sample, scale=(0.65, 0.65))
            score = day / 21 + rng.normal(0, 0.05)
            table.update_layer_row(layer, {
                "os_score": score, "area_um2_median": 1500 + 800 * score + rng.normal(0, 40),
                "pixel_size_um": 0.65, "n_tiles": 4, "sample_id": sample, "donor": donor,
                "day": day})
            readouts.append({"sample_id": sample, "RUNX2_qPCR": 3 * score + rng.normal(0, .3),
                             "OCN_western": 2 * score + rng.normal(0, .3)})
    return pd.DataFrame(readouts)


def report_folder(root: Path) -> Path:
    """The documented training run's report figures (docs/images) as a report folder."""
    import shutil

    report = root / "report"
    report.mkdir()
    shutil.copy(IMAGES / "training_osteo_roc.png", report / "roc.png")
    shutil.copy(IMAGES / "training_osteo_reliability.png", report / "reliability.png")
    (report / "metrics.json").write_text('{"accuracy": 0.79, "auc": 0.94, "n_images": 24}')
    return report


def main() -> None:
    import os

    # the user's recently used bundles stay out of the pictures
    os.environ["NAPARI_MSC_MORPH_CONFIG_DIR"] = tempfile.mkdtemp(prefix="msc-morph-config-")
    viewer = napari.Viewer(show=True)
    window = viewer.window._qt_window
    window.resize(*LAPTOP)
    readouts = fill_results(viewer)
    _, predict = viewer.window.add_plugin_dock_widget(PLUGIN, "Predict", tabify=True)
    correlation = CorrelationWidget(viewer)
    viewer.window.add_dock_widget(correlation, name="Correlation", area="right", tabify=True)
    correlation.load_readouts(readouts)
    correlation.compute()
    study = correlation.study
    many = [f"{m}: only a few samples had this readout, its r is uncertain" for m in range(60)]
    correlation._show(type(study)(**{**vars(study), "warnings": many}))
    results = get_results_table(viewer)
    with tempfile.TemporaryDirectory(prefix="msc-morph-laptop-") as folder:
        plots = show_report_plots(viewer, report_folder(Path(folder)))
        plots.summary.setText(plots.summary.text().replace(folder, "…"))
        settle(viewer)
        written = []
        for name, widget in (("predict", predict), ("correlation", correlation),
                             ("results", results), ("report_plots", plots)):
            dock = next(d for d in window.findChildren(QDockWidget)
                        if d.widget() is widget or d.widget().isAncestorOf(widget))
            dock.raise_()
            for _ in range(5):
                QApplication.processEvents()
            clipped = [b.text() for b in widget.findChildren(QAbstractButton)
                       if b.isVisible() and b.text() and b.sizeHint().width() > b.width()]
            assert not clipped, f"{name}: clipped buttons {clipped}"
            written.append(save_screenshot(viewer, f"laptop_{name}", max_width=1280))
        assert (window.width(), window.height()) == LAPTOP, window.size()
    print("\n".join(map(str, written)))
    viewer.close()


if __name__ == "__main__":
    main()
