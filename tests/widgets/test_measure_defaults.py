"""Issue 24.3 and 24.7: the Measure and Segment docks default to one image's channels and
follow the newest segmentation; layer names stay readable; layer lists refresh once per
event-loop turn."""

from __future__ import annotations

import numpy as np
from napari.layers._layer_actions import _split_rgb

from napari_msc_morph.synthetic import if_field
from napari_msc_morph.widgets.measure_widget import MeasureWidget
from napari_msc_morph.widgets.segment_widget import SegmentWidget


def add_split_rgb_export(viewer, name, seed, path=None):
    """A DAPI field exported as 8-bit RGB (signal in blue only), split as napari does."""
    field = if_field(size=(128, 128), n_cells=5, seed=seed)
    blue = (field.channels["DAPI"] / field.channels["DAPI"].max() * 255).astype(np.uint8)
    rgb = np.zeros((*blue.shape, 3), np.uint8)
    rgb[..., 2] = blue
    meta = {"pixel_size_um": field.pixel_size_um, **({"path": path} if path else {})}
    layer = viewer.add_image(rgb, name=name, rgb=True, metadata=meta)
    viewer.layers.selection = {layer}
    _split_rgb(viewer.layers)                       # "name", "name [1]", "name [2]"
    return [name, f"{name} [1]", f"{name} [2]"]


def segment(qtbot, widget):
    assert widget.run() is not None, widget.status.text()
    qtbot.waitUntil(lambda: not widget.busy and not widget.cancel_button.isEnabled(),
                    timeout=30000)
    qtbot.wait(10)                                  # the docks' deferred layer refresh


def test_measure_ticks_the_segmented_images_real_channel_and_follows_the_newest(
        make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    segment_dock, measure_dock = SegmentWidget(viewer), MeasureWidget(viewer)
    add_split_rgb_export(viewer, "day3_DAPI_40x", seed=1, path="/data/day3_DAPI_40x.tif")
    qtbot.wait(10)
    assert segment_dock.nuclei_combo.currentText() == "day3_DAPI_40x [2]"   # not the empty red
    segment(qtbot, segment_dock)
    assert measure_dock.labels_combo.currentText() == "day3_DAPI_40x [2] nuclei"
    assert measure_dock.selected_channels() == ["day3_DAPI_40x [2]"]

    add_split_rgb_export(viewer, "day7_DAPI_40x", seed=2, path="/data/day7_DAPI_40x.tif")
    qtbot.wait(10)
    assert segment_dock.nuclei_combo.currentText() == "day7_DAPI_40x [2]"   # the image just opened
    segment(qtbot, segment_dock)
    # the Labels box moved to the new segmentation; only that image's real channel is
    # ticked: neither its empty red/green channels nor the previous image's DAPI
    assert measure_dock.labels_combo.currentText() == "day7_DAPI_40x [2] nuclei"
    assert measure_dock.selected_channels() == ["day7_DAPI_40x [2]"]


def test_split_image_without_a_file_is_one_image_too(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    previous = if_field(size=(128, 128), n_cells=4, seed=7).channels["DAPI"]
    viewer.add_image(previous, name="previous DAPI")
    names = add_split_rgb_export(viewer, "hMSC", seed=3)
    labels = viewer.add_labels(np.zeros((128, 128), np.int32), name="hMSC [2] nuclei",
                               metadata={"segmented_from": names[2]})
    labels.data[10:20, 10:20] = 1
    measure_dock = MeasureWidget(viewer)
    assert measure_dock.labels_combo.currentText() == "hMSC [2] nuclei"
    assert measure_dock.selected_channels() == ["hMSC [2]"]


def test_a_grey_rgb_export_is_measured_once(make_napari_viewer, qtbot):
    """R = G = B: three copies of the stain; ticking all three gave one column name three
    times (an error); only the segmented channel is ticked."""
    viewer = make_napari_viewer()
    dapi = (if_field(size=(96, 96), n_cells=3, seed=4).channels["DAPI"] * 200).astype(np.uint8)
    layer = viewer.add_image(np.stack([dapi] * 3, axis=-1), name="grey", rgb=True)
    viewer.layers.selection = {layer}
    _split_rgb(viewer.layers)
    labels = viewer.add_labels((dapi > dapi.mean()).astype(np.int32), name="grey [1] nuclei",
                               metadata={"segmented_from": "grey [1]"})
    assert labels.data.any()
    measure_dock = MeasureWidget(viewer)
    assert measure_dock.selected_channels() == ["grey [1]"]


def test_the_users_choices_are_kept_while_their_layers_exist(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    measure_dock = MeasureWidget(viewer)
    for image in ("A", "B"):
        viewer.add_image(np.random.default_rng(0).random((64, 64)), name=f"{image} DAPI",
                         metadata={"path": f"/data/{image}.tif"})
        viewer.add_image(np.random.default_rng(1).random((64, 64)), name=f"{image} RUNX2",
                         metadata={"path": f"/data/{image}.tif"})
        for kind in ("nuclei", "cells"):
            viewer.add_labels(np.ones((64, 64), np.int32), name=f"{image} DAPI {kind}",
                              metadata={"segmented_from": f"{image} DAPI"})
        qtbot.wait(10)
    # the newest segmentation: B's cells, with B's nuclei and B's channels
    assert measure_dock.labels_combo.currentText() == "B DAPI cells"
    assert measure_dock.nuclei_combo.currentText() == "B DAPI nuclei"
    assert measure_dock.selected_channels() == ["B DAPI", "B RUNX2"]
    measure_dock.set_channels(["B RUNX2"])          # the user's ticks for image B
    measure_dock.labels_combo.setCurrentText("A DAPI cells")       # and a hand-picked layer
    assert measure_dock.nuclei_combo.currentText() == "A DAPI nuclei"
    assert measure_dock.selected_channels() == ["A DAPI", "A RUNX2"]
    viewer.add_image(np.ones((64, 64)), name="C DAPI", metadata={"path": "/data/C.tif"})
    viewer.add_labels(np.ones((64, 64), np.int32), name="C DAPI cells",
                      metadata={"segmented_from": "C DAPI"})
    qtbot.wait(10)
    assert measure_dock.labels_combo.currentText() == "A DAPI cells"   # picked, still there
    measure_dock.labels_combo.setCurrentText("B DAPI cells")
    assert measure_dock.selected_channels() == ["B RUNX2"]             # B's ticks kept
    viewer.layers.remove("B DAPI cells")
    viewer.add_labels(np.ones((64, 64), np.int32), name="C DAPI nuclei",
                      metadata={"segmented_from": "C DAPI"})
    qtbot.wait(10)
    assert measure_dock.labels_combo.currentText() == "C DAPI nuclei"  # the pick is gone
    # C DAPI is constant (no signal): never a default channel
    assert measure_dock.selected_channels() == []


def test_layer_combos_keep_the_end_of_long_names(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    add_split_rgb_export(viewer, "od_1_pat_p17_96h_3_day_OD_40x_6_DAPI", seed=5)
    dock = SegmentWidget(viewer)
    qtbot.addWidget(dock)
    dock.show()
    combo = dock.nuclei_combo
    combo.setFixedWidth(180)
    qtbot.wait(10)
    shown = [combo.shown_text(i) for i in range(combo.count())]
    assert all("…" in text for text in shown)        # too long for the box: shortened
    assert shown[1].endswith("[1]") and shown[2].endswith("[2]")
    assert shown[0].endswith("DAPI") and shown[0].startswith("od_1")
    assert combo.view().textElideMode() == combo.view().textElideMode().ElideMiddle
    assert [combo.itemData(i, 3) for i in range(combo.count())] == [    # 3: tooltip role
        combo.itemText(i) for i in range(combo.count())]
    assert dock.sizeHint().width() <= 460                               # never widens the dock


def test_docks_relist_layers_once_per_event_loop_turn(make_napari_viewer, qtbot, monkeypatch):
    """Issue 24.7: 42 layers removed at once rebuilt each dock's lists 42 times."""
    calls = {"SegmentWidget": 0, "MeasureWidget": 0}
    for cls in (SegmentWidget, MeasureWidget):
        original = cls.refresh_layers

        def counted(self, _original=original, _name=cls.__name__):
            calls[_name] += 1
            return _original(self)

        monkeypatch.setattr(cls, "refresh_layers", counted)
    viewer = make_napari_viewer()
    docks = SegmentWidget(viewer), MeasureWidget(viewer)
    assert calls == {"SegmentWidget": 1, "MeasureWidget": 1}
    for i in range(12):
        viewer.add_image(np.zeros((16, 16)), name=f"field {i}")
    viewer.layers.select_all()
    viewer.layers.remove_selected()
    assert calls == {"SegmentWidget": 1, "MeasureWidget": 1}    # nothing while napari works
    qtbot.wait(10)
    assert calls == {"SegmentWidget": 2, "MeasureWidget": 2}    # once, after
    assert all(dock.nuclei_combo.count() == 0 for dock in docks[:1])


def test_every_measure_control_has_a_plain_words_tooltip(make_napari_viewer):
    dock = MeasureWidget(make_napari_viewer())
    controls = (dock.labels_combo, dock.nuclei_combo, dock.channel_list, dock.pixel_size,
                dock.auto_remeasure, dock.run_button, dock.cancel_button)
    assert all(len(control.toolTip().split()) >= 6 for control in controls)
    segment_dock = SegmentWidget(make_napari_viewer())
    assert "Labels layers" in segment_dock.run_button.toolTip()
