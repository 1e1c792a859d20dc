"""The napari reader leaves huge and pyramid TIFF/OME-Zarr files on disk: dask arrays."""

import dask.array as da
import numpy as np
import pytest
import tifffile

import napari_msc_morph._lazy as lazy
from napari_msc_morph._reader import read_layers

RNG = np.random.default_rng(3)


def _pyramid(path, data):
    with tifffile.TiffWriter(path, bigtiff=True) as tif:
        tif.write(data, tile=(128, 128), subifds=2, resolution=(1 / 0.5, 1 / 0.5),
                  resolutionunit=5)
        for factor in (2, 4):
            tif.write(data[::factor, ::factor], tile=(128, 128), subfiletype=1)


@pytest.fixture
def no_whole_reads(monkeypatch):
    monkeypatch.setattr(tifffile.TiffPageSeries, "asarray",
                        lambda *a, **k: pytest.fail("the reader decoded the whole file"))


def test_pyramid_bigtiff_opens_as_multiscale_dask(tmp_path, no_whole_reads):
    data = RNG.integers(0, 4000, (640, 512), dtype=np.uint16)
    _pyramid(tmp_path / "mosaic.tif", data)
    (levels, meta, kind), = read_layers(tmp_path / "mosaic.tif")
    assert kind == "image" and meta["multiscale"] is True
    assert all(isinstance(level, da.Array) for level in levels)
    assert [level.shape for level in levels] == [(640, 512), (320, 256), (160, 128)]
    assert levels[0].chunksize == (128, 128)
    assert meta["scale"] == pytest.approx([0.5, 0.5])
    np.testing.assert_array_equal(levels[1][40:90, 7:99].compute(), data[::2, ::2][40:90, 7:99])


def test_large_bigtiff_opens_as_dask_per_channel(tmp_path, monkeypatch, no_whole_reads):
    monkeypatch.setattr(lazy, "READER_LAZY_BYTES", 100_000)  # "large" for this test
    data = RNG.integers(0, 255, (2, 300, 256), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "big.ome.tif", data, bigtiff=True, tile=(64, 64),
                     metadata={"axes": "CYX", "Channel": {"Name": ["DAPI", "Actin"]}})
    layers = read_layers(tmp_path / "big.ome.tif")
    assert [meta["name"] for _, meta, _ in layers] == ["big DAPI", "big Actin"]
    for k, (layer, meta, _) in enumerate(layers):
        assert isinstance(layer, da.Array) and "multiscale" not in meta
        assert layer.shape == (300, 256) and layer.chunksize == (64, 64)
        np.testing.assert_array_equal(layer[:70, 200:].compute(), data[k, :70, 200:])


def test_small_tiff_is_still_read_whole(tmp_path):
    data = RNG.integers(0, 255, (60, 70), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "small.tif", data)
    assert not lazy.reads_lazily(tmp_path / "small.tif")
    (layer, _, _), = read_layers(tmp_path / "small.tif")
    assert isinstance(layer, np.ndarray)
    np.testing.assert_array_equal(layer, data)


def test_napari_shows_the_pyramid_without_loading_it(tmp_path, make_napari_viewer):
    data = RNG.integers(0, 4000, (512, 512), dtype=np.uint16)
    _pyramid(tmp_path / "mosaic.tif", data)
    viewer = make_napari_viewer()
    layer, = viewer.open(str(tmp_path / "mosaic.tif"), plugin="napari-msc-morph")
    assert layer.multiscale and len(layer.data) == 3
    assert isinstance(layer.data[0], da.Array)
    assert layer.metadata["pixel_size_um"] == pytest.approx(0.5)
