"""Tables from a European Excel, tab-separated ``.csv`` files, and ids read as text.

Semicolons, decimal commas, Windows-1252 or Latin-1 text, a BOM, UTF-16 from
Excel's "Unicode text", tabs in a ``.csv``: the one table reader finds them and
reads the table as meant; where it still cannot find a column, the message says
what separator and encoding it found. Key columns (sample ids, donors, wells,
files) are always text: ``1.1`` and ``1.10`` are two samples, ``001`` stays
``001`` in every format.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from corpus_helpers import digests, stderr_lines

from napari_msc_morph.analysis import join_readouts, read_readouts
from napari_msc_morph.batch import read_fields_manifest
from napari_msc_morph.cli import main
from napari_msc_morph.io import read_table, write_table, write_tiff
from napari_msc_morph.table_export import export_table

MANIFEST_ROWS = [["field", "sample_id", "pixel_size_um", "labels"],
                 ["Zelle_µ1", "001", "0,65", "f0.tif"],
                 ["Zelle_é2", "1.10", "1,5", "f1.tif"]]


@pytest.fixture
def plate(tmp_path):
    labels = np.zeros((16, 16), np.uint16)
    labels[2:8, 2:8] = 1
    for k in range(2):
        write_tiff(labels, tmp_path / f"f{k}.tif", pixel_size_um=0.5)
    return tmp_path


def _write(path, rows, sep, encoding, bom=b""):
    text = "\r\n".join(sep.join(row) for row in rows) + "\r\n"
    path.write_bytes(bom + text.encode(encoding))
    return path


DIALECTS = {
    "excel de: semicolon, cp1252": (";", "cp1252", b"", "Windows-1252"),
    "semicolon, utf-8 with BOM": (";", "utf-8", b"\xef\xbb\xbf", "UTF-8"),
    "semicolon, latin-1": (";", "latin-1", b"", "Windows-1252"),
    "tab-separated named .csv": ("\t", "utf-8", b"", "UTF-8"),
    "excel unicode text (utf-16, tabs)": ("\t", "utf-16", b"", "UTF-16"),
    "comma, BOM": (",", "utf-8", b"\xef\xbb\xbf", "UTF-8"),
}


@pytest.mark.parametrize("case", sorted(DIALECTS))
def test_fields_manifest_in_any_dialect(plate, case):
    sep, encoding, bom, found = DIALECTS[case]
    rows = MANIFEST_ROWS if sep != "," else [
        [c.replace(",", ".") for c in row] for row in MANIFEST_ROWS]
    path = _write(plate / "fields.csv", rows, sep, encoding, bom)
    fields = read_fields_manifest(path, required=("labels",))
    assert [f.name for f in fields] == ["Zelle_µ1", "Zelle_é2"]
    assert [f.sample_id for f in fields] == ["001", "1.10"]
    assert [f.pixel_size_um for f in fields] == [0.65, 1.5]
    assert found in read_table(path).attrs["dialect"]


def test_pipe_separated_manifest_says_what_was_found(plate, capsys):
    path = _write(plate / "fields.csv", MANIFEST_ROWS, "|", "utf-8")
    out = plate / "cells.csv"
    before = digests(plate)
    assert main(["measure", "--manifest", str(path), "--out", str(out)]) == 2
    error = [line for line in stderr_lines(capsys.readouterr().err) if ": error: " in line]
    assert "fields.csv" in error[0] and "required column 'labels' is missing" in error[0]
    assert "read as separator ','" in error[0] and "UTF-8" in error[0]
    assert digests(plate) == before and not out.exists()


def test_train_manifest_with_semicolons_is_read(tmp_path):
    from napari_msc_morph.training.data import read_manifest

    path = _write(tmp_path / "manifest.csv", [["path", "label", "donor"],
                                              ["a.tif", "control", "001"]], ";", "cp1252")
    table = read_manifest(path)
    assert table["donor"].tolist() == ["001"] and table["label"].tolist() == ["control"]


def test_readouts_with_decimal_commas(tmp_path):
    path = _write(tmp_path / "qpcr.csv", [["sample_id", "RUNX2_qPCR", "OCN_qPCR"],
                                          ["1.1", "2,5", "-1,25"], ["1.10", "3", "1e-3"]],
                  ";", "cp1252")
    tidy = read_readouts(path).set_index(["sample_id", "marker"])["value"]
    assert tidy[("1.1", "RUNX2")] == 2.5 and tidy[("1.10", "RUNX2")] == 3.0
    assert tidy[("1.1", "OCN")] == -1.25 and tidy[("1.10", "OCN")] == 0.001


def test_text_cell_in_a_semicolon_table_is_still_an_error_naming_it(tmp_path):
    path = _write(tmp_path / "qpcr.csv", [["sample_id", "RUNX2_qPCR"], ["a", "2,5"],
                                          ["b", "1.234,5"]], ";", "utf-8")
    with pytest.raises(ValueError, match=r"qpcr.csv must be numbers.*row 3, column "
                                         r"'RUNX2_qPCR': '1.234,5'"):
        read_readouts(path)


def test_undecodable_bytes_fall_back_and_name_nothing_wrong(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"sample_id,note\ns1,\x81\x8d\n")  # not UTF-8, not Windows-1252
    assert read_table(path)["note"].tolist() == ["\x81\x8d"]
    assert "Latin-1" in read_table(path).attrs["dialect"]


def test_binary_file_named_csv_names_the_file(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_bytes(b"\x00\x01\x02PK\x03\x04" * 20)
    with pytest.raises(ValueError, match="scores.csv"):
        read_table(path)


# --------------------------------------------------------------------------- ids as text
IDS = ["1.1", "1.10", "001", "1", "1e3", "-0", "2.50"]  # all read as numbers by pandas


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_ids_round_trip_as_text(tmp_path, suffix):
    table = pd.DataFrame({"sample_id": IDS, "donor": IDS[::-1], "well": IDS,
                          "value": np.arange(len(IDS), dtype=float)})
    back = read_table(export_table(table, tmp_path / f"t{suffix}"))
    assert back["sample_id"].tolist() == IDS
    assert back["donor"].tolist() == IDS[::-1] and back["well"].tolist() == IDS
    assert back["value"].tolist() == list(range(len(IDS)))


def test_ids_stored_as_numbers_in_excel_are_text(tmp_path):
    path = tmp_path / "t.xlsx"
    pd.DataFrame({"sample_id": [1, 2], "plate_id": [10, 20], "day": [7, 14]}).to_excel(
        path, index=False)
    back = read_table(path)
    assert back["sample_id"].tolist() == ["1", "2"] and back["plate_id"].tolist() == ["10", "20"]
    assert back["day"].tolist() == [7, 14]  # days stay numbers


def test_columns_named_by_the_command_are_text(tmp_path):
    path = write_table(pd.DataFrame({"batch": ["1.10", "1.1"], "x": [1, 2]}), tmp_path / "t.csv")
    assert read_table(path, text_columns=["batch"])["batch"].tolist() == ["1.10", "1.1"]
    assert read_table(path)["batch"].tolist() == [1.1, 1.1]  # not a key: pandas' guess


def test_parquet_and_csv_ids_join(tmp_path):
    scores = pd.DataFrame({"sample_id": ["001", "002", "010"], "os_score": [0.1, 0.5, 0.9]})
    readouts = pd.DataFrame({"sample_id": ["001", "002", "010"], "RUNX2_qPCR": [1.0, 2.0, 3.0]})
    scores = read_table(export_table(scores, tmp_path / "scores.parquet"))
    tidy = read_readouts(write_table(readouts, tmp_path / "qpcr.csv"))
    joined = join_readouts(scores, tidy, on="sample_id", scores=["os_score"])
    assert sorted(joined["sample_id"]) == ["001", "002", "010"]


def _correlate_inputs(folder, ids):
    n = len(ids)
    pd.DataFrame({"image": [f"im{k}.tif" for k in range(n)], "sample_id": ids,
                  "os_score": np.linspace(0.1, 0.9, n)}).to_csv(folder / "scores.csv",
                                                                 index=False)
    pd.DataFrame({"sample_id": ids, "RUNX2_qPCR": np.linspace(1, 5, n) ** 2}).to_csv(
        folder / "qpcr.csv", index=False)


def test_cli_correlate_keeps_ids_1_1_and_1_10_apart(tmp_path, capsys):
    ids = ["1.1", "1.10", "1.2", "1.20", "2.1", "2.10"]
    _correlate_inputs(tmp_path, ids)
    out = tmp_path / "corr.csv"
    assert main(["correlate", str(tmp_path / "scores.csv"), str(tmp_path / "qpcr.csv"),
                 "--out", str(out), "--n-boot", "0"]) == 0
    assert set(read_table(out)["n"]) == {6}


@pytest.mark.parametrize(("make", "needle"), [
    (lambda p: pd.DataFrame({"a": [1]}).to_excel(p, index=False), "rename it to .xlsx"),
    (lambda p: pd.DataFrame({"a": [1]}).to_parquet(p), "rename it to .parquet"),
])
def test_workbook_with_a_csv_suffix_says_what_it_is(tmp_path, capsys, make, needle):
    scores = tmp_path / "scores.csv"
    make(scores)
    pd.DataFrame({"sample_id": ["a"], "RUNX2": [1.0]}).to_csv(tmp_path / "q.csv", index=False)
    out = tmp_path / "corr.csv"
    out.write_text("earlier\n")
    before = digests(tmp_path)
    assert main(["correlate", str(scores), str(tmp_path / "q.csv"), "--out", str(out),
                 "--overwrite"]) == 2
    error = [line for line in stderr_lines(capsys.readouterr().err) if ": error: " in line]
    assert "scores.csv" in error[0] and needle in error[0]
    assert digests(tmp_path) == before


def test_join_says_when_ids_are_numbers():
    scores = pd.DataFrame({"sample_id": [1.1, 1.1], "os_score": [0.2, 0.4]})
    readouts = pd.DataFrame({"sample_id": ["1.1", "1.10"], "marker": "RUNX2", "assay": "qPCR",
                             "value": [1.0, 2.0]})
    joined = join_readouts(scores, readouts, on="sample_id", scores=["os_score"])
    assert joined.attrs["notes"][0].startswith("the scores table's 'sample_id' column holds "
                                               "numbers, so ids such as 1.10 and 1.1")
    texts = join_readouts(scores.astype({"sample_id": str}), readouts, on="sample_id",
                          scores=["os_score"])
    assert not any("holds numbers" in note for note in texts.attrs["notes"])
