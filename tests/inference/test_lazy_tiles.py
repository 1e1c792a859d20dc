"""Huge images tile by tile: lazy reads give the same predictions as whole reads."""

import numpy as np
import pytest
import tifffile
from predict_helpers import make_bundle

import napari_msc_morph.inference.lazy as lazy_mod
import napari_msc_morph.inference.preprocess as preprocess
from napari_msc_morph._lazy import LazyImage
from napari_msc_morph.errors import BadInputError
from napari_msc_morph.inference import ImageInput, Predictor, predict_images
from napari_msc_morph.io import read_image
from napari_msc_morph.models import load_bundle

RNG = np.random.default_rng(15)


@pytest.fixture(scope="module")
def gray_grid_bundle(tmp_path_factory):
    path = make_bundle(tmp_path_factory.mktemp("lazy") / "gray", in_chans=1, tiling="grid")
    return load_bundle(path)


@pytest.fixture
def huge_from_one_pixel(monkeypatch):
    """Every TIFF/OME-Zarr counts as huge, and the intensity subsample is strided."""
    monkeypatch.setattr(lazy_mod, "LAZY_MIN_PIXELS", 1)
    monkeypatch.setattr(preprocess, "_MAX_SAMPLE_PIXELS", 5000)


def _spy_reads(monkeypatch):
    seen = []
    real = lazy_mod.read_for_prediction

    def spy(*args):
        loaded = real(*args)
        seen.append(loaded.data)
        return loaded

    monkeypatch.setattr(lazy_mod, "read_for_prediction", spy)
    return seen


def _same(lazy, eager):
    np.testing.assert_allclose(lazy.tile_probabilities, eager.tile_probabilities, atol=1e-6)
    np.testing.assert_allclose(lazy.probabilities, eager.probabilities, atol=1e-6)
    assert lazy.maps.keys() == eager.maps.keys() and lazy.maps
    for name in eager.maps:
        np.testing.assert_allclose(lazy.maps[name], eager.maps[name], atol=1e-6)
    assert lazy.map_scale == eager.map_scale and lazy.map_translate == eager.map_translate


def test_bigtiff_read_tile_by_tile_equals_the_whole_read(tmp_path, gray_grid_bundle,
                                                         huge_from_one_pixel, monkeypatch):
    data = RNG.integers(200, 4000, (410, 530), dtype=np.uint16)
    path = tmp_path / "mosaic.tif"
    tifffile.imwrite(path, data, bigtiff=True, tile=(128, 128))
    seen = _spy_reads(monkeypatch)
    predictor = Predictor(gray_grid_bundle, device="cpu", precision="fp32", batch_size=4)
    with monkeypatch.context() as patch:
        # the file is never decoded whole: tifffile's whole-series read would fail here
        patch.setattr(tifffile.TiffPageSeries, "asarray",
                      lambda *a, **k: pytest.fail("the whole series was read"))
        lazy, = predict_images(predictor, [path], overlap=0.25)
    assert isinstance(seen[0], LazyImage) and seen[0].dtype == np.uint16
    # crops come from bands of whole chunks: far fewer store reads than crops
    assert 1 <= seen[0].reads < lazy.n_tiles
    eager, = predict_images(predictor, [ImageInput(data, name=str(path))], overlap=0.25)
    assert lazy.n_tiles == eager.n_tiles > 20
    _same(lazy, eager)


def test_stacked_tiff_planes_lazily_equal_in_memory(tmp_path, gray_grid_bundle,
                                                    huge_from_one_pixel):
    data = RNG.integers(0, 255, (2, 150, 140), dtype=np.uint8)
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, data, bigtiff=True, tile=(64, 64))
    predictor = Predictor(gray_grid_bundle, device="cpu", precision="fp32")
    lazy, = predict_images(predictor, [path], overlap=0.0)
    eager, = predict_images(predictor, [data], overlap=0.0)
    assert lazy.leading_shape == (2,) and len(lazy.planes) == 2
    _same(lazy, eager)


def test_ome_zarr_read_tile_by_tile_equals_in_memory(tmp_path, gray_grid_bundle,
                                                     huge_from_one_pixel, monkeypatch):
    from bioio_ome_zarr.writers import OMEZarrWriter

    data = RNG.integers(0, 3000, (1, 1, 200, 260), dtype=np.uint16)  # CZYX
    store = tmp_path / "mosaic.ome.zarr"
    writer = OMEZarrWriter(
        store, level_shapes=[data.shape], dtype=data.dtype,
        axes_names=["c", "z", "y", "x"], axes_types=["channel", "space", "space", "space"],
        axes_units=[None, "micrometer", "micrometer", "micrometer"],
        physical_pixel_size=[1.0, 1.0, 0.65, 0.65],
    )
    writer.write_full_volume(data)
    seen = _spy_reads(monkeypatch)
    predictor = Predictor(gray_grid_bundle, device="cpu", precision="fp32")
    lazy, = predict_images(predictor, [store], overlap=0.5)
    assert isinstance(seen[0], LazyImage) and seen[0].shape == (200, 260)
    assert lazy.pixel_size_um == pytest.approx(0.65) and lazy.pixel_size_source == "file"
    eager, = predict_images(predictor, [data[0, 0]], overlap=0.5)
    _same(lazy, eager)


def test_lazy_image_is_never_converted_whole(tmp_path):
    path = tmp_path / "big.tif"
    tifffile.imwrite(path, np.zeros((300, 300), np.uint16), bigtiff=True, tile=(64, 64))
    image = read_image(path, lazy=True).data
    with pytest.raises(BadInputError, match=r"big\.tif .*tile by tile.*--tiling grid"):
        np.asarray(image)
    crop = image[10:74, 20:84]
    assert isinstance(crop, np.ndarray) and crop.shape == (64, 64)


def test_small_files_are_still_read_whole(tmp_path, gray_grid_bundle, monkeypatch):
    seen = _spy_reads(monkeypatch)
    path = tmp_path / "field.tif"
    tifffile.imwrite(path, RNG.integers(0, 255, (100, 120), dtype=np.uint8))
    predict_images(gray_grid_bundle, [path], device="cpu", precision="fp32")
    assert isinstance(seen[0], np.ndarray)
    assert lazy_mod.LAZY_MIN_PIXELS == 4096 * 4096


def test_rgb_bigtiff_lazily_equals_in_memory(tmp_path, osteo_bundle, huge_from_one_pixel):
    data = RNG.integers(0, 255, (140, 170, 3), dtype=np.uint8)
    path = tmp_path / "rgb.tif"
    tifffile.imwrite(path, data, bigtiff=True, tile=(64, 64), photometric="rgb")
    predictor = Predictor(osteo_bundle, device="cpu", precision="fp32")
    lazy, = predict_images(predictor, [path], tiling="grid", overlap=0.5)
    eager, = predict_images(predictor, [data], tiling="grid", overlap=0.5)
    assert lazy.n_tiles == eager.n_tiles == 12
    _same(lazy, eager)
