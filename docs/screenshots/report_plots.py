"""Screenshot for docs/training.md: the report plots docked after training.

    xvfb-run -a python docs/screenshots/report_plots.py

Uses the osteogenic report figures of the documented training run
(docs/images/training_osteo_roc.png and training_osteo_reliability.png, written by
``msc-morph train`` / ``write_report``) copied into a report folder as roc.png and
reliability.png with that run's headline metrics, and opens it the way the Train
dock's *Show report plots* button does (:func:`show_report_plots`).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import napari

sys.path.insert(0, str(Path(__file__).parent))
from _common import save_screenshot  # noqa: E402
from qtpy.QtWidgets import QApplication  # noqa: E402

from napari_msc_morph.widgets.report_plots import show_report_plots  # noqa: E402

IMAGES = Path(__file__).resolve().parents[1] / "images"
#: The documented osteogenic run (docs/training.md): AUC 0.94, days 0/5/14, accuracy 0.79.
METRICS = {"accuracy": 0.79, "auc": 0.94, "auc_day_0": 0.50, "auc_day_5": 1.00,
           "auc_day_14": 1.00, "n_images": 24}


def main() -> None:
    from PIL import Image

    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1400, 900)
    with tempfile.TemporaryDirectory(prefix="msc-morph-report-") as folder:
        report = Path(folder) / "osteo-model.train" / "report"
        report.mkdir(parents=True)
        shutil.copy(IMAGES / "training_osteo_roc.png", report / "roc.png")
        shutil.copy(IMAGES / "training_osteo_reliability.png", report / "reliability.png")
        (report / "metrics.json").write_text(json.dumps(METRICS))
        dock = show_report_plots(viewer, report)
        dock.summary.setText(dock.summary.text().replace(folder, "…"))
        for _ in range(5):
            QApplication.processEvents()
        shot = save_screenshot(viewer, "report_plots", max_width=1200)
    Image.open(shot).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(shot, optimize=True)
    print(shot)
    viewer.close()


if __name__ == "__main__":
    main()
