"""Segment dock: nucleus size found without being told, one threshold for a whole stack."""

from __future__ import annotations

import numpy as np
import pytest

from napari_msc_morph.morphology import segment_field
from napari_msc_morph.morphology.segment import nuclear_threshold, signal_sample
from napari_msc_morph.synthetic import if_field
from napari_msc_morph.widgets.segment_widget import SCOPE_PLANE, SCOPE_STACK, SegmentWidget


@pytest.fixture(scope="module")
def stack():
    """Two fields with nuclei and an empty well (background noise only) as one stack."""
    planes = [if_field(size=(160, 160), n_cells=6, seed=s).channels["DAPI"] for s in (1, 2)]
    empty = np.random.default_rng(0).normal(120, 15, (160, 160)).clip(0).astype(planes[0].dtype)
    return np.stack([*planes, empty])


def segment(qtbot, widget):
    assert widget.run() is not None, widget.status.text()
    qtbot.waitUntil(lambda: not widget.busy and not widget.cancel_button.isEnabled(),
                    timeout=30000)


def test_diameter_is_estimated_by_default_and_said(make_napari_viewer, qtbot, stack):
    viewer = make_napari_viewer()
    viewer.add_image(stack[0], name="DAPI")
    widget = SegmentWidget(viewer)
    assert widget.auto_diameter.isChecked()
    segment(qtbot, widget)
    assert "estimated from the image" in widget.status.text()
    expected = segment_field(stack[0])
    np.testing.assert_array_equal(viewer.layers["DAPI nuclei"].data, expected.nuclei)
    widget.min_diameter.setValue(6)          # typing a range switches the estimate off
    assert not widget.auto_diameter.isChecked()


def test_whole_stack_scope_uses_one_threshold(make_napari_viewer, qtbot, stack):
    viewer = make_napari_viewer()
    viewer.add_image(stack, name="DAPI")
    viewer.dims.set_current_step(0, 2)       # the empty well on screen
    widget = SegmentWidget(viewer)
    widget.exclude_border.setChecked(False)
    assert widget.scope.currentText() == SCOPE_PLANE
    segment(qtbot, widget)
    own = viewer.layers["DAPI nuclei"].data.max()
    assert own > 0                            # its own threshold cuts noise into "nuclei"
    widget.scope.setCurrentText(SCOPE_STACK)
    segment(qtbot, widget)
    assert viewer.layers["DAPI nuclei"].data.max() == 0
    threshold = nuclear_threshold([signal_sample(plane) for plane in stack])
    assert f"{threshold:.4g} (study)" in widget.status.text()
