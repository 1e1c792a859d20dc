"""The napari writer: OME-TIFF that keeps pixel size, channel names and labels (issue 24.9)."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from napari_msc_morph._reader import layer_data, read_layers
from napari_msc_morph._writer import write_image, write_labels, write_layers
from napari_msc_morph.errors import BadInputError
from napari_msc_morph.io import read_image, write_tiff


def _labels():
    labels = np.zeros((20, 30), np.int32)  # napari's labels dtype
    labels[2:8, 3:9] = 1
    labels[10:18, 12:25] = 2
    return labels


def test_labels_round_trip_as_labels_with_their_pixel_size(tmp_path):
    meta = {"name": "cells", "scale": [0.65, 0.65], "units": ["micrometer", "micrometer"],
            "metadata": {}}
    path, = write_labels(str(tmp_path / "cells.ome.tif"), _labels(), meta)
    loaded = read_image(path)
    assert loaded.pixel_size_um == pytest.approx(0.65)
    assert loaded.pixel_size_source == "OME-XML PhysicalSizeX"
    (data, layer_meta, kind), = read_layers(path)
    assert kind == "labels"  # opened as labels again, not as an image
    np.testing.assert_array_equal(data, _labels())
    assert layer_meta["scale"] == pytest.approx([0.65, 0.65])


def test_image_keeps_channel_name_and_anisotropic_pixels(tmp_path):
    meta = {"name": "field RUNX2", "scale": [2.0, 0.5], "units": ["micrometer"] * 2,
            "metadata": {"channel": "RUNX2", "pixel_size_yx_um": [2.0, 0.5]}}
    path, = write_image(str(tmp_path / "runx2"), np.ones((20, 30), np.uint16), meta)
    assert path.endswith("runx2.ome.tif")  # the suffix is added
    loaded = read_image(path)
    assert loaded.pixel_size_yx_um == (2.0, 0.5)
    (_, layer_meta, kind), = layer_data(loaded)
    assert kind == "image" and layer_meta["scale"] == [2.0, 0.5]
    with tifffile.TiffFile(path) as tif:
        assert 'Name="RUNX2"' in tif.ome_metadata


def test_image_without_a_size_stays_without_one(tmp_path):
    path, = write_image(str(tmp_path / "plain.tif"), np.ones((8, 8), np.uint8),
                        {"name": "plain", "scale": [1.0, 1.0], "metadata": {}})
    assert read_image(path).pixel_size_um is None  # never 1 µm/px made up


def test_several_image_layers_become_the_named_channels_of_one_file(tmp_path):
    layers = [(np.full((10, 12), i, np.uint16),
               {"name": name, "scale": [0.325, 0.325], "units": ["micrometer"] * 2,
                "metadata": {}}, "image")
              for i, name in enumerate(["DAPI", "actin", "RUNX2"])]
    path, = write_layers(str(tmp_path / "field.ome.tif"), layers)
    loaded = read_image(path)
    assert loaded.axes == "CYX" and loaded.channel_names == ["DAPI", "actin", "RUNX2"]
    assert loaded.pixel_size_um == pytest.approx(0.325)
    assert [meta["name"] for _, meta, _ in read_layers(path)] == [
        "field DAPI", "field actin", "field RUNX2"]


def test_layers_of_different_shapes_are_refused_naming_the_file(tmp_path):
    layers = [(np.zeros((10, 12), np.uint16), {"name": "a", "metadata": {}}, "image"),
              (np.zeros((11, 12), np.uint16), {"name": "b", "metadata": {}}, "image")]
    with pytest.raises(BadInputError, match="both.ome.tif.*different shapes"):
        write_layers(str(tmp_path / "both.ome.tif"), layers)
    assert not (tmp_path / "both.ome.tif").exists()


def test_segment_s_label_tiffs_open_as_labels(tmp_path):
    write_tiff(_labels().astype(np.uint16), tmp_path / "f_nuclei.tif", pixel_size_um=0.5,
               labels=True)
    write_tiff(_labels().astype(np.uint16), tmp_path / "plain.tif", pixel_size_um=0.5)
    assert read_layers(str(tmp_path / "f_nuclei.tif"))[0][2] == "labels"
    assert read_layers(str(tmp_path / "plain.tif"))[0][2] == "image"


def test_save_layers_in_a_real_viewer_round_trips(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    viewer.add_labels(_labels(), name="cells", scale=(0.65, 0.65), units="micrometer")
    written = viewer.layers.save(str(tmp_path / "cells.ome.tif"), plugin="napari-msc-morph")
    assert written == [str(tmp_path / "cells.ome.tif")]
    layers = viewer.open(written[0], plugin="napari-msc-morph")
    assert layers[0].__class__.__name__ == "Labels"
    assert tuple(layers[0].scale) == pytest.approx((0.65, 0.65))
