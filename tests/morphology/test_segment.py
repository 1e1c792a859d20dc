"""segment_nuclei / segment_cells on drawn and synthetic images."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from skimage.draw import disk
from skimage.metrics import adapted_rand_error

from napari_msc_morph.morphology import segment_cells, segment_nuclei
from napari_msc_morph.morphology.matching import match_labels
from napari_msc_morph.synthetic import if_field


def drawn_nuclei(seed=0):
    """Five well separated disks, one touching pair, one speck, one giant blob."""
    rng = np.random.default_rng(seed)
    img = np.full((160, 200), 100.0)
    centres = [(25, 25, 9), (25, 80, 11), (30, 150, 8), (80, 30, 10), (120, 100, 12)]
    for r, c, rad in centres:
        img[disk((r, c), rad)] = 1000
    img[disk((90, 150), 10)] = 1000       # touching pair
    img[disk((90, 168), 10)] = 1000
    img[disk((140, 20), 1.5)] = 1000      # speck below the diameter range
    img[disk((135, 165), 22)] = 1000      # blob above it
    img += rng.normal(0, 20, img.shape)
    return img.astype(np.float32)


def test_nuclei_count_split_and_size_filter():
    labels = segment_nuclei(drawn_nuclei(), diameter_range_px=(10, 30))
    assert labels.dtype == np.int32
    assert labels.max() == 7          # 5 single + 2 from the touching pair
    assert labels[140, 20] == 0 and labels[135, 165] == 0
    assert labels[90, 150] != labels[90, 168] and labels[90, 150] > 0
    areas = np.bincount(labels.ravel())[1:]
    assert np.all(areas > np.pi * 7**2)


def test_without_declumping_the_pair_stays_one():
    labels = segment_nuclei(drawn_nuclei(), diameter_range_px=(10, 40), declump=False)
    assert labels[90, 150] == labels[90, 168] > 0


def test_exclude_border_and_manual_threshold():
    img = drawn_nuclei()
    img[disk((0, 100), 10, shape=img.shape)] = 1000
    kept = segment_nuclei(img, (10, 30))
    cleared = segment_nuclei(img, (10, 30), exclude_border=True)
    assert kept[0, 100] > 0 and cleared[0, 100] == 0
    assert cleared.max() == kept.max() - 1
    assert segment_nuclei(img, (10, 30), threshold=5000).max() == 0
    li = segment_nuclei(img, (10, 30), threshold_method="li")
    assert li.max() == kept.max()


def test_on_synthetic_field_nuclei_and_cells_match_truth():
    field = if_field(size=(256, 256), n_cells=12, seed=3)
    nuclei = segment_nuclei(field.channels["DAPI"], (10, 60))
    # every true nucleus found; the generator's one nucleus with a dark chromatin
    # cleft through its middle may split in two (the brightness-aware declumping that
    # lifts real-image F1 sees two lobes there)
    scores = match_labels(field.nuclei, nuclei, (0.5,))[0]
    assert scores.fn == 0 and scores.fp <= 1
    assert adapted_rand_error(field.nuclei, nuclei)[0] < 0.1
    cells = segment_cells(field.channels["actin"], nuclei)
    assert adapted_rand_error(field.cells, cells)[0] < 0.15
    # cell k contains all of nucleus k
    assert np.all(cells[nuclei > 0] == nuclei[nuclei > 0])
    assert set(np.unique(cells)) == set(np.unique(nuclei))


def test_cells_stop_at_the_threshold():
    cyto = np.full((80, 80), 10.0)
    cyto[10:50, 10:50] = 500
    nuclei = np.zeros((80, 80), np.int32)
    nuclei[25:35, 25:35] = 3
    nuclei[65:70, 65:70] = 4     # a nucleus in the dark: its cell is just itself
    cells = segment_cells(cyto, nuclei, smoothing_sigma=0, threshold_method="otsu", method="intensity")
    assert (cells == 3).sum() == 40 * 40
    assert (cells == 4).sum() == 25
    assert segment_cells(cyto, nuclei, exclude_border=False).max() == 4


@pytest.mark.parametrize(
    "image,match",
    [
        (np.zeros((20, 20, 3), np.uint8), "RGB"),
        (np.zeros((2, 20, 20), np.uint16), "single 2D plane"),
        (np.full((20, 20), np.nan), "NaN"),
    ],
)
def test_bad_images_are_explained(image, match):
    with pytest.raises(ValueError, match=match):
        segment_nuclei(image, (5, 10))


def test_bad_arguments_are_explained():
    img = drawn_nuclei()
    with pytest.raises(ValueError, match="0 < min <= max"):
        segment_nuclei(img, (30, 10))
    with pytest.raises(ValueError, match="threshold method"):
        segment_nuclei(img, (10, 30), threshold_method="mean")
    with pytest.raises(ValueError, match="shape"):
        segment_cells(img, np.zeros((10, 10), np.int32))
    with pytest.raises(ValueError, match="integer labels"):
        segment_cells(img, np.zeros(img.shape, np.float32))


def test_cellpose_backend_missing_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "cellpose", None)
    with pytest.raises(ImportError, match=r"pip install \"napari-msc-morph\[cellpose\]\""):
        segment_nuclei(drawn_nuclei(), (10, 30), backend="cellpose")
