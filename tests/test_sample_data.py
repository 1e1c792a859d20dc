"""Every sample opens in a real napari viewer with the right layers (made in a worker)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_msc_morph.widgets.sample_loading import sample_ready

EXPECTED = {
    "passage_series": {"D01_passages": "Image"},
    "osteo_time_course": {"D02_induced_days": "Image", "D02_control_days": "Image"},
    "if_field": {
        "DAPI": "Image", "actin": "Image", "RUNX2": "Image", "OSX": "Image", "OCN": "Image",
        "Ki67": "Image", "nuclei": "Labels", "cells": "Labels",
    },
    "tissue_source": {"umbilical_cord_MSC": "Image", "bone_marrow_MSC": "Image"},
    "nsc_fate": {"NSC_neuron": "Image", "NSC_astrocyte": "Image", "NSC_oligodendrocyte": "Image"},
}


def _open(viewer, qtbot, key):
    viewer.open_sample("napari-msc-morph", key)
    qtbot.waitUntil(lambda: sample_ready(viewer), timeout=120_000)


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_sample_opens_with_layer_types_names_and_scale(make_napari_viewer, qtbot, key):
    viewer = make_napari_viewer()
    _open(viewer, qtbot, key)
    kinds = {layer.name: type(layer).__name__ for layer in viewer.layers}
    assert kinds == EXPECTED[key]
    for layer in viewer.layers:
        pixel_size = layer.metadata["pixel_size_um"]
        assert 0.05 < pixel_size < 5
        # the last two axes are y, x in µm; a leading stack axis (days) keeps scale 1
        np.testing.assert_allclose(layer.scale[-2:], [pixel_size, pixel_size])
        assert [str(u) for u in layer.units[-2:]] == ["micrometer", "micrometer"]  # scale bar in µm
        assert np.isfinite(np.asarray(layer.data)).all()


def test_if_sample_channel_colormaps_and_label_agreement(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    _open(viewer, qtbot, "if_field")
    assert viewer.layers["DAPI"].colormap.name == "blue"
    assert viewer.layers["RUNX2"].colormap.name == "green"
    cells = np.asarray(viewer.layers["cells"].data)
    nuclei = np.asarray(viewer.layers["nuclei"].data)
    assert cells.shape == nuclei.shape == viewer.layers["DAPI"].data.shape
    # every nucleus lies inside the cell with the same id
    inside = nuclei > 0
    assert (cells[inside] == nuclei[inside]).all()


def test_passage_series_shows_the_study_camera_size_on_a_passage_axis(make_napari_viewer,
                                                                      qtbot):
    viewer = make_napari_viewer()
    _open(viewer, qtbot, "passage_series")
    stack = viewer.layers["D01_passages"]
    assert stack.data.shape == (4, 1944, 2592)
    assert stack.metadata["passages"] == [1, 4, 7, 10]
    assert viewer.dims.axis_labels[0] == "passage"
    viewer.dims.set_current_step(0, 2)
    assert viewer.canvas.overlays["msc_morph_stack_axis"].text == "passage P7"
