"""Helpers for the docs screenshot scripts (run under Xvfb, real napari viewer).

    xvfb-run -a python docs/screenshots/sample_data.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

IMAGES = Path(__file__).resolve().parents[1] / "images"


def wait(widget, timeout: float = 180) -> None:
    """Let a dock's worker finish (``widget.busy``), then let its results land."""
    import time

    from qtpy.QtWidgets import QApplication

    start = time.time()
    for _ in range(5):
        QApplication.processEvents()
    while widget.busy:  # JobDock: a worker is running
        QApplication.processEvents()
        time.sleep(0.02)
        if time.time() - start > timeout:
            raise TimeoutError("worker did not finish")
    for _ in range(20):
        QApplication.processEvents()


def settle(viewer, reset: bool = True) -> None:
    """Let Qt lay the window out (and draw) before the view is reset and captured."""
    from qtpy.QtWidgets import QApplication

    from napari_msc_morph.widgets._figure_canvas import BackgroundCanvas

    for _ in range(5):
        QApplication.processEvents()
    # the plugin's plots are drawn in a plot thread: capture them once they are on screen
    for canvas in viewer.window._qt_window.findChildren(BackgroundCanvas):
        canvas.wait()
    if reset:
        viewer.reset_view()
    for _ in range(5):
        QApplication.processEvents()


def save_screenshot(viewer, name: str, max_width: int = 1400, canvas_only: bool = False) -> Path:
    """Screenshot the whole viewer window (or canvas), downscale, save as docs/images/NAME.png."""
    settle(viewer, reset=False)
    from skimage.io import imsave
    from skimage.transform import resize

    IMAGES.mkdir(parents=True, exist_ok=True)
    shot = viewer.screenshot(canvas_only=canvas_only, flash=False)
    if shot.shape[1] > max_width:
        factor = max_width / shot.shape[1]
        shape = (int(shot.shape[0] * factor), max_width)
        shot = (resize(shot, shape, anti_aliasing=True, preserve_range=True)).astype(np.uint8)
    path = IMAGES / f"{name}.png"
    imsave(path, shot[..., :3], check_contrast=False)
    if path.stat().st_size > 350_000:
        # noisy microscopy makes big PNGs; 256 well-chosen colours look the same
        from PIL import Image

        Image.fromarray(shot[..., :3]).quantize(256, method=Image.Quantize.MEDIANCUT).save(
            path, optimize=True)
    return path
