"""The napari reader: files keep their pixel size, channels and names."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from napari_msc_morph._reader import get_reader, layer_data, stain_colormap
from napari_msc_morph.errors import BadInputError
from napari_msc_morph.io import read_image, write_tiff


def _ome_stack(path, size_nm=325.0, names=("DAPI", "Phalloidin", "RUNX2")):
    data = np.stack([np.full((12, 16), i + 1, np.uint16) for i in range(len(names))])
    tifffile.imwrite(path, data, metadata={
        "axes": "CYX", "PhysicalSizeX": size_nm, "PhysicalSizeXUnit": "nm",
        "PhysicalSizeY": size_nm, "PhysicalSizeYUnit": "nm", "Channel": {"Name": list(names)},
    })
    return data


def test_ome_tiff_opens_as_one_layer_per_named_channel_in_micrometres(tmp_path):
    data = _ome_stack(tmp_path / "field.ome.tif")
    layers = get_reader(str(tmp_path / "field.ome.tif"))(str(tmp_path / "field.ome.tif"))
    assert [meta["name"] for _, meta, _ in layers] == [
        "field DAPI", "field Phalloidin", "field RUNX2"]
    for index, (array, meta, kind) in enumerate(layers):
        assert kind == "image"
        np.testing.assert_array_equal(array, data[index])
        assert meta["scale"] == pytest.approx([0.325, 0.325])
        assert meta["units"] == ["micrometer", "micrometer"]
        assert meta["metadata"]["pixel_size_um"] == pytest.approx(0.325)
        assert meta["metadata"]["pixel_size_source"] == "OME-XML PhysicalSizeX"
    assert [meta["colormap"] for _, meta, _ in layers] == ["blue", "magenta", "cyan"]


def test_file_without_physical_size_opens_at_scale_one_and_says_unknown(tmp_path):
    tifffile.imwrite(tmp_path / "plain.tif", np.zeros((8, 8), np.uint16))
    (array, meta, kind), = get_reader(str(tmp_path / "plain.tif"))(str(tmp_path / "plain.tif"))
    assert meta["scale"] == [1.0, 1.0]
    assert meta["units"] == ["pixel", "pixel"]
    assert meta["metadata"]["pixel_size_um"] is None


def test_imagej_hyperstack_keeps_z_spacing_and_channel_axis(tmp_path):
    data = np.zeros((3, 2, 8, 8), np.uint16)  # ZCYX
    write_tiff(data, tmp_path / "stack.tif", pixel_size_um=0.5, axes="ZCYX",
               channel_names=["DAPI", "GFP"])
    with tifffile.TiffFile(tmp_path / "stack.tif") as tif:  # add the z spacing as Fiji does
        assert tif.series[0].axes == "ZCYX"
    tifffile.imwrite(tmp_path / "z.tif", data, imagej=True, resolution=(2.0, 2.0),
                     metadata={"axes": "ZCYX", "unit": "um", "spacing": 2.5})
    loaded = read_image(tmp_path / "z.tif")
    assert loaded.axes == "ZCYX" and loaded.channel_axis == 1
    assert loaded.pixel_size_um == pytest.approx(0.5)
    assert loaded.z_spacing_um == pytest.approx(2.5)
    layers = layer_data(loaded)
    assert len(layers) == 2
    assert layers[0][0].shape == (3, 8, 8)
    assert layers[0][1]["scale"] == pytest.approx([2.5, 0.5, 0.5])
    assert layers[0][1]["units"] == ["micrometer"] * 3


def test_rgb_export_is_one_rgb_layer(tmp_path):
    rgb = np.zeros((8, 10, 3), np.uint8)
    write_tiff(rgb, tmp_path / "rgb.tif", pixel_size_um=0.65)
    (array, meta, _), = layer_data(read_image(tmp_path / "rgb.tif"))
    assert meta["rgb"] is True and array.shape == (8, 10, 3)
    assert meta["scale"] == pytest.approx([0.65, 0.65])


@pytest.mark.parametrize("size", [-0.5, 0.0])
def test_impossible_pixel_size_is_refused_naming_the_file_unless_given(tmp_path, size):
    from napari_msc_morph.io import resolve_pixel_size

    path = tmp_path / "bad.ome.tif"
    tifffile.imwrite(path, np.zeros((4, 4), np.uint8),
                     metadata={"PhysicalSizeX": size, "PhysicalSizeY": 1.0})
    loaded = read_image(path)  # the pixels still open (napari shows them at scale 1)
    assert loaded.pixel_size_um is None and "bad.ome.tif" in loaded.pixel_size_refused
    with pytest.raises(BadInputError, match="bad.ome.tif.*cannot be right"):
        resolve_pixel_size(None, [loaded])
    assert resolve_pixel_size(0.5, [loaded]) == (0.5, "given")  # the user's size wins
    with pytest.warns(UserWarning, match="bad.ome.tif"):
        (_, meta, _), = layer_data(loaded)
    assert meta["scale"] == [1.0, 1.0] and meta["metadata"]["pixel_size_um"] is None


def test_reader_declines_files_it_does_not_read():
    assert get_reader("photo.png") is None
    assert get_reader(["a.tif", "b.png"]) is None
    assert get_reader(["a.tif", "b.tiff"]) is not None


def test_stain_names_pick_colormaps():
    assert stain_colormap("Hoechst 33342", 0) == "blue"
    assert stain_colormap("Alexa Fluor 488", 0) == "green"
    assert stain_colormap("whatever", 1) == "magenta"


def test_file_open_in_a_real_viewer_keeps_the_scale(make_napari_viewer, tmp_path):
    _ome_stack(tmp_path / "field.ome.tif")
    viewer = make_napari_viewer()
    layers = viewer.open(str(tmp_path / "field.ome.tif"), plugin="napari-msc-morph")
    assert len(layers) == 3
    layer = viewer.layers["field DAPI"]
    assert tuple(layer.scale) == pytest.approx((0.325, 0.325))
    assert str(layer.units[-1]) == "micrometer"
    assert layer.metadata["pixel_size_um"] == pytest.approx(0.325)
    from napari_msc_morph.widgets._layers import layer_pixel_size

    assert layer_pixel_size(layer) == pytest.approx(0.325)


def test_ome_zarr_through_bioio_keeps_pixel_size_and_channel_names(tmp_path):
    from bioio_ome_zarr.writers import Channel, OMEZarrWriter

    data = np.stack([np.full((1, 10, 12), c + 1, np.uint16) for c in range(2)])  # CZYX
    store = tmp_path / "plate.ome.zarr"
    writer = OMEZarrWriter(
        store, level_shapes=[data.shape], dtype=data.dtype,
        axes_names=["c", "z", "y", "x"], axes_types=["channel", "space", "space", "space"],
        axes_units=[None, "micrometer", "micrometer", "micrometer"],
        physical_pixel_size=[1.0, 2.0, 0.4, 0.4],
        channels=[Channel(label="DAPI", color="0000FF"), Channel(label="Actin", color="FF00FF")],
    )
    writer.write_full_volume(data)
    assert get_reader(str(store)) is not None
    loaded = read_image(store)
    assert loaded.pixel_size_um == pytest.approx(0.4)
    assert loaded.channel_names == ["DAPI", "Actin"]
    layers = layer_data(loaded)
    assert [meta["name"] for _, meta, _ in layers] == ["plate DAPI", "plate Actin"]
    assert layers[0][1]["scale"] == pytest.approx([0.4, 0.4])
    np.testing.assert_array_equal(layers[1][0], data[1, 0])


def test_missing_formats_extra_is_a_one_line_message_naming_it(tmp_path, monkeypatch):
    import sys

    from napari_msc_morph.errors import MissingDependencyError

    (tmp_path / "scan.czi").write_bytes(b"not really a czi")
    monkeypatch.setitem(sys.modules, "bioio", None)  # as if the extra were not installed
    with pytest.raises(MissingDependencyError, match=r'napari-msc-morph\[formats\]'):
        read_image(tmp_path / "scan.czi")


def test_anisotropic_ome_keeps_physical_size_y_in_a_real_viewer(make_napari_viewer, tmp_path):
    # issue 25: the reader dropped PhysicalSizeY of an anisotropic OME file
    from napari_msc_morph.widgets._layers import layer_pixel_size

    tifffile.imwrite(tmp_path / "aniso.ome.tif", np.ones((12, 16), np.uint16), metadata={
        "axes": "YX", "PhysicalSizeX": 0.5, "PhysicalSizeY": 2.0})
    viewer = make_napari_viewer()
    layer, = viewer.open(str(tmp_path / "aniso.ome.tif"), plugin="napari-msc-morph")
    assert tuple(layer.scale) == pytest.approx((2.0, 0.5))
    assert layer.metadata["pixel_size_yx_um"] == [2.0, 0.5]
    assert layer_pixel_size(layer) is None  # no single size for the docks to measure with
