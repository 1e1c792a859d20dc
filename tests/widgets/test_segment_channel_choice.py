"""Issue 24: after Split RGB of a DAPI export the Segment dock chose the empty red channel
and reported "0 nuclei"; an empty channel is now never the default, and is refused by name."""

from __future__ import annotations

import numpy as np

from napari_msc_morph.synthetic import if_field
from napari_msc_morph.widgets.segment_widget import SegmentWidget


def test_split_rgb_export_defaults_to_the_channel_with_signal(make_napari_viewer):
    viewer = make_napari_viewer()
    dapi = if_field(size=(128, 128), n_cells=5, seed=2).channels["DAPI"]
    blue = (dapi / dapi.max() * 255).astype(np.uint8)
    empty = np.zeros_like(blue)
    # what napari's Split RGB makes of an 8-bit RGB export of DAPI
    for k, data in enumerate((empty, empty, blue)):
        viewer.add_image(data, name=f"hMSC_DAPI_40x [{k}]")
    widget = SegmentWidget(viewer)
    assert widget.nuclei_combo.currentText() == "hMSC_DAPI_40x [2]"

    widget.nuclei_combo.setCurrentText("hMSC_DAPI_40x [0]")
    assert widget.run() is None
    status = widget.status.text()
    assert "hMSC_DAPI_40x [0]" in status and "no signal" in status and "0 nuclei" not in status


def test_every_segment_control_has_a_tooltip(make_napari_viewer):
    """Issue 24: 1 of 8 Segment controls had a tooltip."""
    widget = SegmentWidget(make_napari_viewer())
    controls = (widget.nuclei_combo, widget.cyto_combo, widget.min_diameter, widget.max_diameter,
                widget.auto_diameter, widget.threshold, widget.scope, widget.backend,
                widget.exclude_border)
    assert all(control.toolTip() for control in controls)


def test_backend_missing_from_this_install_is_named_with_its_extra(make_napari_viewer,
                                                                   monkeypatch):
    """Issue 23.4: without cellpose the dock says which extra adds it."""
    from napari_msc_morph.morphology import segment

    monkeypatch.setattr(segment, "find_spec", lambda name: None)
    widget = SegmentWidget(make_napari_viewer())
    assert [widget.backend.itemText(i) for i in range(widget.backend.count())] == ["classic"]
    assert widget.backend_note.text() == 'cellpose: pip install "napari-msc-morph[cellpose]"'


def test_installed_cellpose_is_offered_without_a_note(make_napari_viewer):
    widget = SegmentWidget(make_napari_viewer())
    assert "cellpose" in [widget.backend.itemText(i) for i in range(widget.backend.count())]
    assert widget.backend_note.text() == "" and widget.backend_note.isHidden()
