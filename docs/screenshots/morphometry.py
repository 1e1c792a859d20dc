"""Screenshots for docs/morphometry.md, from a real napari viewer under Xvfb.

    xvfb-run -a python docs/screenshots/morphometry.py

1. ``morphometry.png``: a synthetic IF field (DAPI, actin, RUNX2) segmented
   with the "Segment cells" dock, measured with the "Measure cells" dock; the
   cell table beside the labels coloured by cell area (µm²), one cell selected.
2. ``morphometry_real.png``: the classic segmentation on the real HT29 images
   of CellProfiler's example (``../shared/data/cellprofiler-example-human``,
   skipped when that folder is absent), nuclei and cell outlines.
"""

from __future__ import annotations

from pathlib import Path

import napari
import numpy as np
from _common import wait
from qtpy.QtWidgets import QApplication

from napari_msc_morph.synthetic import if_field
from napari_msc_morph.widgets.measure_widget import MeasureWidget
from napari_msc_morph.widgets.segment_widget import SegmentWidget

IMAGES = Path(__file__).resolve().parents[1] / "images"
REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "cellprofiler-example-human"


def save(viewer, name, max_width=1400, canvas_only=False, crop_black=False):
    """Screenshot, optionally crop black canvas margins, downscale, save as a
    256-colour PNG (keeps docs images well under 300 KB)."""
    from PIL import Image

    for _ in range(10):
        QApplication.processEvents()
    shot = viewer.screenshot(canvas_only=canvas_only, flash=False)[..., :3]
    if crop_black:
        lit = shot.max(axis=2) > 0
        rows, cols = np.flatnonzero(lit.any(axis=1)), np.flatnonzero(lit.any(axis=0))
        shot = shot[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    image = Image.fromarray(np.ascontiguousarray(shot))
    if image.width > max_width:
        image = image.resize((max_width, round(image.height * max_width / image.width)), Image.LANCZOS)
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / f"{name}.png"
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    print(f"{path} ({path.stat().st_size // 1024} KB)")


def synthetic_shot():
    field = if_field(size=(512, 512), n_cells=36, differentiation=0.6, seed=3)
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1700, 1000)
    scale = (field.pixel_size_um, field.pixel_size_um)
    for name in ("DAPI", "actin", "RUNX2"):
        viewer.add_image(field.channels[name], name=name, scale=scale,
                         colormap=field.channel_colormaps[name], blending="additive")
    segment = SegmentWidget(viewer)
    viewer.window.add_dock_widget(segment, name="Segment cells", area="right")
    segment.cyto_combo.setCurrentText("actin")
    segment.min_diameter.setValue(10)
    segment.max_diameter.setValue(60)
    segment.run()
    wait(segment)
    measure = MeasureWidget(viewer)
    viewer.window.add_dock_widget(measure, name="Measure cells", area="right")
    measure.labels_combo.setCurrentText("DAPI cells")
    measure.nuclei_combo.setCurrentText("DAPI nuclei")
    measure.set_channels(["DAPI", "actin", "RUNX2"])
    measure.run()
    wait(measure)
    table = measure.cell_table()
    table.colour_by_feature("area_um2", "viridis")
    cells = viewer.layers["DAPI cells"]
    cells.opacity = 0.75
    viewer.layers["DAPI nuclei"].visible = False
    viewer.layers["actin"].visible = False
    biggest = int(table.table["area_um2"].idxmax())
    table.select_row(biggest)
    # Room for the table: the segmentation dock and the results table step aside.
    viewer.window.remove_dock_widget(segment)
    for name, dock in list(viewer.window.dock_widgets.items()):
        if name.startswith("Results table"):
            dock.hide()
    viewer.reset_view()
    save(viewer, "morphometry", max_width=1200)
    viewer.close()


def real_shot():
    from napari_msc_morph.io import read_image
    from napari_msc_morph.morphology import segment_cells, segment_nuclei

    files = sorted(REAL.glob("*d0.tif")) if REAL.exists() else []
    if not files:
        print(f"{REAL} not found: skipping the real-image screenshot")
        return
    dna = read_image(files[0]).data
    body = read_image(str(files[0]).replace("d0.tif", "d2.tif")).data
    nuclei = segment_nuclei(dna, (8, 80))
    cells = segment_cells(body, nuclei)
    print(f"real HT29 field: {nuclei.max()} nuclei, {len(np.unique(cells)) - 1} cells")
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1000, 900)
    viewer.add_image(body, name="phalloidin (d2)", colormap="red", blending="additive",
                     contrast_limits=(0, np.percentile(body, 99.5)))
    viewer.add_image(dna, name="Hoechst (d0)", colormap="green", blending="additive",
                     contrast_limits=(0, np.percentile(dna, 99.5)))
    viewer.add_labels(cells, name="cells", opacity=0.9).contour = 1
    viewer.add_labels(nuclei, name="nuclei", opacity=0.9).contour = 1
    viewer.reset_view()
    save(viewer, "morphometry_real", max_width=700, canvas_only=True, crop_black=True)
    viewer.close()


if __name__ == "__main__":
    synthetic_shot()
    real_shot()
