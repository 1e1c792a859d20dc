"""Screenshot for docs/explain.md: a Grad-CAM layer over a bright-field field.

Re-runnable: ``xvfb-run -a python docs/screenshots/explain.py``.

Fits the same tiny synthetic osteogenic model as ``prediction.py`` (resnet10t,
64 px crops; about a minute on 2 CPU cores), then uses the real Predict widget
with "Explain (Grad-CAM)" ticked on a field whose left half is day-21 induced
and right half control. The score-map layers are switched off so the picture
shows the image and its Grad-CAM layer only.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prediction import DOWN, _shrink, field, train_bundle  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "images"


def main():
    import napari
    from qtpy.QtWidgets import QApplication

    from napari_msc_morph.widgets.predict_widget import PredictWidget

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        bundle = train_bundle(Path(tmp) / "osteo-demo.zip")
        induced, control = field(True, 7), field(False, 7)
        half = induced.shape[1] // 2
        demo = np.concatenate([induced[:, :half], control[:, half:]], axis=1)

        viewer = napari.Viewer(show=True)
        viewer.window.resize(1400, 820)
        layer = viewer.add_image(demo, name="day21 induced | control", scale=(0.65 * DOWN,) * 2,
                                 units=("um", "um"))
        viewer.scale_bar.visible = True
        widget = PredictWidget(viewer)
        viewer.window.add_dock_widget(widget, name="Predict", area="right")
        widget.set_selected_layers([layer])
        widget.set_bundle_path(bundle)
        widget.tiling_combo.setCurrentText("grid")
        widget.device_combo.setCurrentText("cpu")
        widget.maps_check.setChecked(False)
        widget.explain_check.setChecked(True)
        widget.run()
        deadline = time.time() + 600
        while widget.busy and time.time() < deadline:
            QApplication.processEvents()
            time.sleep(0.05)
        cams = [lay for lay in viewer.layers if "Grad-CAM" in lay.name]
        if not cams:
            raise SystemExit(f"no Grad-CAM layer was added: {widget.status.text()}")
        viewer.layers.selection.active = cams[0]
        viewer.reset_view()
        for _ in range(20):
            QApplication.processEvents()
            time.sleep(0.05)
        heat = cams[0].data
        print(f"Grad-CAM mean left (induced) {heat[:, :half].mean():.3f}, "
              f"right (control) {heat[:, half:].mean():.3f}; {widget.status.text()}")
        target = OUT / "explain_gradcam.png"
        viewer.screenshot(str(target), canvas_only=False)
        _shrink(target)
        print(f"wrote {target} ({target.stat().st_size // 1024} KB)")
        viewer.close()


if __name__ == "__main__":
    main()
