"""Hand fixes of a segmentation: merge, split (watershed at clicks), cut along a line."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.draw import disk

from napari_msc_morph.errors import BadInputError
from napari_msc_morph.morphology.edit import cut_label, labels_at, merge_labels, split_label


def two_touching_disks(shape=(40, 60)):
    """One label (5) holding two overlapping disks: a waist at column 30."""
    labels = np.zeros(shape, np.int32)
    left, right = disk((20, 20), 11, shape=shape), disk((20, 40), 11, shape=shape)
    labels[left] = 5
    labels[right] = 5
    labels[2:5, 2:5] = 9  # an unrelated object that must not change
    return labels, left, right


def test_merge_joins_ids_into_the_smallest_and_leaves_the_rest():
    labels = np.array([[1, 1, 0, 4], [2, 2, 0, 4], [3, 0, 0, 0]], np.uint16)
    merged = merge_labels(labels, [4, 2])
    assert merged.dtype == labels.dtype
    np.testing.assert_array_equal(merged[labels == 4], 2)
    np.testing.assert_array_equal(merged[labels == 2], 2)
    np.testing.assert_array_equal(merged[np.isin(labels, [0, 1, 3])],
                                  labels[np.isin(labels, [0, 1, 3])])
    assert set(np.unique(merged)) == {0, 1, 2, 3}
    assert labels[0, 3] == 4  # the input is not changed


def test_merge_refuses_one_id_background_and_absent_ids():
    labels = np.array([[1, 2, 0]])
    for ids in ([1], [1, 1], [0, 1]):
        with pytest.raises(BadInputError, match="two or more"):
            merge_labels(labels, ids)
    with pytest.raises(BadInputError, match=r"\[7\]"):
        merge_labels(labels, [1, 7])


def test_split_without_image_cuts_at_the_waist():
    labels, left, right = two_touching_disks()
    out = split_label(labels, 5, [(20, 18), (20, 42)])
    new = int(out.max())
    assert new == 10  # above the largest id (9)
    assert set(np.unique(out)) == {0, 5, 9, new}
    # the first seed keeps the id; the border is the waist (column 30), as drawn
    cols_5 = np.nonzero(out == 5)[1]
    cols_new = np.nonzero(out == new)[1]
    assert cols_5.max() <= 31 and cols_new.min() >= 29
    sizes = np.count_nonzero(out == 5), np.count_nonzero(out == new)
    assert abs(sizes[0] - sizes[1]) <= 0.05 * np.count_nonzero(labels == 5)
    np.testing.assert_array_equal(out[labels != 5], labels[labels != 5])


def test_split_with_image_follows_the_dim_neck():
    # a blob with no waist (a rectangle) holding two bright nuclei: shape alone cannot
    # say where the border is; the intensity can (dim gap at column 36, not the middle)
    labels = np.zeros((30, 60), np.int32)
    labels[5:25, 5:55] = 1
    image = np.zeros(labels.shape)
    image[5:25, 5:36] = 1.0
    image[5:25, 37:55] = 1.0
    image[5:25, 5:55] += np.linspace(0, 0.1, 50)  # no flat plateaus
    out = split_label(labels, 1, [(15, 10), (15, 50)], image=image)
    assert np.nonzero(out == 2)[1].min() >= 35
    assert np.nonzero(out == 1)[1].max() <= 37


def test_split_checks_its_seeds():
    labels, _, _ = two_touching_disks()
    with pytest.raises(BadInputError, match="outside label 5"):
        split_label(labels, 5, [(20, 18), (0, 59)])
    with pytest.raises(BadInputError, match="two or more"):
        split_label(labels, 5, [(20, 18), (20.2, 18.1)])  # one pixel clicked twice
    with pytest.raises(BadInputError, match="not in the labels"):
        split_label(labels, 4, [(20, 18), (20, 42)])
    with pytest.raises(BadInputError, match="outside the image"):
        split_label(labels, 5, [(20, 18), (99, 42)])
    full = np.zeros((4, 4), np.uint8)
    full[:, :2], full[:, 2:] = 1, 255
    with pytest.raises(BadInputError, match="no room"):
        split_label(full, 1, [(0, 0), (3, 1)])


def test_cut_along_a_line_splits_by_side():
    labels = np.zeros((20, 20), np.int32)
    labels[4:16, 4:16] = 3
    out = cut_label(labels, 3, (10, 0), (10, 19))  # a horizontal line through row 10
    assert set(np.unique(out)) == {0, 3, 4}
    assert (out[4:10, 4:16] == 3).all()   # left of the walk = above on screen
    assert (out[11:16, 4:16] == 4).all()
    with pytest.raises(BadInputError, match="does not cross"):
        cut_label(labels, 3, (1, 0), (1, 19))
    with pytest.raises(BadInputError, match="two different"):
        cut_label(labels, 3, (1, 1), (1, 1))


def test_labels_at_lists_clicked_ids_in_order_and_refuses_stacks():
    labels = np.array([[1, 1, 0, 2]])
    assert labels_at(labels, [(0, 3), (0, 0), (0, 1), (0, 2)]) == [2, 1]
    with pytest.raises(BadInputError, match="2D plane"):
        merge_labels(np.zeros((2, 3, 3), int), [1, 2])
