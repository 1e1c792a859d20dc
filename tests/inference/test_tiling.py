import numpy as np
import pytest

from napari_msc_morph.inference import center_box, grid_layout, six_region_boxes, tile_boxes


def test_six_region_boxes_passage_setting():
    boxes = six_region_boxes((1944, 2592, 3), 448)
    expected = [
        (0, 0), (0, 1072), (0, 2144),        # upper-left, -middle, -right
        (1496, 0), (1496, 1072), (1496, 2144),  # lower row
    ]
    assert [tuple(b[:2]) for b in boxes] == expected
    assert np.all(boxes[:, 2] - boxes[:, 0] == 448) and np.all(boxes[:, 3] - boxes[:, 1] == 448)
    assert boxes[:, 2].max() == 1944 and boxes[:, 3].max() == 2592


def test_six_boxes_on_exact_crop_and_errors():
    assert np.all(six_region_boxes((64, 64), 64) == [0, 0, 64, 64])
    with pytest.raises(ValueError, match="smaller than the 64 px crop"):
        six_region_boxes((63, 100), 64)


def test_center_box():
    assert center_box((100, 200), 64).tolist() == [[18, 68, 82, 132]]


def test_grid_layout_covers_and_is_centred():
    grid = grid_layout((300, 200), 64, overlap=0.5)
    assert grid.stride == 32
    assert (grid.n_rows, grid.n_cols) == (1 + (300 - 64) // 32, 1 + (200 - 64) // 32)
    boxes = grid.boxes()
    assert len(boxes) == grid.n_rows * grid.n_cols
    assert boxes[:, 2].max() <= 300 and boxes[:, 3].max() <= 200
    # leftover margin split on both sides
    margin_y = 300 - boxes[:, 2].max()
    assert abs(boxes[0, 0] - margin_y) <= 1
    # row-major order
    assert boxes[1, 1] - boxes[0, 1] == 32 and boxes[grid.n_cols, 0] - boxes[0, 0] == 32


def test_grid_map_translate_is_first_tile_centre():
    grid = grid_layout((300, 200), 64, overlap=0.25)
    boxes = grid.boxes().reshape(grid.n_rows, grid.n_cols, 4)
    for i, j in [(0, 0), (2, 1), (grid.n_rows - 1, grid.n_cols - 1)]:
        centre = ((boxes[i, j, 0] + boxes[i, j, 2] - 1) / 2, (boxes[i, j, 1] + boxes[i, j, 3] - 1) / 2)
        mapped = tuple(t + s * k for t, s, k in zip(grid.map_translate, grid.map_scale, (i, j)))
        assert mapped == pytest.approx(centre)


def test_tile_boxes_dispatch():
    assert len(tile_boxes("six", (128, 128), 64)) == 6
    assert len(tile_boxes("center", (128, 128), 64)) == 1
    assert len(tile_boxes("grid", (128, 128), 64, overlap=0.0)) == 4
    with pytest.raises(ValueError, match="Unknown tiling"):
        tile_boxes("random", (128, 128), 64)
