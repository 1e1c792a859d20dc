"""FILE:CHANNEL selection and z projection from real multichannel files."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from napari_msc_morph.channels import parse_image_spec, read_channel
from napari_msc_morph.errors import BadInputError
from napari_msc_morph.io import write_tiff


@pytest.fixture
def cyx(tmp_path):
    data = np.stack([np.full((6, 7), v, np.uint16) for v in (10, 20, 30)])
    path = tmp_path / "stack.tif"
    write_tiff(data, path, pixel_size_um=0.5, axes="CYX", channel_names=["DAPI", "Actin", "RUNX2"])
    return path


def test_channel_by_index_and_by_name(cyx):
    assert read_channel(f"{cyx}:0").data.max() == 10
    by_name = read_channel(f"{cyx}:actin")
    assert by_name.data.shape == (6, 7) and by_name.data.max() == 20
    assert by_name.metadata["channel"] == "Actin"
    assert by_name.pixel_size_um == pytest.approx(0.5)


def test_multichannel_file_without_a_channel_says_how_to_pick_one(cyx):
    with pytest.raises(BadInputError, match=r"3 channels \(DAPI, Actin, RUNX2\).*stack.tif:CHANNEL"):
        read_channel(str(cyx))


def test_unknown_channel_lists_the_choices(cyx):
    with pytest.raises(BadInputError, match="choose one of: DAPI, Actin, RUNX2"):
        read_channel(f"{cyx}:GFP")
    with pytest.raises(BadInputError, match="channel 5 does not exist"):
        read_channel(f"{cyx}:5")


def test_rgb_export_channel_by_colour(tmp_path):
    rgb = np.zeros((5, 5, 3), np.uint8)
    rgb[..., 2] = 200  # the stain sits in blue
    write_tiff(rgb, tmp_path / "rgb.tif", pixel_size_um=1.0)
    blue = read_channel(f"{tmp_path / 'rgb.tif'}:blue")
    assert blue.data.shape == (5, 5) and blue.data.max() == 200
    assert blue.metadata["channel"] == "B"


def test_z_stack_is_projected(tmp_path):
    data = np.zeros((4, 2, 6, 6), np.uint16)  # ZCYX
    data[2, 0, 3, 3] = 99
    tifffile.imwrite(tmp_path / "z.tif", data, imagej=True, metadata={"axes": "ZCYX"})
    assert read_channel(f"{tmp_path / 'z.tif'}:0").data.shape == (6, 6)
    assert read_channel(f"{tmp_path / 'z.tif'}:0").data[3, 3] == 99
    assert read_channel(f"{tmp_path / 'z.tif'}:0", z_project="mean").data[3, 3] == pytest.approx(99 / 4)
    assert read_channel(f"{tmp_path / 'z.tif'}:0", z_project="none").data.shape == (4, 6, 6)


def test_spec_parsing_keeps_existing_paths_whole(tmp_path):
    odd = tmp_path / "a:b.tif"
    odd.write_bytes(b"")
    assert parse_image_spec(str(odd)) == (odd, None)
    assert parse_image_spec("x.tif:DAPI")[1] == "DAPI"


def test_rgb_export_without_a_channel_uses_the_colour_that_carries_the_stain(tmp_path):
    rgb = np.zeros((6, 6, 3), np.uint8)
    rgb[2:4, 2:4, 2] = 180  # DAPI exported as blue
    write_tiff(rgb, tmp_path / "dapi_rgb.tif", pixel_size_um=0.5)
    plane = read_channel(str(tmp_path / "dapi_rgb.tif"))
    assert plane.data.shape == (6, 6) and plane.data.max() == 180
    assert plane.metadata["channel"] == "B"
