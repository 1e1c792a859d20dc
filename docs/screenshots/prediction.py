"""Screenshot for docs/prediction.md: an OsScore map over a bright-field image.

Re-runnable: ``xvfb-run -a python docs/screenshots/prediction.py``.

No public weights exist for these tasks, so the script first fits a tiny
osteogenic model (resnet10t, 64 px crops, about a minute on 2 CPU cores) on
synthetic phase-contrast fields — day-21 induced vs control — writes it as a
model bundle, and then uses the real Predict widget on a field whose left half
is induced and right half control.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from skimage.transform import downscale_local_mean

from napari_msc_morph.models import BundleConfig, create_backbone, save_bundle
from napari_msc_morph.synthetic import osteo_field

OUT = Path(__file__).resolve().parents[1] / "images"
SIZE = (972, 1296)
DOWN = 2  # 0.65 µm/px rendered, shown at 1.3 µm/px
CROP = 64


def field(induced: bool, seed: int) -> np.ndarray:
    image = osteo_field(21, induced=induced, size=SIZE, seed=seed).image.astype(np.float32)
    return downscale_local_mean(image, (DOWN, DOWN)).astype(np.uint8)


def train_bundle(path: Path) -> Path:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    fields = [(field(True, s), 1) for s in range(3)] + [(field(False, s), 0) for s in range(3)]
    config = BundleConfig(task="osteogenic", backbone="resnet10t", input_size=CROP, in_chans=1,
                          pixel_size_um=0.65 * DOWN, tiling="grid", grid_overlap=0.5,
                          intensity="dtype", description="docs demo, synthetic data")
    net = create_backbone("resnet10t", num_classes=2, in_chans=1)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3)
    mean, std = config.mean[0], config.std[0]
    net.train()
    for _ in range(120):
        xs, ys = [], []
        for _ in range(32):
            image, label = fields[rng.integers(len(fields))]
            y, x = rng.integers(0, image.shape[0] - CROP), rng.integers(0, image.shape[1] - CROP)
            crop = image[y:y + CROP, x:x + CROP]
            if rng.random() < 0.5:
                crop = crop[:, ::-1]
            xs.append((crop / 255.0 - mean) / std)
            ys.append(label)
        x = torch.tensor(np.stack(xs)[:, None], dtype=torch.float32)
        loss = torch.nn.functional.cross_entropy(net(x), torch.tensor(ys))
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    return save_bundle(net, config, path)


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
        dock = viewer.window.add_dock_widget(widget, name="Predict", area="right")
        # room for the bundle row: the dock scrolls inside when narrower than its content
        from qtpy.QtCore import Qt

        viewer.window._qt_window.resizeDocks([dock], [640], Qt.Orientation.Horizontal)
        widget.set_selected_layers([layer])
        widget.set_bundle_path(bundle)
        widget.tiling_combo.setCurrentText("grid")
        widget.device_combo.setCurrentText("cpu")
        widget.run()
        deadline = time.time() + 300
        while widget.busy and time.time() < deadline:
            QApplication.processEvents()
            time.sleep(0.05)
        viewer.reset_view()
        for _ in range(20):
            QApplication.processEvents()
            time.sleep(0.05)
        target = OUT / "prediction_osscore.png"
        viewer.screenshot(str(target), canvas_only=False)
        _shrink(target)
        print(f"wrote {target} ({target.stat().st_size // 1024} KB)")
        viewer.close()


def _shrink(path: Path, limit: int = 300_000):
    from PIL import Image

    image = Image.open(path).convert("RGB")
    image.save(path, optimize=True)
    while path.stat().st_size > limit:
        image = image.resize((int(image.width * 0.85), int(image.height * 0.85)), Image.LANCZOS)
        image.save(path, optimize=True)


if __name__ == "__main__":
    main()
