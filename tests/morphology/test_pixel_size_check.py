"""One pixel-size check for segmentation and measurement, each with its own message."""

from __future__ import annotations

import numpy as np
import pytest

from napari_msc_morph.errors import BadInputError
from napari_msc_morph.morphology import check_segment_inputs
from napari_msc_morph.morphology._checks import check_pixel_size


@pytest.mark.parametrize("value", [-1, 0, float("nan"), float("inf")])
def test_segmentation_and_measurement_refuse_a_pixel_size_that_is_not_positive(value):
    image = np.random.default_rng(0).random((16, 16))
    with pytest.raises(BadInputError, match=r"µm: give a positive number or none\.$"):
        check_segment_inputs(image, pixel_size_um=value)
    with pytest.raises(BadInputError, match=r"^pixel size must be a positive number of µm, got"):
        check_pixel_size(value)
    check_segment_inputs(image, pixel_size_um=0.5)
    assert check_pixel_size((0.5, 0.5)) == 0.5
