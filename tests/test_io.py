import os
import stat

import numpy as np
import pandas as pd
import pytest
import tifffile

from napari_msc_morph.io import atomic_path, list_images, read_image, read_table, write_table, write_tiff


def test_write_tiff_round_trips_pixel_size_for_gray_rgb_and_labels(tmp_path):
    gray = np.arange(64, dtype=np.uint16).reshape(8, 8)
    rgb = np.zeros((8, 8, 3), np.uint8)
    labels = np.arange(64, dtype=np.int32).reshape(8, 8)
    for name, data in (("g.tif", gray), ("rgb.tif", rgb), ("labels.tif", labels)):
        write_tiff(data, tmp_path / name, pixel_size_um=0.65)
        loaded = read_image(tmp_path / name)
        np.testing.assert_array_equal(loaded.data, data)
        assert loaded.pixel_size_um == pytest.approx(0.65, rel=1e-6)


def test_read_image_without_physical_size_says_none(tmp_path):
    tifffile.imwrite(tmp_path / "plain.tif", np.zeros((4, 4), np.uint8))
    assert read_image(tmp_path / "plain.tif").pixel_size_um is None


def test_ome_pixel_size_in_nm_is_converted(tmp_path):
    tifffile.imwrite(tmp_path / "x.ome.tif", np.zeros((4, 4), np.uint8),
                     metadata={"PhysicalSizeX": 325.0, "PhysicalSizeXUnit": "nm",
                               "PhysicalSizeY": 325.0, "PhysicalSizeYUnit": "nm"})
    assert read_image(tmp_path / "x.ome.tif").pixel_size_um == pytest.approx(0.325)


def test_atomic_path_leaves_target_untouched_on_error_and_uses_normal_mode(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]
    write_table(pd.DataFrame({"a": [1]}), target)
    mode = stat.S_IMODE(os.stat(target).st_mode)
    assert mode & stat.S_IRGRP, oct(mode)  # not a private 0600 file
    assert read_table(target)["a"].tolist() == [1]


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.tif"):
        read_image(tmp_path / "nope.tif")
    with pytest.raises(FileNotFoundError, match="missing"):
        list_images([tmp_path / "missing"])


# --------------------------------------------------------------------------- the table reader
def test_comma_table_with_semicolons_in_its_text_stays_comma_separated(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("sample_id,note,value\ns1,a;b;c,1.5\ns2,d;e,2.5\n")
    table = read_table(path)
    assert table.columns.tolist() == ["sample_id", "note", "value"]
    assert table["note"].tolist() == ["a;b;c", "d;e"] and table["value"].tolist() == [1.5, 2.5]


def test_semicolon_table_with_commas_in_its_text_keeps_the_text(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("sample_id;note;value\ns1;Zelle, rund;1,5\ns2;x;2\n", encoding="cp1252")
    table = read_table(path)
    assert table["note"].tolist() == ["Zelle, rund", "x"]
    assert table["value"].tolist() == [1.5, 2.0]
    assert table.attrs["dialect"] == "separator ';', decimal comma, UTF-8"


def test_trailing_separators_of_a_spreadsheet_export_are_dropped(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("sample_id;value;;\ns1;1;;\n;;;\ns2;2;;\n")
    table = read_table(path)
    assert table.columns.tolist() == ["sample_id", "value"]
    assert table["sample_id"].tolist() == ["s1", "s2"] and table.attrs["lines"] == [2, 4]


def test_written_tables_read_back_unchanged(tmp_path):
    table = pd.DataFrame({"group": ["=1+1", "-2", "'a", "''=b"], "donor": ["001", "1.10", "-", "@x"],
                          "value": [-1.0, 0.5, 2.0, -3.5]})
    for suffix in (".csv", ".xlsx"):
        back = read_table(write_table(table, tmp_path / f"t{suffix}"))
        pd.testing.assert_frame_equal(back.astype({"group": object, "donor": object}),
                                      table.astype({"group": object, "donor": object}),
                                      check_dtype=False)


def test_blank_lines_above_the_header_are_skipped_and_counted(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("\n\nsample_id,value\ns1,1\n\ns2,2\n")
    table = read_table(path)
    assert table.columns.tolist() == ["sample_id", "value"]
    assert table["sample_id"].tolist() == ["s1", "s2"] and table.attrs["lines"] == [4, 6]
