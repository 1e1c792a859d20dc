"""Bad inputs, round 2: what the microscope's files really say (issues 24.2 and 25).

Pixel sizes in every convention (implausible, impossible, not square), headers
that lie about the image size, runs that cannot fit in memory, masks that are
not labels yet and nuclei that do not fit their cells, through `msc-morph
measure`, `segment` and `predict`. A refused case asserts exit status 2, a
message naming the file (or option) and what to do, and a byte-identical
workspace (the earlier table is kept); an accepted case asserts the right table
and the warning that says what was done.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import tifffile
from corpus_helpers import snapshot, stderr_lines
from skimage.draw import disk

import napari_msc_morph.memory as memory
from napari_msc_morph.cli import main

YX = (64, 64)


def nuclei_labels():
    labels = np.zeros(YX, np.uint16)
    for index, center in enumerate(((15, 15), (15, 48), (48, 15), (48, 48)), start=1):
        labels[disk(center, 7, shape=YX)] = index
    return labels


def cell_labels():
    labels = np.zeros(YX, np.uint16)
    for index, (y, x) in enumerate(((0, 0), (0, 32), (32, 0), (32, 32)), start=1):
        labels[y + 2:y + 30, x + 2:x + 30] = index
    return labels


def ome(path, data, x, y=None, unit="µm"):
    tifffile.imwrite(path, data, ome=True, metadata={
        "axes": "YX", "PhysicalSizeX": x, "PhysicalSizeXUnit": unit,
        "PhysicalSizeY": x if y is None else y, "PhysicalSizeYUnit": unit})


def tags(path, data, per_unit_x, per_unit_y=None, unit="CENTIMETER"):
    tifffile.imwrite(path, data, resolution=(per_unit_x, per_unit_y or per_unit_x),
                     resolutionunit=unit)


def lying_header(path, data):
    tifffile.imwrite(path, data)
    with tifffile.TiffFile(path, mode="r+") as tif:
        tif.pages[0].tags["ImageWidth"].overwrite(2**31)
        tif.pages[0].tags["ImageLength"].overwrite(2**31)


#: name -> (writer of a labels file, parts of the message)
BAD_SIZES = {
    "cm_tag_one_px_per_cm": (lambda p, d: tags(p, d, 1.0), ["10000", "0.02-20 µm/px"]),
    "ome_in_mm": (lambda p, d: ome(p, d, 0.5, unit="mm"), ["500", "0.02-20 µm/px"]),
    "ome_zero": (lambda p, d: ome(p, d, 0.0), ["0.0 µm", "cannot be right"]),
    "ome_negative": (lambda p, d: ome(p, d, -0.65), ["-0.65", "cannot be right"]),
    "ome_tiny": (lambda p, d: ome(p, d, 0.001), ["0.001", "0.02-20 µm/px"]),
    "microns_per_pixel_zero": (lambda p, d: tifffile.imwrite(
        p, d, description='MicronsPerPixel="0"'), ["MicronsPerPixel", "cannot be right"]),
    "microns_per_pixel_huge": (lambda p, d: tifffile.imwrite(
        p, d, description='MicronsPerPixel="250"'), ["250", "0.02-20 µm/px"]),
    "metamorph_in_mm": (lambda p, d: tifffile.imwrite(p, d, description=(
        '<MetaData><prop id="spatial-calibration-x" type="float" value="0.5"/>'
        '<prop id="spatial-calibration-units" type="string" value="mm"/></MetaData>')),
        ["500", "MetaMorph"]),
    "imagej_nm_unit_wrong": (lambda p, d: tifffile.imwrite(
        p, d, imagej=True, resolution=(1 / 0.65, 1 / 0.65), metadata={"unit": "mm"}),
        ["650", "ImageJ"]),
    "ome_not_square": (lambda p, d: ome(p, d, 0.5, 2.0), ["not square", "0.5 µm wide",
                                                         "2 µm tall", "Y scale 4"]),
    "imagej_not_square": (lambda p, d: tifffile.imwrite(
        p, d, imagej=True, resolution=(2.0, 1.0), metadata={"unit": "um"}),
        ["not square", "0.5 µm wide", "1 µm tall"]),
    "microns_per_pixel_xy_not_square": (lambda p, d: tifffile.imwrite(
        p, d, description='MicronsPerPixelX="0.65" MicronsPerPixelY="1.3"'),
        ["not square", "0.65 µm wide", "1.3 µm tall"]),
    "cm_tags_not_square": (lambda p, d: tags(p, d, 1e4 / 0.5, 1e4 / 1.5),
                           ["not square", "1.5 µm tall"]),
}


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TQDM_DISABLE", "1")
    (tmp_path / "cells.csv").write_text("label,area_px\n1,10\n")  # an earlier table
    return tmp_path


def refused(work, capsys, argv, expected):
    before = snapshot(work)
    assert main(argv) == 2
    err = " ".join(stderr_lines(capsys.readouterr().err))
    for part in expected:
        assert part in err, (part, err)
    assert snapshot(work) == before  # nothing lost, nothing half-written
    return err


def accepted(capsys, argv):
    assert main(argv) == 0
    return " ".join(stderr_lines(capsys.readouterr().err))


MEASURE = ["measure", "labels.tif", "--out", "cells.csv", "--overwrite"]


@pytest.mark.parametrize("case", sorted(BAD_SIZES))
def test_measure_refuses_a_pixel_size_it_cannot_use_naming_the_file(work, capsys, case):
    write, parts = BAD_SIZES[case]
    write("labels.tif", nuclei_labels())
    refused(work, capsys, MEASURE, ["labels.tif", "--pixel-size", *parts])


@pytest.mark.parametrize("case", ["cm_tag_one_px_per_cm", "ome_not_square"])
def test_measure_refuses_a_channel_file_s_size_when_the_labels_have_none(work, capsys, case):
    tifffile.imwrite("labels.tif", nuclei_labels())
    BAD_SIZES[case][0]("runx2.tif", np.ones(YX, np.uint16))
    refused(work, capsys, MEASURE + ["--channel", "RUNX2=runx2.tif"], ["runx2.tif"])


@pytest.mark.parametrize("case", ["cm_tag_one_px_per_cm", "ome_in_mm", "ome_not_square"])
def test_measure_takes_the_user_s_size_over_the_file_s(work, capsys, case):
    BAD_SIZES[case][0]("labels.tif", nuclei_labels())
    accepted(capsys, MEASURE + ["--pixel-size", "0.5"])
    table = pd.read_csv(work / "cells.csv")
    np.testing.assert_allclose(table["area_um2"], table["area_px"] * 0.25)


@pytest.mark.parametrize("role", ["labels", "channel", "nuclei"])
def test_measure_refuses_a_lying_header_naming_the_file(work, capsys, role):
    files = {"labels": "labels.tif", "channel": "runx2.tif", "nuclei": "nuclei.tif"}
    for name in files.values():
        tifffile.imwrite(name, cell_labels() if name == "labels.tif" else nuclei_labels())
    lying_header(files[role], np.ones(YX, np.uint16))
    argv = MEASURE + ["--channel", "RUNX2=runx2.tif", "--nuclei", "nuclei.tif"]
    refused(work, capsys, argv, [files[role], "header and the data disagree", "2147483648"])


def test_measure_refuses_labels_larger_than_free_memory(work, capsys, monkeypatch):
    tifffile.imwrite("labels.tif", nuclei_labels())
    monkeypatch.setattr(memory, "available_bytes", lambda: 1024)
    refused(work, capsys, MEASURE, ["labels.tif", "needs about 8.0 KiB", "only 1.0 KiB"])


def test_measure_refuses_swapped_cell_and_nuclei_labels(work, capsys):
    tifffile.imwrite("labels.tif", nuclei_labels())  # the nuclei given as cells ...
    tifffile.imwrite("cells_by_mistake.tif", cell_labels())  # ... and the cells as nuclei
    refused(work, capsys, MEASURE + ["--nuclei", "cells_by_mistake.tif"],
            ["labels.tif", "cells_by_mistake.tif", "look swapped", "4 of 4 nuclei", "--nuclei"])


def test_measure_warns_when_nuclei_come_from_another_field(work, capsys):
    tifffile.imwrite("labels.tif", cell_labels())
    other = np.zeros(YX, np.uint16)
    other[disk((15, 15), 7)] = 1
    other[29:35, 10:20] = 2  # between the cells: from another field
    other[29:35, 40:50] = 3
    tifffile.imwrite("other.tif", other)
    err = accepted(capsys, MEASURE + ["--nuclei", "other.tif"])
    assert "other.tif does not fit labels.tif" in err
    assert "3 of 4 cells have no nucleus" in err and "2 of 3 nuclei" in err
    assert len(pd.read_csv(work / "cells.csv")) == 4


@pytest.mark.parametrize("value, dtype", [(255, np.uint8), (1, np.uint8), (65535, np.uint16)])
def test_measure_splits_a_binary_mask_into_its_nuclei_and_says_so(work, capsys, value, dtype):
    tifffile.imwrite("labels.tif", ((nuclei_labels() > 0) * value).astype(dtype))
    err = accepted(capsys, MEASURE)
    table = pd.read_csv(work / "cells.csv")
    assert len(table) == 4  # was one "cell" of every nucleus' pixels
    assert table["area_px"].nunique() == 1
    assert "labels.tif" in err and f"set to {value}" in err and "4 objects" in err


def test_measure_splits_one_id_used_for_two_nuclei(work, capsys):
    labels = nuclei_labels()
    labels[labels == 2] = 1
    tifffile.imwrite("labels.tif", labels)
    err = accepted(capsys, MEASURE)
    assert len(pd.read_csv(work / "cells.csv")) == 4
    assert "one id for separate objects (3 ids)" in err


@pytest.mark.parametrize("writer, size", [
    (lambda p, d: tifffile.imwrite(p, d, description='MicronsPerPixel="0.8898"'), 0.8898),
    (lambda p, d: tags(p, d, 1e4 / 0.5), 0.5),
    (lambda p, d: tifffile.imwrite(p, d, imagej=True, resolution=(1 / 0.3, 1 / 0.3),
                                   metadata={"unit": "micron"}), 0.3),
])
def test_measure_reads_the_microscope_s_pixel_size(work, capsys, writer, size):
    writer("labels.tif", nuclei_labels())
    err = accepted(capsys, MEASURE)
    table = pd.read_csv(work / "cells.csv")
    np.testing.assert_allclose(table["area_um2"], table["area_px"] * size**2)
    assert "pixel size" not in err or "warning" not in err


def test_measure_of_a_dpi_tagged_file_has_pixel_units_only(work, capsys):
    tags("labels.tif", nuclei_labels(), 150, unit="INCH")  # ExampleFly: 150 dpi
    accepted(capsys, MEASURE)
    table = pd.read_csv(work / "cells.csv")
    assert "area_um2" not in table.columns  # was 169.3 µm/px: nuclei of 7.9 mm²


SEGMENT = ["segment", "--nuclei", "dapi.tif", "--out", "labels.tif", "--overwrite"]


def _dapi():
    return (nuclei_labels() > 0).astype(np.uint16) * 1000 + 100


@pytest.mark.parametrize("case", ["cm_tag_one_px_per_cm", "ome_not_square", "ome_negative"])
def test_segment_refuses_a_file_size_it_cannot_use(work, capsys, case):
    BAD_SIZES[case][0]("dapi.tif", _dapi())
    refused(work, capsys, SEGMENT, ["dapi.tif", "pixel_size_um"])


def test_segment_refuses_a_lying_header(work, capsys):
    lying_header("dapi.tif", _dapi())
    refused(work, capsys, SEGMENT, ["dapi.tif", "header and the data disagree"])


def test_segment_refuses_an_image_larger_than_free_memory(work, capsys, monkeypatch):
    tifffile.imwrite("dapi.tif", _dapi())
    monkeypatch.setattr(memory, "available_bytes", lambda: 1024)
    refused(work, capsys, SEGMENT, ["dapi.tif", "needs about", "is free"])


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    import torch

    from napari_msc_morph.models import BundleConfig, create_backbone, save_bundle

    config = BundleConfig(task="osteogenic", backbone="test_resnet", input_size=32, in_chans=1,
                          tiling="grid", pixel_size_um=0.65)
    torch.manual_seed(0)
    model = create_backbone("test_resnet", num_classes=config.num_classes, in_chans=1)
    return str(save_bundle(model, config, tmp_path_factory.mktemp("bundle") / "gray.zip"))


def predict(bundle, *extra):
    return ["predict", bundle, "field.tif", "--out", "cells.csv", "--overwrite", "--quiet",
            "--device", "cpu", *extra]


def test_predict_at_100_um_per_px_is_refused_before_it_allocates(work, capsys, monkeypatch,
                                                                  bundle):
    tifffile.imwrite("field.tif", np.random.default_rng(0).integers(0, 4000, (400, 400),
                                                                      dtype=np.uint16))
    monkeypatch.setattr(memory, "available_bytes", lambda: 16 * 2**30)
    refused(work, capsys, predict(bundle, "--pixel-size-um", "100"),
            ["field.tif", "at 100 µm/px", "61538 x 61538", "--pixel-size-um"])


@pytest.mark.parametrize("case", ["cm_tag_one_px_per_cm", "ome_not_square", "ome_tiny",
                                  "microns_per_pixel_huge"])
def test_predict_refuses_a_file_size_it_cannot_use_naming_the_option(work, capsys, bundle, case):
    BAD_SIZES[case][0]("field.tif", np.ones((96, 96), np.uint16))
    refused(work, capsys, predict(bundle), ["field.tif", "--pixel-size-um"])


def test_predict_takes_the_user_s_size_over_an_implausible_file(work, capsys, bundle):
    BAD_SIZES["cm_tag_one_px_per_cm"][0]("field.tif", np.ones((96, 96), np.uint16))
    accepted(capsys, predict(bundle, "--pixel-size-um", "0.65"))
    assert pd.read_csv(work / "cells.csv")["pixel_size_um"].tolist() == [0.65]


def test_predict_refuses_a_lying_header(work, capsys, bundle):
    lying_header("field.tif", np.ones((96, 96), np.uint16))
    refused(work, capsys, predict(bundle), ["field.tif", "header and the data disagree"])
