"""Thresholds that survive real fields: saturated nuclei, debris, uneven illumination."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.draw import disk

from napari_msc_morph.morphology import segment_field
from napari_msc_morph.morphology.segment import THRESHOLD_METHODS
from napari_msc_morph.synthetic import if_field


@pytest.fixture(scope="module")
def field():
    return if_field(size=(384, 384), n_cells=24, seed=2)


def _found(image, method):
    return int(segment_field(image, threshold_method=method, diameter=(6, 80)).nuclei.max())


@pytest.mark.parametrize("method", THRESHOLD_METHODS.names())
def test_one_saturated_nucleus_does_not_hide_the_others(field, method):
    dapi = field.channels["DAPI"].astype(np.float32)
    assert _found(dapi, method) >= 0.9 * len(field.truth)
    saturated = dapi.copy()
    saturated[disk((60, 60), 9)] = 40 * dapi.max()  # far beyond every other nucleus
    assert _found(saturated, method) >= 0.9 * len(field.truth)


@pytest.mark.parametrize("method", THRESHOLD_METHODS.names())
def test_uneven_illumination(field, method):
    dapi = field.channels["DAPI"].astype(np.float32)
    _, xx = np.mgrid[: dapi.shape[0], : dapi.shape[1]]
    shaded = dapi * (0.4 + 1.2 * xx / dapi.shape[1])  # 3x brighter on the right
    assert _found(shaded, method) >= 0.85 * len(field.truth)


def test_plain_otsu_would_fail_on_the_saturated_field(field):
    # the guard is needed: unclipped Otsu puts the cut between the saturated
    # nucleus and everything else
    from skimage.filters import threshold_otsu

    dapi = field.channels["DAPI"].astype(np.float32)
    saturated = dapi.copy()
    saturated[disk((60, 60), 9)] = 40 * dapi.max()
    found = int(segment_field(saturated, diameter=(6, 80)).nuclei.max())
    plain_cut = threshold_otsu(saturated)
    assert (dapi > plain_cut).mean() < 0.01 < (saturated > THRESHOLD_METHODS.get("otsu")(
        saturated)).mean()
    assert found >= 0.9 * len(field.truth)
