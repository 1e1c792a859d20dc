"""Manifest reading and validation: every offending row is listed."""

import numpy as np
import pandas as pd
import pytest
import tifffile

from napari_msc_morph.inference.preprocess import downscale_blocks
from napari_msc_morph.models import get_task
from napari_msc_morph.training.data import (
    ManifestError,
    load_field,
    load_manifest,
    manifest_from_folders,
    read_manifest,
    resolve_class_names,
    validate_manifest,
)


def _tif(path, value=10, shape=(20, 24)):
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, np.full(shape, value, np.uint8))
    return path


def test_read_manifest_resolves_relative_paths_and_numbers(tmp_path):
    _tif(tmp_path / "img" / "a.tif")
    (tmp_path / "m.csv").write_text("path,label,donor,day\nimg/a.tif,control,1,5\n")
    table = read_manifest(tmp_path / "m.csv")
    assert table.loc[0, "path"] == str(tmp_path / "img" / "a.tif")
    assert table.loc[0, "donor"] == "1"  # ints become text, not 1.0
    assert table.loc[0, "line"] == 2


def test_missing_required_column(tmp_path):
    (tmp_path / "m.csv").write_text("file,label\na.tif,x\n")
    with pytest.raises(ManifestError, match="required column 'path' is missing"):
        read_manifest(tmp_path / "m.csv")


def test_validation_lists_every_offending_row(tmp_path):
    _tif(tmp_path / "ok.tif")
    _tif(tmp_path / "ok2.tif", value=20)
    (tmp_path / "broken.tif").write_bytes(b"not a tiff at all")
    rows = [
        "path,label,donor",
        "ok.tif,control,D1",          # line 2: fine
        "gone.tif,control,D1",        # line 3: missing file
        "broken.tif,induced,D2",      # line 4: unreadable
        "ok2.tif,bone,D2",            # line 5: unknown label
        "ok.tif,induced,",            # line 6: duplicate path + no donor
        "ok2.tif,,D3",                # line 7: duplicate + donor with no label
    ]
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    table = read_manifest(tmp_path / "m.csv")
    with pytest.raises(ManifestError) as info:
        validate_manifest(table, ["control", "induced"], source="m.csv")
    text = str(info.value)
    lines = {p.line for p in info.value.problems}
    assert {3, 4, 5, 6, 7} <= lines and 2 not in lines
    assert "line 3 [path]: file" in text and "does not exist" in text
    assert "line 4 [path]: cannot read" in text
    assert "unknown label 'bone'" in text
    assert "line 6 [donor]" in text and "is the same image as line 2" in text
    assert "donor 'D3' has an image with no label" in text


def test_class_absent_from_training_split_and_bad_split_values(tmp_path):
    for name in "abcd":
        _tif(tmp_path / f"{name}.tif")
    rows = ["path,label,donor,split", "a.tif,control,D1,train", "b.tif,induced,D2,val",
            "c.tif,control,D3,test", "d.tif,control,D4,holdin"]
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    table = read_manifest(tmp_path / "m.csv")
    with pytest.raises(ManifestError) as info:
        validate_manifest(table, ["control", "induced"])
    text = str(info.value)
    assert "class 'induced' has no image in the training split" in text
    assert "line 5 [split]: unknown split 'holdin'" in text


def test_missing_donor_column_is_reported(tmp_path):
    _tif(tmp_path / "a.tif")
    table = load_manifest(pd.DataFrame({"path": [str(tmp_path / "a.tif")], "label": ["control"]}))
    with pytest.raises(ManifestError, match="column 'donor' is missing"):
        validate_manifest(table, ["control", "induced"])
    validate_manifest(table, ["control", "induced"], group_column=None)  # fine without groups


def test_folder_per_class_layout(tmp_path):
    _tif(tmp_path / "control" / "D1" / "x.tif")
    _tif(tmp_path / "induced" / "D2" / "y.tif")
    table = manifest_from_folders(tmp_path)
    assert list(table["label"]) == ["control", "induced"]
    assert list(table["donor"]) == ["D1", "D2"]
    flat = tmp_path / "flat"
    _tif(flat / "control" / "x.tif")
    _tif(flat / "induced" / "y.tif")
    with pytest.warns(UserWarning, match="no donor"):
        table = manifest_from_folders(flat)
    assert table["donor"].nunique() == 2


def test_class_names_default_to_task_classes_present_in_order():
    table = pd.DataFrame({"label": ["P7", "P1", "P4", "P10"]})
    assert resolve_class_names(table, get_task("passage")) == ("P1", "P4", "P7", "P10")
    assert resolve_class_names(table, get_task("passage"), ["P1", "P10"]) == ("P1", "P10")


def test_downscale_block_average_and_pixel_size(tmp_path):
    data = np.arange(16, dtype=np.uint8).reshape(4, 4)
    small = downscale_blocks(data, 2)  # what load_field(downscale=2) applies
    assert small.dtype == np.uint8
    np.testing.assert_array_equal(small, np.rint([[2.5, 4.5], [10.5, 12.5]]).astype(np.uint8))
    path = tmp_path / "px.tif"
    tifffile.imwrite(path, np.zeros((8, 10), np.uint8), imagej=True, resolution=(1 / 0.5, 1 / 0.5),
                     metadata={"unit": "um"})
    field = load_field(path, downscale=2)
    assert field.data.shape == (4, 5)
    assert field.pixel_size_um == pytest.approx(1.0)
