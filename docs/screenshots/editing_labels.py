"""Screenshot for docs/editing-labels.md, from a real napari viewer under Xvfb.

    xvfb-run -a python docs/screenshots/editing_labels.py

``editing_labels.png``: a real BBBC039 Hoechst field (U2OS nuclei, CC0;
``../shared/data/bbbc039-subset``) segmented with "Segment cells" (defaults) and
measured with "Measure cells". The least convex nucleus (two touching nuclei the
segmentation kept as one) is split with the "Fix labels" dock at two clicks,
placed on the centres of the two nuclei of the hand-drawn mask; the Measure dock
then offers "Measure again". Without that folder a synthetic field is used and two
neighbouring nuclei are merged instead.
"""

from __future__ import annotations

from pathlib import Path

import napari
import numpy as np
from _common import save_screenshot, settle, wait
from qtpy.QtCore import Qt

from napari_msc_morph.widgets.label_tools import LabelToolsWidget
from napari_msc_morph.widgets.measure_widget import MeasureWidget
from napari_msc_morph.widgets.segment_widget import SegmentWidget

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "bbbc039-subset"
IMAGE = "IXMtest_A02_s1_w1051DAA7C-7042-435F-99F0-1E847D9B42CB"


def load():
    """(image, hand-drawn instance mask or None, pixel size)."""
    if (REAL / "images" / f"{IMAGE}.tif").exists():
        from skimage.io import imread
        from skimage.measure import label

        image = imread(REAL / "images" / f"{IMAGE}.tif")
        values = imread(REAL / "masks" / f"{IMAGE}.png")[..., 0]
        truth = np.zeros(values.shape, np.int32)
        for value in np.unique(values[values > 0]):  # touching nuclei: different values
            pieces = label(values == value)
            truth[pieces > 0] = pieces[pieces > 0] + truth.max()
        return image, truth, 1.0
    from napari_msc_morph.synthetic import if_field

    print(f"{REAL} not found: a synthetic field, and a merge instead of a split")
    field = if_field(size=(384, 384), n_cells=24, seed=11)
    return field.channels["DAPI"], None, field.pixel_size_um


def clump_and_seeds(labels, truth):
    """The least convex object and, inside it, the centres of its two biggest true nuclei."""
    from skimage.measure import regionprops

    for region in sorted(regionprops(labels), key=lambda r: r.solidity):
        inside = truth[labels == region.label]
        ids, counts = np.unique(inside[inside > 0], return_counts=True)
        if len(ids) < 2:
            continue
        seeds = []
        for true_id in ids[np.argsort(counts)[::-1][:2]]:
            pixels = np.argwhere((truth == true_id) & (labels == region.label))
            seeds.append(pixels[np.argmin(((pixels - pixels.mean(0)) ** 2).sum(1))])
        return region.label, np.array(seeds, float)
    raise RuntimeError("no clump found")


def closest_pair(labels):
    from scipy.spatial.distance import pdist, squareform

    ids = [i for i in np.unique(labels) if i]
    centres = np.array([np.argwhere(labels == i).mean(axis=0) for i in ids])
    distances = squareform(pdist(centres))
    np.fill_diagonal(distances, np.inf)
    a, b = np.unravel_index(np.argmin(distances), distances.shape)
    return centres[[a, b]]


def main():
    image, truth, pixel = load()
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1280, 800)
    viewer.add_image(image, name="Hoechst", scale=(pixel, pixel), colormap="gray",
                     contrast_limits=(np.percentile(image, 0.5), np.percentile(image, 99.8)))
    segment = SegmentWidget(viewer)
    viewer.window.add_dock_widget(segment, name="Segment cells", area="right")
    segment.run()
    wait(segment)
    nuclei = viewer.layers["Hoechst nuclei"]
    viewer.window.remove_dock_widget(segment)
    measure = MeasureWidget(viewer)
    viewer.window.add_dock_widget(measure, name="Measure cells", area="right")
    measure.labels_combo.setCurrentText(nuclei.name)
    measure.run()
    wait(measure)
    for name, widget in list(viewer.window.dock_widgets.items()):
        if name.startswith("Results table"):
            widget.parent().hide()
    tools = LabelToolsWidget(viewer)
    viewer.window.add_dock_widget(tools, name="Fix labels", area="left")
    tools.labels_combo.setCurrentText(nuclei.name)
    n_before = len(np.unique(nuclei.data)) - 1
    points = tools.start_clicking()
    if truth is not None:
        clump, seeds = clump_and_seeds(nuclei.data, truth)
        tools.image_combo.setCurrentText("Hoechst")
        points.data = np.array([nuclei.data_to_world(s) for s in seeds])
        message = tools.split()
    else:
        seeds = closest_pair(nuclei.data)
        points.data = np.array([nuclei.data_to_world(s) for s in seeds])
        message = tools.merge()
    points.data = np.array([nuclei.data_to_world(s) for s in seeds])  # show the clicks
    measure.check_edits()
    table = measure.cell_table()
    table.parent().raise_()
    # room for the Measure dock's "Measure again" button; the layer list steps aside
    viewer.window._qt_viewer.dockLayerList.hide()
    viewer.window._qt_window.resizeDocks([measure.parent(), table.parent()], [330, 420],
                                         Qt.Orientation.Vertical)
    nuclei.contour = 2
    settle(viewer)
    from napari._qt.dialogs.qt_notification import NapariQtNotification

    for toast in viewer.window._qt_window.findChildren(NapariQtNotification):
        toast.close()  # the "no pixel size" warning would cover the canvas
    camera = viewer.scene.camera if hasattr(viewer, "scene") else viewer.camera
    camera.center = tuple(nuclei.data_to_world(seeds.mean(axis=0)))
    camera.zoom = camera.zoom * 3
    path = save_screenshot(viewer, "editing_labels", max_width=1280)
    print(f"{n_before} nuclei segmented; {message} -> {path}")
    viewer.close()


if __name__ == "__main__":
    main()
