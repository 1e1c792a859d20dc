"""Screenshot for docs/demo.md: `msc-morph demo --open` in a real viewer.

    xvfb-run -a python docs/screenshots/demo.py [DEMO_FOLDER]

Without a folder, runs `msc-morph demo --quick` into a temporary one first.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import save_screenshot, settle  # noqa: E402


def zoom_to(viewer, layer) -> None:
    """Centre and zoom the camera on one layer (reset_view fits all layers, hidden ones too)."""
    (y0, x0), (y1, x1) = layer.extent.world[0][-2:], layer.extent.world[1][-2:]
    camera = viewer.scene.camera if hasattr(viewer, "scene") else viewer.camera
    camera.center = ((y0 + y1) / 2, (x0 + x1) / 2)
    canvas_h, canvas_w = viewer.window._qt_viewer.canvas.size
    camera.zoom = 0.95 * min(canvas_h / (y1 - y0), canvas_w / (x1 - x0))


def main() -> None:
    from napari_msc_morph.demo import run_demo

    if len(sys.argv) > 1:
        folder = Path(sys.argv[1])
    else:
        folder = Path(tempfile.mkdtemp(prefix="msc-demo-"))
        run_demo(folder, quick=True)

    import napari
    from qtpy.QtWidgets import QApplication

    from napari_msc_morph.widgets.demo_viewer import open_demo
    from napari_msc_morph.widgets.results_table import get_results_table

    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1280, 800)  # a laptop screen: the docks scroll inside
    open_demo(folder, viewer=viewer)
    table = get_results_table(viewer)
    deadline = time.time() + 300
    while time.time() < deadline:
        QApplication.processEvents()
        frame = table.to_dataframe()
        if "os_score" in frame and frame["os_score"].notna().sum() >= 4 \
                and "area_um2" in viewer.layers["cells"].features.columns:
            break
        time.sleep(0.1)
    # the whole demo as it opens: bright-field row with OsScore maps above the IF field,
    # one labelled colour bar for the OsScore
    settle(viewer)
    print(save_screenshot(viewer, "demo_open_osscore"))

    for layer in viewer.layers:
        layer.visible = layer.name in ("DAPI", "actin", "RUNX2", "cells")
    viewer.layers.selection.active = viewer.layers["cells"]
    viewer.layers["cells"].contour = 2
    settle(viewer)
    zoom_to(viewer, viewer.layers["cells"])
    print(save_screenshot(viewer, "demo_open_if"))
    viewer.close()


if __name__ == "__main__":
    main()
