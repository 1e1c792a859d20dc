"""Screenshot for docs/training.md and docs/widgets/train.md: the Train dock after a real run.

    xvfb-run -a python docs/screenshots/training.py

Trains a tiny backbone for a few epochs on synthetic P1/P10 fields (six donors,
donor-grouped split) from the widget itself, in a 1280 x 800 window: the basic form, the
Advanced section closed, and the test report as a table with its plots.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import napari
import timm  # noqa: F401  (torch's stack before the viewer's OpenGL context)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "tests" / "training"))
from _common import save_screenshot, settle  # noqa: E402
from train_helpers import write_passage_set  # noqa: E402


def main() -> None:
    from qtpy.QtWidgets import QApplication

    from napari_msc_morph.io import read_image
    from napari_msc_morph.widgets.train_widget import TrainWidget

    tmp = Path(tempfile.mkdtemp())
    manifest = write_passage_set(tmp / "data", size=(512, 640))
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1280, 800)
    for name in ("D1_P1_0.tif", "D1_P10_0.tif"):
        image = read_image(tmp / "data" / name)
        viewer.add_image(image.data, name=name[:-4], scale=(image.pixel_size_um,) * 2)
    viewer.grid.enabled = True
    viewer.grid.shape = (1, 2)
    widget = TrainWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Train model", area="right")
    widget.manifest_edit.value = str(manifest)
    widget.task.setCurrentText("passage")
    widget.backbone.setCurrentText("test_resnet")
    widget.epochs.setValue(8)
    widget.optimizer.setCurrentText("sgd")  # lr 1e-3: visible progress in a few epochs
    widget.input_size.setValue(64)
    widget.batch_size.setValue(16)
    widget.downscale.setValue(4)
    widget.device.setCurrentText("cpu")
    widget.out_edit.value = str(tmp / "passage-model")
    widget.run()
    while widget.worker is not None:
        QApplication.processEvents()
        time.sleep(0.05)
    for canvas in [widget.canvas, *widget.report_view.canvases.values()]:
        canvas.wait()
    widget.scroll.ensureWidgetVisible(widget.report_view.table)
    settle(viewer)
    print(save_screenshot(viewer, "training_widget", max_width=1200))
    viewer.close()


if __name__ == "__main__":
    main()
