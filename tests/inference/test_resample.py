"""Images at another pixel size than the model's are resampled, and maps stay aligned."""

import numpy as np
import pytest

from napari_msc_morph.inference.preprocess import (
    downscale_blocks,
    resample_factor,
    resample_plane,
    resampled_shape,
)


def test_resample_factor_rounds_near_integers_and_ignores_small_differences():
    assert resample_factor(None, 1.3) == 1.0
    assert resample_factor(0.65, None) == 1.0
    assert resample_factor(0.65, 0.68) == 1.0  # within 10%
    assert resample_factor(0.65, 1.3) == 2.0
    assert resample_factor(0.65, 1.31) == 2.0
    assert resample_factor(0.5, 0.8) == pytest.approx(1.6)
    assert resample_factor(1.3, 0.65) == pytest.approx(0.5)  # coarser image: upsampled


def test_resample_plane_matches_training_block_average_and_predicted_shape():
    plane = np.arange(7 * 9, dtype=np.uint16).reshape(7, 9)
    out = resample_plane(plane, 2.0)
    np.testing.assert_array_equal(out, downscale_blocks(plane, 2))
    assert out.shape == resampled_shape(plane.shape, 2.0) == (3, 4)
    assert out[0, 0] == round(np.mean([0, 1, 9, 10]))
    odd = resample_plane(plane, 1.6)
    assert odd.shape == resampled_shape(plane.shape, 1.6)
    rgb = np.zeros((8, 8, 3), np.uint8)
    assert resample_plane(rgb, 2.0).shape == (4, 4, 3)


def test_predictor_resamples_to_the_bundle_pixel_size_and_scales_maps_back(tmp_path):
    from predict_helpers import make_bundle

    from napari_msc_morph.inference import Predictor
    from napari_msc_morph.models import load_bundle

    path = make_bundle(tmp_path / "coarse.zip", in_chans=1, tiling="grid", pixel_size_um=1.3)
    predictor = Predictor(load_bundle(path), device="cpu", precision="fp32")
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (256, 320), dtype=np.uint8)
    at_model_size = predictor.predict(downscale_blocks(image, 2), tiling="grid")
    resampled = predictor.predict(image, tiling="grid", pixel_size_um=0.65)
    # the network saw exactly the pixels of the block-averaged image
    np.testing.assert_allclose(resampled.probabilities, at_model_size.probabilities, atol=1e-6)
    assert any("resampled" in notice for notice in resampled.notices)
    # boxes and map geometry come back in the original image's pixels
    np.testing.assert_allclose(resampled.boxes, at_model_size.boxes * 2)
    np.testing.assert_allclose(resampled.map_scale, np.asarray(at_model_size.map_scale) * 2)
    np.testing.assert_allclose(resampled.map_translate, np.asarray(at_model_size.map_translate) * 2)
    # same pixel size: nothing changes
    same = predictor.predict(image, tiling="grid", pixel_size_um=1.3)
    assert not any("resampled" in notice for notice in same.notices)
