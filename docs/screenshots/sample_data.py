"""Screenshots for docs/sample-data.md: every sample opened in a real viewer."""

from __future__ import annotations

import sys
from pathlib import Path

import napari

sys.path.insert(0, str(Path(__file__).parent))
from _common import save_screenshot, settle  # noqa: E402

from napari_msc_morph.widgets import sample_loading  # noqa: E402

sample_loading.BACKGROUND = False  # each sample's layers are there when open_sample returns


def main() -> None:
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1400, 900)

    viewer.open_sample("napari-msc-morph", "passage_series")
    viewer.dims.set_current_step(0, 2)  # passage P7 (the overlay says so)
    settle(viewer)
    print(save_screenshot(viewer, "sample_passage_series"))

    viewer.layers.clear()
    viewer.grid.enabled = False
    viewer.open_sample("napari-msc-morph", "if_field")
    viewer.layers["cells"].contour = 2  # outlines, so the channels stay visible
    viewer.layers["cells"].opacity = 0.8
    settle(viewer)
    print(save_screenshot(viewer, "sample_if_field"))

    viewer.layers.clear()
    viewer.open_sample("napari-msc-morph", "osteo_time_course")
    viewer.grid.enabled = True
    viewer.grid.shape = (1, 2)
    viewer.dims.set_current_step(0, 5)  # day 14 (the 6th of 7 days)
    settle(viewer)
    print(save_screenshot(viewer, "sample_osteo_time_course"))

    viewer.layers.clear()
    viewer.open_sample("napari-msc-morph", "tissue_source")
    viewer.open_sample("napari-msc-morph", "nsc_fate")
    viewer.grid.enabled = True
    viewer.grid.shape = (1, 5)
    settle(viewer)
    print(save_screenshot(viewer, "sample_source_and_nsc"))
    viewer.close()


if __name__ == "__main__":
    main()
