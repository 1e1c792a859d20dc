"""Pre-flight memory and lying headers: a clear refusal instead of a dead viewer (issue 24.2, 25)."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

import napari_msc_morph.memory as memory
from napari_msc_morph.errors import BadInputError
from napari_msc_morph.io import read_image


def lying_header(path, size=2**31):
    tifffile.imwrite(path, np.ones((16, 16), np.uint8))
    with tifffile.TiffFile(path, mode="r+") as tif:
        tif.pages[0].tags["ImageWidth"].overwrite(size)
        tif.pages[0].tags["ImageLength"].overwrite(size)
    return path


def test_header_claiming_2_31_squared_pixels_is_refused_naming_the_file(tmp_path):
    path = lying_header(tmp_path / "liar.tif")
    for lazy in (False, True):  # the napari reader opens such a size lazily: refused too
        with pytest.raises(BadInputError) as err:
            read_image(path, lazy=lazy)
        message = str(err.value)
        for part in ("liar.tif", "header and the data disagree", "2147483648 x 2147483648",
                     "4.00 EiB", "512 B"):
            assert part in message, message


def test_napari_reader_refuses_the_lying_header_before_making_a_layer(tmp_path):
    from napari_msc_morph._reader import read_layers

    with pytest.raises(BadInputError, match="header and the data disagree"):
        read_layers(str(lying_header(tmp_path / "liar.tif")))


def test_a_file_larger_than_free_memory_is_refused_before_reading(tmp_path, monkeypatch):
    tifffile.imwrite(tmp_path / "big.tif", np.zeros((256, 256), np.uint16), compression="zlib")
    monkeypatch.setattr(memory, "available_bytes", lambda: 64 * 1024)  # 64 KiB free
    with pytest.raises(BadInputError, match=r"big.tif: reading 256 x 256 px.*128.0 KiB"):
        read_image(tmp_path / "big.tif")
    monkeypatch.setattr(memory, "available_bytes", lambda: 1 << 30)
    assert read_image(tmp_path / "big.tif").data.shape == (256, 256)


def test_check_fits_names_what_and_advice():
    with pytest.raises(BadInputError, match="x needs about 14.0 GiB.*only 8.0 GiB is free; do y"):
        memory.check_fits(14 * 2**30, "x", "do y", available=8 * 2**30)
    memory.check_fits(6 * 2**30, "x", "do y", available=8 * 2**30)
    assert memory.available_bytes() > 0


def test_predict_at_100_um_per_px_is_refused_before_resampling(tmp_path, monkeypatch):
    # issue 25: predict --pixel-size-um 100 on a 400 x 400 image allocated 14 GiB
    from types import SimpleNamespace

    from napari_msc_morph.inference.crops import tile_image

    monkeypatch.setattr(memory, "available_bytes", lambda: 16 * 2**30)
    config = SimpleNamespace(tiling="grid", grid_overlap=0.0, input_size=32, pixel_size_um=0.65)
    image = np.zeros((400, 400), np.uint16)
    with pytest.raises(BadInputError) as err:
        tile_image(image, config, name="field.tif", pixel_size_um=100.0)
    for part in ("field.tif", "400 x 400 px at 100 µm/px", "0.65 µm/px", "61538 x 61538",
                 "--pixel-size-um"):
        assert part in str(err.value)
    tiled = tile_image(image, config, name="field.tif", pixel_size_um=0.325)  # fits
    assert tiled.work_shape == (200, 200)


def test_segmenting_a_plane_larger_than_memory_allows_is_refused_first(monkeypatch):
    from napari_msc_morph.morphology import segment_nuclei
    from napari_msc_morph.morphology.segment import SEGMENT_BYTES_PER_PIXEL

    image = np.zeros((100, 100), np.uint16)
    monkeypatch.setattr(memory, "available_bytes", lambda: 100 * 100 * SEGMENT_BYTES_PER_PIXEL)
    with pytest.raises(BadInputError, match="segmenting nuclei image \\(100 x 100 px\\).*bin it"):
        segment_nuclei(image)
    monkeypatch.setattr(memory, "available_bytes", lambda: 1 << 30)
    assert segment_nuclei(image).shape == (100, 100)


def test_a_compressed_file_claiming_far_more_than_it_can_hold_is_refused(tmp_path):
    path = tmp_path / "zipped_liar.tif"
    tifffile.imwrite(path, np.ones((64, 64), np.uint8), compression="zlib")
    with tifffile.TiffFile(path, mode="r+") as tif:
        tif.pages[0].tags["ImageWidth"].overwrite(2**20)
        tif.pages[0].tags["ImageLength"].overwrite(2**20)
    with pytest.raises(BadInputError, match="zipped_liar.tif.*disagree.*1.0 TiB.*100,000 times"):
        read_image(path, lazy=True)  # the napari reader's path: never a 1 TiB layer
