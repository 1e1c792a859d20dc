"""The two readings of the passage study's six regions (issue 22, point 8): `six` and `six-regions`."""

import numpy as np
import pytest

from napari_msc_morph.inference import Predictor
from napari_msc_morph.tiling import TILINGS, six_partition_boxes, six_region_boxes, tile_boxes


def _region_of(box, shape, n_rows, n_cols):
    """(row, col) of the region of a ``n_rows`` x ``n_cols`` partition holding the box centre."""
    cy, cx = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return int(cy * n_rows // shape[0]), int(cx * n_cols // shape[1])


def test_both_readings_are_registered_tilings():
    assert {"six", "six-regions"} <= set(TILINGS.names())
    assert "Assumed" in TILINGS.help("six") and "other reading" in TILINGS.help("six-regions")
    assert np.array_equal(tile_boxes("six-regions", (1944, 2592), 448),
                          six_partition_boxes((1944, 2592), 448))


def test_six_regions_partition_a_landscape_field_three_by_two():
    shape = (1944, 2592)  # the passage study's camera
    boxes = six_partition_boxes(shape, 448)
    assert boxes.shape == (6, 4)
    assert np.all(boxes[:, 2] - boxes[:, 0] == 448) and np.all(boxes[:, 3] - boxes[:, 1] == 448)
    # one crop per region of the 2 rows x 3 columns partition, centred on it
    regions = [_region_of(b, shape, 2, 3) for b in boxes]
    assert regions == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    centres = [((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for b in boxes]
    assert centres[0] == pytest.approx((1944 / 4, 2592 / 6), abs=1)
    assert centres[5] == pytest.approx((3 * 1944 / 4, 5 * 2592 / 6), abs=1)
    # unlike `six`, whose crops sit in the field's corners and on its edges
    corners = six_region_boxes(shape, 448)
    assert corners[0].tolist() == [0, 0, 448, 448]
    assert not np.array_equal(boxes, corners)
    assert boxes[:, 0].min() > 0 and boxes[:, 2].max() < shape[0]


def test_six_regions_of_a_portrait_field_are_two_by_three():
    shape = (2592, 1944)
    boxes = six_partition_boxes(shape, 448)
    assert [_region_of(b, shape, 3, 2) for b in boxes] == [
        (0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]


def test_regions_smaller_than_the_crop_stay_inside_the_field():
    boxes = six_partition_boxes((300, 400), 256)
    assert boxes[:, :2].min() >= 0 and boxes[:, 2].max() <= 300 and boxes[:, 3].max() <= 400
    with pytest.raises(ValueError, match="smaller than the 256 px crop"):
        six_partition_boxes((200, 400), 256)


def test_predict_with_six_regions_averages_six_crops(osteo_bundle):
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (160, 240), dtype=np.uint8)
    predictor = Predictor(osteo_bundle, device="cpu", precision="fp32")
    result = predictor.predict(image, tiling="six-regions")
    assert len(result.tile_probabilities) == 6
    assert np.allclose(result.probabilities, np.mean(result.tile_probabilities, axis=0))
    other = predictor.predict(image, tiling="six")
    assert not np.allclose(result.tile_probabilities, other.tile_probabilities)
