"""Screenshot for docs/opening-files.md, from a real napari viewer under Xvfb.

    xvfb-run -a python docs/screenshots/opening_files.py

Writes an OME-TIFF (DAPI, actin, RUNX2 of a synthetic IF field at 0.325 µm/px)
to a temporary folder, opens it the way File › Open does (``viewer.open`` with
this plugin's reader), turns on napari's scale bar and saves
``docs/images/opening_files.png``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import napari
import numpy as np
import tifffile
from _common import save_screenshot, settle

from napari_msc_morph.synthetic import if_field


def main() -> None:
    field = if_field(size=(512, 512), n_cells=30, seed=4)
    names = ["DAPI", "actin", "RUNX2"]
    stack = np.stack([field.channels[n] for n in names])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "msc_day7_field03.ome.tif"
        tifffile.imwrite(path, stack, metadata={
            "axes": "CYX", "PhysicalSizeX": field.pixel_size_um, "PhysicalSizeXUnit": "µm",
            "PhysicalSizeY": field.pixel_size_um, "PhysicalSizeYUnit": "µm",
            "Channel": {"Name": names}})
        viewer = napari.Viewer(show=True)
        viewer.window.resize(1280, 760)
        viewer.open(str(path), plugin="napari-msc-morph")
        viewer.scale_bar.visible = True
        viewer.layers.selection.active = viewer.layers["msc_day7_field03 DAPI"]
        settle(viewer)
        print(save_screenshot(viewer, "opening_files"))
        viewer.close()


if __name__ == "__main__":
    main()
