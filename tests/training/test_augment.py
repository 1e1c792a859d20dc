"""Augmentations: deterministic per sample, geometry right, jitter bounded."""

import numpy as np

from napari_msc_morph.training.augment import AugmentConfig, color_jitter, random_crop, sample_rng

#: no augmentation at all (plain crops)
NO_AUGMENT = AugmentConfig(hflip=False, vflip=False, rotation_deg=0.0, brightness=0.0,
                           contrast=0.0, saturation=0.0, channel_gain=0.0)


def test_same_seed_same_crop_and_different_samples_differ():
    field = np.random.default_rng(0).random((100, 120)).astype(np.float32)
    config = AugmentConfig()
    a = random_crop(field, 32, sample_rng(0, 1, 5), config)
    b = random_crop(field, 32, sample_rng(0, 1, 5), config)
    c = random_crop(field, 32, sample_rng(0, 1, 6), config)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (32, 32) and a.dtype == np.float32


def test_plain_crop_is_a_slice_of_the_field():
    field = np.arange(50 * 60, dtype=np.float32).reshape(50, 60)
    crop = random_crop(field, 16, sample_rng(1, 0, 0), NO_AUGMENT)
    y0, x0 = np.argwhere(field == crop[0, 0])[0]
    np.testing.assert_array_equal(crop, field[y0:y0 + 16, x0:x0 + 16])


def test_rotation_by_90_degrees_matches_rot90():
    # a centred field exactly the size of the crop: the only position is the centre
    field = np.random.default_rng(2).random((21, 21)).astype(np.float32)
    config = AugmentConfig(hflip=False, vflip=False, rotation_deg=90.0)

    class Fixed:
        def __init__(self):
            self.calls = 0

        def uniform(self, lo, hi, *a):
            self.calls += 1
            return hi if self.calls == 1 else (lo + hi) / 2

        def random(self):
            return 0.9

    crop = random_crop(field, 21, Fixed(), config)
    rotated = [np.rot90(field, k) for k in (1, 3)]
    assert min(np.abs(crop - r).max() for r in rotated) < 1e-4


def test_rgb_crop_and_color_jitter_bounds():
    field = np.random.default_rng(3).random((80, 80, 3)).astype(np.float32)
    rng = sample_rng(0, 0, 0)
    crop = random_crop(field, 40, rng, AugmentConfig())
    assert crop.shape == (40, 40, 3)
    out = color_jitter(crop, rng, AugmentConfig(brightness=0.5, contrast=0.5, saturation=0.5))
    assert out.min() >= 0 and out.max() <= 1
    same = color_jitter(crop, rng, NO_AUGMENT)
    np.testing.assert_allclose(same, crop)


def test_centre_crop_without_translation_is_the_middle_of_the_field():
    field = np.arange(50 * 60, dtype=np.float32).reshape(50, 60)
    crop = random_crop(field, 16, sample_rng(1, 0, 0), NO_AUGMENT, position="center")
    np.testing.assert_array_equal(crop, field[17:33, 22:38])
