"""The Measure dock names columns by marker, not by layer: one RUNX2_fraction_positive."""

from __future__ import annotations

import numpy as np
import pytest

from napari_msc_morph.synthetic import if_field
from napari_msc_morph.widgets._channels import channel_name
from napari_msc_morph.widgets.measure_widget import MeasureWidget
from napari_msc_morph.widgets.results_table import get_results_table


@pytest.mark.parametrize("layer, file_channel, expected", [
    ("RUNX2", None, "RUNX2"),
    ("RUNX2 [1]", None, "RUNX2"),            # napari's suffix for a second layer of that name
    ("RUNX2 [12]", None, "RUNX2"),
    ("field_03 RUNX2", "RUNX2", "RUNX2"),    # a reader layer: the file's channel name
    ("Ki-67 (488)", None, "Ki_67_488"),
])
def test_channel_column_names_are_the_marker(layer, file_channel, expected):
    assert channel_name(layer, file_channel) == expected


def _measure(qtbot, widget, labels, channels):
    widget.labels_combo.setCurrentText(labels)
    widget.set_channels(channels)
    assert widget.run() is not None, widget.status.text()
    qtbot.waitUntil(lambda: not widget.busy and not widget.cancel_button.isEnabled(),
                    timeout=20000)


def test_two_images_fill_one_fraction_positive_column(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    widget = MeasureWidget(viewer)
    for seed in (1, 2):
        field = if_field(size=(128, 128), n_cells=5, seed=seed)
        viewer.add_image(field.channels["RUNX2"], name="RUNX2")   # the second: "RUNX2 [1]"
        viewer.add_labels(field.cells, name="cells")              # the second: "cells [1]"
    qtbot.wait(10)                   # the dock re-lists the layers once per event-loop turn
    assert "RUNX2 [1]" in viewer.layers and "cells [1]" in viewer.layers
    _measure(qtbot, widget, "cells", ["RUNX2"])
    _measure(qtbot, widget, "cells [1]", ["RUNX2 [1]"])
    assert "RUNX2_mean" in viewer.layers["cells [1]"].features.columns
    results = get_results_table(viewer).to_dataframe()
    assert len(results) == 2
    assert [c for c in results.columns if c.endswith("_fraction_positive")] == [
        "RUNX2_fraction_positive"]
    assert results["RUNX2_fraction_positive"].isna().all()   # no study threshold given
    assert results["size_weighting"].tolist() == ["miles-lantuejoul"] * 2


def test_two_layers_of_one_marker_in_one_measurement_are_refused(make_napari_viewer):
    viewer = make_napari_viewer()
    field = if_field(size=(96, 96), n_cells=3, seed=3)
    viewer.add_image(field.channels["RUNX2"], name="RUNX2")
    viewer.add_image(field.channels["RUNX2"], name="RUNX2")
    viewer.add_labels(field.cells, name="cells")
    widget = MeasureWidget(viewer)
    widget.labels_combo.setCurrentText("cells")
    widget.set_channels(["RUNX2", "RUNX2 [1]"])
    assert widget.run() is None
    assert "marker “RUNX2”" in widget.status.text()
    assert np.all(viewer.layers["cells"].data == field.cells)
