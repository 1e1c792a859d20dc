"""Object matching by IoU, and segmentation that finds the nuclei's scale by itself."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.draw import disk
from skimage.transform import downscale_local_mean

from napari_msc_morph.morphology import segment_field
from napari_msc_morph.morphology.matching import iou_matrix, match_labels
from napari_msc_morph.morphology.scale import (
    DEFAULT_DIAMETER_UM,
    estimate_nucleus_diameter,
    nucleus_scale,
)
from napari_msc_morph.synthetic import if_field


def test_matching_on_a_hand_computed_case():
    truth = np.zeros((4, 10), np.int32)
    pred = np.zeros((4, 10), np.int32)
    truth[:, 0:4] = 1          # 16 px
    truth[:, 6:8] = 2          # 8 px
    truth[0, 9] = 7            # 1 px, label ids need not be sequential
    pred[:, 1:4] = 5           # inside truth 1: IoU 12/16 = 0.75
    pred[:, 5:7] = 3           # half on truth 2: IoU 4/(8 + 8 - 4) = 1/3
    pred[3, 9] = 4             # next to truth 7, no overlap
    iou = iou_matrix(truth, pred)
    assert iou.shape == (7, 5)
    assert iou[0, 4] == pytest.approx(0.75) and iou[1, 2] == pytest.approx(1 / 3)
    at_half, at_third = match_labels(truth, pred, (0.5, 0.3))
    assert (at_half.tp, at_half.fp, at_half.fn) == (1, 2, 2)
    assert at_half.precision == pytest.approx(1 / 3) and at_half.recall == pytest.approx(1 / 3)
    assert at_half.f1 == pytest.approx(2 / (2 + 2 + 2)) and at_half.ap == pytest.approx(1 / 5)
    assert (at_third.tp, at_third.fp, at_third.fn) == (2, 1, 1)


def test_matching_pairs_one_to_one():
    # one big prediction over two true nuclei matches at most one of them
    truth = np.zeros((6, 12), np.int32)
    truth[:, :6], truth[:, 6:] = 1, 2
    pred = np.zeros_like(truth)
    pred[:, :10] = 1
    scores = match_labels(truth, pred, (0.1,))[0]
    assert (scores.tp, scores.fp, scores.fn) == (1, 0, 1)


def test_diameter_estimate_of_drawn_nuclei():
    img = np.zeros((240, 240))
    rng = np.random.default_rng(0)
    for r in range(30, 240, 60):
        for c in range(30, 240, 60):
            img[disk((r, c), 10)] = 1.0
    img[disk((90, 120), 10)] = 1.0  # a touching pair counts as two, not as one blob
    img += rng.normal(0, 0.05, img.shape)
    # discs: inscribed = equivalent diameter, so the estimate reads 20 / 0.88
    assert estimate_nucleus_diameter(img) == pytest.approx(20 / 0.88, rel=0.15)
    assert estimate_nucleus_diameter(np.zeros((50, 50))) is None


def test_scale_sources():
    img = if_field(size=(256, 256), n_cells=12, seed=1).channels["DAPI"]
    estimated = nucleus_scale(img)
    assert estimated.source == "estimated" and estimated.low < estimated.typical < estimated.high
    given = nucleus_scale(img, (5, 10))
    assert given.source == "given" and given.typical == 10  # the estimate, clipped
    microns = nucleus_scale(img, pixel_size_um=0.5)
    assert microns.source == "pixel size"
    assert (microns.low, microns.high) == pytest.approx([d / 0.5 for d in DEFAULT_DIAMETER_UM])
    assert "estimated from the image" in estimated.describe()


@pytest.fixture(scope="module")
def magnifications():
    """One field at 40x and the same field binned 4x4 (10x)."""
    field = if_field(size=(512, 512), n_cells=30, seed=4)
    dapi = field.channels["DAPI"].astype(np.float32)
    return dapi, downscale_local_mean(dapi, (4, 4)).astype(np.float32)


def test_10x_and_40x_give_the_same_density_without_being_told(magnifications):
    high, low = magnifications
    at_40x = segment_field(high, exclude_border=False)
    at_10x = segment_field(low, exclude_border=False)
    # the same area: counts per unit area within 10 %
    assert abs(at_10x.counts["nuclei"] - at_40x.counts["nuclei"]) <= 0.1 * at_40x.counts["nuclei"]
    assert at_10x.scale.typical == pytest.approx(at_40x.scale.typical / 4, rel=0.2)
    assert "estimated from the image" in at_10x.summary()
    # the old fixed 8-80 px range loses most 10x nuclei (about 5 px across)
    fixed = segment_field(low, diameter=(8, 80), exclude_border=False)
    assert fixed.counts["nuclei"] < 0.9 * at_40x.counts["nuclei"]


def test_with_a_pixel_size_the_default_range_is_in_microns(magnifications):
    high, low = magnifications
    at_40x = segment_field(high, pixel_size_um=0.325, exclude_border=False)
    at_10x = segment_field(low, pixel_size_um=1.3, exclude_border=False)
    assert at_10x.scale.source == at_40x.scale.source == "pixel size"
    assert at_10x.scale.low == pytest.approx(at_40x.scale.low / 4)
    assert abs(at_10x.counts["nuclei"] - at_40x.counts["nuclei"]) <= 0.1 * at_40x.counts["nuclei"]
