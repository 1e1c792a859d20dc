"""Screenshot for docs/study.md, from a real napari viewer under Xvfb at 1280x800.

    xvfb-run -a python docs/screenshots/study.py

A study folder of eight synthetic IF fields (two donors, control and osteogenic,
two fields each, multichannel OME-TIFFs named ``<donor>_<condition>_day7_<k>.ome.tif``)
run through the Study dock; one field opened from the fields table.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import napari
import numpy as np
import tifffile

sys.path.insert(0, str(Path(__file__).parent))
from _common import save_screenshot, settle  # noqa: E402

from napari_msc_morph.synthetic import if_field  # noqa: E402
from napari_msc_morph.widgets.study_widget import StudyWidget  # noqa: E402


def make_folder(folder: Path) -> None:
    k = 0
    for donor in ("D1", "D2"):
        for condition, d in (("control", 0.15), ("osteo", 0.85)):
            for field in (1, 2):
                f = if_field(size=(384, 384), n_cells=14, differentiation=d, seed=k)
                k += 1
                names = ["DAPI", "actin", "RUNX2"]
                tifffile.imwrite(folder / f"{donor}_{condition}_day7_{field}.ome.tif",
                                 np.stack([f.channels[n] for n in names]),
                                 metadata={"axes": "CYX", "Channel": {"Name": names},
                                           "PhysicalSizeX": f.pixel_size_um,
                                           "PhysicalSizeY": f.pixel_size_um})


def main() -> None:
    folder = Path(tempfile.mkdtemp()) / "osteo study"
    folder.mkdir()
    make_folder(folder)
    viewer = napari.Viewer()
    viewer.window._qt_window.resize(1280, 800)
    widget = StudyWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Study", area="right")
    widget.folder.setText(str(folder))
    widget.pattern.setText("{donor}_{condition}_day{day}_{field}.ome.tif")
    widget.update_preview()
    widget.cytoplasm.setText("actin")
    widget.markers.setText("RUNX2=RUNX2")
    worker = widget.run()
    assert worker is not None, widget.status.text()
    from qtpy.QtWidgets import QApplication

    while widget.busy:
        QApplication.processEvents()
    widget.open_field(6)
    settle(viewer)
    print(save_screenshot(viewer, "study_dock"))
    viewer.close()


if __name__ == "__main__":
    main()
