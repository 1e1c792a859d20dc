"""Issue 24.3: the Measure dock names columns by role and marker, never by layer name.

A microscope's RGB export (``od_1_pat_p17_96h_3_day_OD_40x_6_DAPI_2.tif``), split with
napari's Split RGB, gave columns named after the file (``od_1_…_DAPI_2_mean``): every
image different, nothing pooled; and a 3-colour export gave its three channels one name.
"""

from __future__ import annotations

import numpy as np
import tifffile
from napari.layers import Layer
from napari.layers._layer_actions import _split_rgb
from qtpy.QtWidgets import QStyleOptionViewItem

from napari_msc_morph._sample_data import sample_if_field
from napari_msc_morph._writer import write_image
from napari_msc_morph.synthetic import if_field
from napari_msc_morph.widgets.measure_widget import MeasureWidget
from napari_msc_morph.widgets.results_table import get_results_table
from napari_msc_morph.widgets.segment_widget import SegmentWidget

EXPORT = "od_1_pat_p17_96h_3_day_OD_40x_{}_DAPI_2"


def add_rgb_export(viewer, name, seed, red=False):
    """An 8-bit RGB export read from a file and split as napari does: DAPI in blue, a
    dimmer marker in green, red empty (or a third stain with ``red``)."""
    field = if_field(size=(128, 128), n_cells=5, seed=seed)

    def eight_bit(image, top):
        return (image / image.max() * top).astype(np.uint8)

    rgb = np.zeros((128, 128, 3), np.uint8)
    rgb[..., 2] = eight_bit(field.channels["DAPI"], 255)
    rgb[..., 1] = eight_bit(field.channels["RUNX2"], 150)
    if red:
        rgb[..., 0] = eight_bit(field.channels["actin"], 120)
    layer = viewer.add_image(rgb, name=name, rgb=True, metadata={
        "path": f"/data/{name}.tif", "pixel_size_um": field.pixel_size_um})
    viewer.layers.selection = {layer}
    _split_rgb(viewer.layers)                        # "name", "name [1]", "name [2]"
    return [name, f"{name} [1]", f"{name} [2]"]


def run_and_wait(qtbot, dock):
    assert dock.run() is not None, dock.status.text()
    qtbot.waitUntil(lambda: not dock.busy and not dock.cancel_button.isEnabled(),
                    timeout=30000)
    qtbot.wait(10)                                   # the docks' deferred layer refresh


def shown(dock) -> dict[str, str]:
    """What the channel list draws for each layer (its delegate's text)."""
    listed = dock.channel_list
    texts = {}
    for row in range(listed.count()):
        option = QStyleOptionViewItem()
        listed.itemDelegate().initStyleOption(option, listed.model().index(row, 0))
        texts[listed.item(row).text()] = option.text
    return texts


def test_rgb_export_is_measured_as_dna_and_green_never_by_file_name(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    segment_dock, measure_dock = SegmentWidget(viewer), MeasureWidget(viewer)
    columns = []
    for field_no, seed in ((6, 1), (7, 2)):
        red, green, blue = add_rgb_export(viewer, EXPORT.format(field_no), seed)
        qtbot.wait(10)
        assert segment_dock.nuclei_combo.currentText() == blue
        run_and_wait(qtbot, segment_dock)
        assert measure_dock.labels_combo.currentText() == f"{blue} nuclei"
        assert measure_dock.selected_channels() == [green, blue]   # not the empty red
        assert shown(measure_dock)[blue] == f"{blue} → DNA"
        assert shown(measure_dock)[green] == f"{green} → green"
        run_and_wait(qtbot, measure_dock)
        features = viewer.layers[f"{blue} nuclei"].features
        assert {"DNA_mean", "green_mean"} <= set(features.columns)
        assert not [c for c in features.columns if "od_1" in c or "DAPI" in c]
        columns.append([c for c in features.columns if c.startswith(("DNA", "green"))])
    assert columns[0] == columns[1]                  # the two images pool
    results = get_results_table(viewer).to_dataframe()
    assert len(results) == 2
    assert not [c for c in results.columns if "od_1" in c]
    assert {c for c in results.columns if c.endswith("_fraction_positive")} == {
        "DNA_fraction_positive", "green_fraction_positive"}


def test_three_colour_rgb_export_gives_three_column_names(make_napari_viewer, qtbot):
    """Red, green and blue all with signal: before, one column name for the three (only one
    ticked, and ticking two was refused as a clash)."""
    viewer = make_napari_viewer()
    red, green, blue = add_rgb_export(viewer, EXPORT.format(6), seed=3, red=True)
    viewer.add_labels(if_field(size=(128, 128), n_cells=5, seed=3).nuclei, name="painted")
    measure_dock = MeasureWidget(viewer)   # labels of unknown origin: no DNA role, colours
    assert measure_dock.selected_channels() == [red, green, blue]
    run_and_wait(qtbot, measure_dock)
    features = viewer.layers["painted"].features
    assert {"red_mean", "green_mean", "blue_mean"} <= set(features.columns)


def test_a_marker_named_in_the_dock_names_the_columns_and_stays_with_the_layer(
        make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    segment_dock, measure_dock = SegmentWidget(viewer), MeasureWidget(viewer)
    _, green, blue = add_rgb_export(viewer, EXPORT.format(6), seed=4)
    qtbot.wait(10)
    run_and_wait(qtbot, segment_dock)
    listed = measure_dock.channel_list
    row = [listed.item(r).text() for r in range(listed.count())].index(green)
    listed.itemDoubleClicked.emit(listed.item(row))   # double-click: type its marker
    assert listed.currentRow() == row
    assert listed.marker_edit.selectedText() == "green"   # the channel's marker, to overtype
    listed.marker_edit.setText("RUNX2")
    listed.marker_edit.editingFinished.emit()         # Enter
    assert viewer.layers[green].metadata["channel"] == "RUNX2"
    data, meta, _ = viewer.layers[green].as_layer_data_tuple()
    saved, = write_image(str(tmp_path / "green.ome.tif"), data, meta)     # Save layers
    with tifffile.TiffFile(saved) as tif:
        assert 'Name="RUNX2"' in tif.ome_metadata                     # the channel's name
    assert shown(measure_dock)[green] == f"{green} → RUNX2"
    assert "RUNX2" in listed.item(listed.currentRow()).toolTip()
    run_and_wait(qtbot, measure_dock)
    features = viewer.layers[f"{blue} nuclei"].features
    assert {"RUNX2_mean", "DNA_mean"} <= set(features.columns)
    assert "green_mean" not in features.columns


def test_a_marker_name_without_letters_is_refused_by_name(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    measure_dock = MeasureWidget(viewer)
    _, green, _ = add_rgb_export(viewer, EXPORT.format(6), seed=5)
    qtbot.wait(10)
    measure_dock.name_marker(green, " -- ")
    assert "channel" not in viewer.layers[green].metadata
    status = measure_dock.status.text()
    assert "“ -- ”" in status and green in status and "RUNX2" in status


def test_two_ticked_channels_of_one_marker_are_refused_naming_both(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    measure_dock = MeasureWidget(viewer)
    for field_no, seed in ((6, 1), (7, 2)):
        add_rgb_export(viewer, EXPORT.format(field_no), seed)
    viewer.add_labels(if_field(size=(128, 128), n_cells=5, seed=1).nuclei, name="painted")
    first, second = EXPORT.format(6) + " [1]", EXPORT.format(7) + " [1]"
    measure_dock.set_channels([first, second])       # both green: one column name
    assert measure_dock.run() is None
    status = measure_dock.status.text()
    assert f"“{first}” and “{second}”" in status and "marker “green”" in status
    assert "marker name" in status


def test_the_plugins_sample_keeps_its_marker_columns(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    for data, meta, kind in sample_if_field(size=(128, 128), seed=1):
        if kind == "image":
            viewer.add_layer(Layer.create(data, meta, kind))
    segment_dock, measure_dock = SegmentWidget(viewer), MeasureWidget(viewer)
    assert segment_dock.nuclei_combo.currentText() == "DAPI"
    run_and_wait(qtbot, segment_dock)
    names = shown(measure_dock)
    assert names["RUNX2"] == "RUNX2 → RUNX2" and names["DAPI"] == "DAPI → DAPI"  # the file's
    measure_dock.set_channels(["DAPI", "RUNX2"])
    run_and_wait(qtbot, measure_dock)
    measured = viewer.layers[measure_dock.labels_combo.currentText()]
    assert measured.name.startswith("DAPI ")       # the Segment dock's nuclei or cells
    assert {"RUNX2_mean", "DAPI_mean"} <= set(measured.features.columns)


def test_long_channel_names_are_shortened_in_the_middle_not_scrolled(make_napari_viewer,
                                                                     qtbot):
    viewer = make_napari_viewer()
    _, green, blue = add_rgb_export(viewer, EXPORT.format(6), seed=6)
    viewer.add_labels(if_field(size=(128, 128), n_cells=5, seed=6).nuclei,
                      name=f"{blue} nuclei", metadata={"segmented_from": blue})
    dock = MeasureWidget(viewer)
    qtbot.addWidget(dock)
    dock.resize(380, 420)
    dock.show()
    qtbot.wait(10)
    listed = dock.channel_list
    width = listed.viewport().width()
    assert all(listed.visualItemRect(item).width() <= width for item in listed.items())
    drawn = listed.fontMetrics().elidedText(shown(dock)[green], listed.textElideMode(), width)
    assert "…" in drawn and drawn.endswith("→ green")     # the marker stays readable


def test_an_rgb_export_segmented_whole_then_split_measures_its_blue_as_dna(
        make_napari_viewer, qtbot):
    """The Segment dock segments an RGB layer on its colour with signal; Split RGB then gives
    the RGB layer's name to the (empty) red channel: the blue one is still the DNA."""
    viewer = make_napari_viewer()
    segment_dock, measure_dock = SegmentWidget(viewer), MeasureWidget(viewer)
    name = EXPORT.format(6)
    field = if_field(size=(128, 128), n_cells=5, seed=7)
    rgb = np.zeros((128, 128, 3), np.uint8)
    rgb[..., 2] = (field.channels["DAPI"] / field.channels["DAPI"].max() * 255).astype(np.uint8)
    rgb[..., 1] = (field.channels["RUNX2"] / field.channels["RUNX2"].max() * 150).astype(np.uint8)
    layer = viewer.add_image(rgb, name=name, rgb=True, metadata={"path": f"/data/{name}.tif"})
    qtbot.wait(10)
    segment_dock.nuclei_combo.setCurrentText(name)
    run_and_wait(qtbot, segment_dock)
    assert viewer.layers[f"{name} nuclei"].metadata["segmented_colour"] == "blue"
    viewer.layers.selection = {layer}
    _split_rgb(viewer.layers)
    qtbot.wait(10)
    measure_dock.labels_combo.setCurrentText(f"{name} nuclei")
    assert measure_dock.selected_channels() == [f"{name} [1]", f"{name} [2]"]
    assert shown(measure_dock)[f"{name} [2]"].endswith("→ DNA")
    assert shown(measure_dock)[name].endswith("→ red")
