"""Pixel size read right: each convention, its source, and the sizes refused (issue 24.2, 25)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import tifffile

from napari_msc_morph._reader import layer_data
from napari_msc_morph.errors import BadInputError
from napari_msc_morph.io import read_image, resolve_pixel_size

PLANE = np.zeros((20, 30), np.uint16)


def write_ome(path, x=0.325, y=None, unit="µm"):
    tifffile.imwrite(path, PLANE, metadata={
        "axes": "YX", "PhysicalSizeX": x, "PhysicalSizeXUnit": unit,
        "PhysicalSizeY": x if y is None else y, "PhysicalSizeYUnit": unit})
    return path


CONVENTIONS = {
    "ome": (lambda p: write_ome(p, 325.0, unit="nm"), 0.325, "OME-XML PhysicalSizeX"),
    "imagej": (lambda p: tifffile.imwrite(p, PLANE, imagej=True, resolution=(1 / 0.3, 1 / 0.3),
                                          metadata={"unit": "micron"}),
               0.3, "ImageJ metadata (unit micron)"),
    "imagej-mu": (lambda p: tifffile.imwrite(p, PLANE, imagej=True, resolution=(2.0, 2.0),
                                             metadata={"unit": "\\u00B5m"}),
                  0.5, "ImageJ metadata (unit \\u00B5m)"),
    "microns-per-pixel": (lambda p: tifffile.imwrite(
        p, PLANE, description='<Image MicronsPerPixel="0.8898" Objective="10x"/>'),
        0.8898, "MicronsPerPixel (TIFF description)"),
    "metamorph": (lambda p: tifffile.imwrite(p, PLANE, description=(
        '<MetaData><prop id="spatial-calibration-state" type="bool" value="on"/>'
        '<prop id="spatial-calibration-x" type="float" value="0.645"/>'
        '<prop id="spatial-calibration-y" type="float" value="0.645"/>'
        '<prop id="spatial-calibration-units" type="string" value="um"/></MetaData>')),
        0.645, "MetaMorph spatial-calibration"),
    "cm-tags": (lambda p: tifffile.imwrite(p, PLANE, resolution=(1e4 / 0.5, 1e4 / 0.5),
                                           resolutionunit="CENTIMETER"),
                0.5, "TIFF resolution tags (cm)"),
    "um-tags": (lambda p: tifffile.imwrite(p, PLANE, resolution=(1 / 0.65, 1 / 0.65),
                                           resolutionunit=5),
                0.65, "TIFF resolution tags (µm)"),
}


@pytest.mark.parametrize("convention", sorted(CONVENTIONS))
def test_each_convention_gives_the_pixel_size_and_says_where_from(tmp_path, convention):
    write, size, source = CONVENTIONS[convention]
    path = tmp_path / ("f.ome.tif" if convention == "ome" else "f.tif")
    write(path)
    loaded = read_image(path)
    assert loaded.pixel_size_um == pytest.approx(size)
    assert loaded.pixel_size_source == source
    assert loaded.pixel_size_refused == ""
    assert resolve_pixel_size(None, [loaded]) == (pytest.approx(size), str(path))


def test_microns_per_pixel_description_was_ignored_before(tmp_path):
    # issue 24: the hMSC exports' MicronsPerPixel="0.8898" gave pixel_size_um=None
    CONVENTIONS["microns-per-pixel"][0](tmp_path / "hmsc.tif")
    assert read_image(tmp_path / "hmsc.tif").pixel_size_um == pytest.approx(0.8898)


def test_a_150_dpi_tag_is_not_a_pixel_size(tmp_path):
    # issue 24: ExampleFly's 150 dpi became 169.3 µm/px and nuclei of 7.9 mm²
    tifffile.imwrite(tmp_path / "fly.tif", PLANE, resolution=(150, 150), resolutionunit="INCH")
    loaded = read_image(tmp_path / "fly.tif")
    assert loaded.pixel_size_um is None and loaded.pixel_size_source == ""
    assert "150 dpi" in loaded.metadata["pixel_size_ignored"]
    assert resolve_pixel_size(None, [loaded]) == (None, "no pixel size in the files and none given")


def test_imagej_inch_unit_is_not_a_pixel_size(tmp_path):
    tifffile.imwrite(tmp_path / "inch.tif", PLANE, imagej=True, resolution=(72, 72),
                     metadata={"unit": "inch"})
    assert read_image(tmp_path / "inch.tif").pixel_size_um is None


@pytest.mark.parametrize("per_cm, shown", [(1.0, "10000"), (1e8, "0.0001")])
def test_implausible_size_is_refused_naming_the_file_and_options(tmp_path, per_cm, shown):
    tifffile.imwrite(tmp_path / "odd.tif", PLANE, resolution=(per_cm, per_cm),
                     resolutionunit="CENTIMETER")
    loaded = read_image(tmp_path / "odd.tif")
    assert loaded.pixel_size_um is None
    with pytest.raises(BadInputError) as err:
        resolve_pixel_size(None, [loaded])
    message = str(err.value)
    for part in ("odd.tif", shown, "0.02-20 µm/px", "--pixel-size-um", "--pixel-size"):
        assert part in message
    assert resolve_pixel_size(0.65, [loaded]) == (0.65, "given")


def test_a_usable_size_in_another_file_of_the_field_wins_over_a_refused_one(tmp_path):
    tifffile.imwrite(tmp_path / "odd.tif", PLANE, resolution=(1.0, 1.0), resolutionunit=3)
    write_ome(tmp_path / "good.ome.tif", 0.5)
    sources = [read_image(tmp_path / "odd.tif"), read_image(tmp_path / "good.ome.tif")]
    assert resolve_pixel_size(None, sources)[0] == pytest.approx(0.5)


def test_anisotropic_pixels_keep_both_sizes_for_napari_and_are_refused_for_measuring(tmp_path):
    path = write_ome(tmp_path / "aniso.ome.tif", x=0.5, y=2.0)
    loaded = read_image(path)
    assert loaded.pixel_size_um is None  # no single size: areas would be 4x too small
    assert loaded.pixel_size_yx_um == (2.0, 0.5)
    (_, meta, _), = layer_data(loaded)
    assert meta["scale"] == [2.0, 0.5]  # the napari layer keeps PhysicalSizeY
    assert meta["units"] == ["micrometer", "micrometer"]
    with pytest.raises(BadInputError) as err:
        resolve_pixel_size(None, [loaded])
    for part in ("aniso.ome.tif", "0.5 µm wide", "2 µm tall", "not square", "Y scale 4"):
        assert part in str(err.value)


def test_anisotropic_layer_has_no_single_pixel_size_in_the_docks():
    from napari_msc_morph.widgets._layers import layer_pixel_size

    layer = SimpleNamespace(metadata={"pixel_size_um": None}, scale=(2.0, 0.5),
                            units=("micrometer", "micrometer"))
    assert layer_pixel_size(layer) is None
    layer.scale = (0.5, 0.5)
    assert layer_pixel_size(layer) == pytest.approx(0.5)


def test_imagej_anisotropic_resolution_is_read_per_axis(tmp_path):
    tifffile.imwrite(tmp_path / "ij.tif", PLANE, imagej=True, resolution=(2.0, 1.0),
                     metadata={"unit": "um"})
    loaded = read_image(tmp_path / "ij.tif")
    assert loaded.pixel_size_yx_um == (1.0, 0.5) and loaded.pixel_size_um is None


def test_measure_refuses_an_anisotropic_field_naming_the_file(tmp_path):
    from napari_msc_morph.batch import Field, measure_fields

    labels = np.zeros((20, 30), np.uint16)
    labels[2:8, 2:8] = 1
    tifffile.imwrite(tmp_path / "cells.ome.tif", labels, metadata={
        "axes": "YX", "PhysicalSizeX": 0.5, "PhysicalSizeY": 2.0})
    field = Field(name="f", files={"labels": str(tmp_path / "cells.ome.tif")})
    with pytest.raises(BadInputError, match="cells.ome.tif.*not square"):
        measure_fields([field])
    batch = measure_fields([field], pixel_size_um=0.5)  # the user says the pixels are square
    assert batch.table["area_um2"].iloc[0] == pytest.approx(36 * 0.25)


def test_predict_refuses_a_file_size_it_cannot_use_unless_given(tmp_path):
    from napari_msc_morph.inference.inputs import load_image

    tifffile.imwrite(tmp_path / "odd.tif", PLANE, resolution=(1.0, 1.0), resolutionunit=3)
    loaded = read_image(tmp_path / "odd.tif")
    with pytest.raises(BadInputError, match="odd.tif.*--pixel-size-um"):
        load_image(loaded, None, 0.65)
    assert load_image(loaded, 0.65, 0.65).pixel_size_um == pytest.approx(0.65)


def test_bioio_and_ome_zarr_sizes_are_judged_the_same_way(tmp_path):
    import zarr

    from napari_msc_morph._lazy import read_ome_zarr_lazy

    root = zarr.open_group(str(tmp_path / "a.zarr"), mode="w", zarr_format=2)
    root.create_array("0", shape=(20, 30), dtype="uint16", chunks=(20, 30))
    root.attrs["multiscales"] = [{
        "version": "0.4", "axes": [{"name": "y", "type": "space", "unit": "micrometer"},
                                   {"name": "x", "type": "space", "unit": "micrometer"}],
        "datasets": [{"path": "0", "coordinateTransformations": [
            {"type": "scale", "scale": [2.0, 0.5]}]}]}]
    found = read_ome_zarr_lazy(tmp_path / "a.zarr")
    assert found["pixel_size_um"] is None and found["pixel_size_yx_um"] == (2.0, 0.5)
    assert "not square" in found["pixel_size_refused"]


def test_measure_summary_names_the_convention_the_size_came_from(tmp_path):
    from napari_msc_morph.batch import Field, measure_fields

    labels = np.zeros((20, 30), np.uint16)
    labels[2:8, 2:8] = 1
    tifffile.imwrite(tmp_path / "cells.tif", labels, description='MicronsPerPixel="0.8898"')
    batch = measure_fields([Field(name="f", files={"labels": str(tmp_path / "cells.tif")})])
    summary = batch.results[0][0].summary
    assert summary["pixel_size_source"].tolist() == ["file: MicronsPerPixel (TIFF description)"]
    assert summary["pixel_size_um"].tolist() == [pytest.approx(0.8898)]
