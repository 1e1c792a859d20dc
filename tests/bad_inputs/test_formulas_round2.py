"""Spreadsheet formulas never run: every text cell that starts a formula is stored as text.

A file named ``=HYPERLINK("http:evil","x").tif`` or a group named ``=1+1`` must
show as written in Excel and LibreOffice (OWASP "CSV injection"): string cells
in XLSX, a leading ``'`` in CSV, while numbers, negative ones included, stay
numbers. Each export is read back with openpyxl (XLSX) or the csv module.
"""

from __future__ import annotations

import csv
import logging

import openpyxl
import pandas as pd
import pytest
from corpus_helpers import digests, stderr_lines

from napari_msc_morph.cli import main
from napari_msc_morph.io import read_table, write_table
from napari_msc_morph.spreadsheet import escape_formula, unescape_formula
from napari_msc_morph.table_export import export_table

FORMULAS = {
    "hyperlink file name": '=HYPERLINK("http:evil","x").tif',
    "sum": "=1+1",
    "plus reference": "+A1",
    "minus expression as text": "-2+3",
    "at function": "@SUM(A1)",
    "tab first": "\tcmd|' /C calc'!A0",
    "carriage return first": "\r=1+1",
    "already quoted": "'=1+1",
}


def _table(text: str) -> pd.DataFrame:
    return pd.DataFrame({"image": [text, "plain.tif", "-5"], "sample_id": ["001", "1.10", text],
                         "area_um2": [-1.5, 0.0, 2.25], "n_cells": [3, -4, 5]})


def _cells(path, sheet):
    book = openpyxl.load_workbook(path)
    return [[(cell.value, cell.data_type) for cell in row] for row in book[sheet].iter_rows()]


def _assert_text_and_numbers(rows, text):
    header, *body = rows
    assert [v for v, _ in header] == ["image", "sample_id", "area_um2", "n_cells"]
    assert all(t == "s" for _, t in header)
    assert body[0][0] == (text, "s") and body[2][1] == (text, "s")
    assert body[2][0] == ("-5", "s")          # text that looks like a number stays text
    assert [c[2] for c in body] == [(-1.5, "n"), (0, "n"), (2.25, "n")]
    assert [c[3] for c in body] == [(3, "n"), (-4, "n"), (5, "n")]
    assert not any(t == "f" for row in rows for _, t in row)


@pytest.mark.parametrize("case", sorted(FORMULAS))
def test_xlsx_export_stores_formulas_as_text(tmp_path, case):
    text = FORMULAS[case]
    path = export_table(_table(text), tmp_path / "t.xlsx", {"bundle": text})
    _assert_text_and_numbers(_cells(path, "table"), text)
    assert (text, "s") in [c for row in _cells(path, "metadata") for c in row]
    assert read_table(path)["image"][0] == text  # read back exactly


@pytest.mark.parametrize("case", sorted(FORMULAS))
def test_csv_export_quotes_formulas_and_reads_back_exactly(tmp_path, case):
    text = FORMULAS[case]
    path = export_table(_table(text), tmp_path / "t.csv")
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[1][0] == "'" + text and rows[3][1] == "'" + text  # one cell each
    assert rows[3][0] == "'-5"
    assert [r[2] for r in rows[1:]] == ["-1.5", "0.0", "2.25"]  # numbers are not quoted
    assert [r[3] for r in rows[1:]] == ["3", "-4", "5"]
    back = read_table(path)
    assert back["image"].tolist() == [text, "plain.tif", "-5"]
    assert back["sample_id"].tolist() == ["001", "1.10", text]
    assert back["area_um2"].tolist() == [-1.5, 0.0, 2.25]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_write_table_path_column_and_column_name(tmp_path, suffix):
    table = pd.DataFrame({"image": [str(tmp_path / '=HYPERLINK("http:evil","x").tif')],
                          "=1+1": [-2.0]})
    path = write_table(table, tmp_path / f"predictions{suffix}", path_columns=("image",))
    if suffix == ".xlsx":
        rows = _cells(path, "Sheet1")
        assert rows[0][1] == ("=1+1", "s") and rows[1][0][1] == "s"
        assert rows[1][1] == (-2.0, "n")
    else:
        assert path.read_text().splitlines()[0] == "image,'=1+1"
    back = read_table(path)
    assert back.columns.tolist() == ["image", "=1+1"]
    assert back["image"][0] == '=HYPERLINK("http:evil","x").tif'


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_control_character_is_replaced_with_a_warning_naming_the_column(tmp_path, suffix,
                                                                        caplog):
    table = pd.DataFrame({"image": ["a\x01b.tif", "c.tif"], "area": [1.0, -2.0]})
    with caplog.at_level(logging.WARNING, logger="napari_msc_morph"):
        path = export_table(table, tmp_path / f"t{suffix}")
    if suffix == ".xlsx":
        assert _cells(path, "table")[1][0] == ("a\ufffdb.tif", "s")
        assert "column 'image'" in caplog.text and "1 cell(s)" in caplog.text
        assert "t.xlsx" in caplog.text
    else:  # CSV holds any character: kept as it is, no warning
        assert read_table(path)["image"][0] == "a\x01b.tif"
        assert "control characters" not in caplog.text


def _comparison_table(groups) -> pd.DataFrame:
    return pd.DataFrame({"group": [g for g in groups for _ in range(3)],
                         "donor": ["A", "B", "C"] * len(groups),
                         "os": [0.1, 0.2, 0.15, 0.5, 0.55, 0.6, 0.8, 0.9, 0.85][:3 * len(groups)]})


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_cli_compare_group_names_stay_text(tmp_path, capsys, suffix):
    groups = ["=1+1", "-2+3", "@SUM(A1)"]
    _comparison_table(groups).to_csv(tmp_path / "table.csv", index=False)
    out = tmp_path / f"results{suffix}"
    assert main(["compare", str(tmp_path / "table.csv"), "--value", "os", "--by", "group",
                 "--out", str(out)]) == 0
    if suffix == ".xlsx":
        cells = [c for sheet in openpyxl.load_workbook(out).worksheets
                 for row in sheet.iter_rows() for c in row]
        assert not [c.coordinate for c in cells if c.data_type == "f"]
        texts = {c.value for c in cells if c.data_type == "s"}
        assert set(groups) <= texts
        assert any(c.data_type == "n" for c in cells)
    else:
        raw = out.read_text()
        for group in groups:
            assert f"'{group}" in raw
            assert f",{group}" not in raw and not raw.startswith(group)


def test_cli_compare_control_character_warns_naming_the_column(tmp_path, capsys):
    _comparison_table(["a\x01", "b", "c"]).to_csv(tmp_path / "table.csv", index=False)
    out = tmp_path / "results.xlsx"
    assert main(["compare", str(tmp_path / "table.csv"), "--value", "os", "--by", "group",
                 "--out", str(out)]) == 0
    warnings = [line for line in stderr_lines(capsys.readouterr().err) if "U+FFFD" in line]
    assert warnings and "results.xlsx" in warnings[0] and "column 'group'" in warnings[0]


def test_cli_export_failure_keeps_the_earlier_output(tmp_path, capsys):
    """A failed compare (a column missing) leaves the earlier .xlsx byte-identical."""
    _comparison_table(["=1+1", "b", "c"]).to_csv(tmp_path / "table.csv", index=False)
    out = tmp_path / "results.xlsx"
    assert main(["compare", str(tmp_path / "table.csv"), "--value", "os", "--by", "group",
                 "--out", str(out)]) == 0
    before = digests(tmp_path)
    assert main(["compare", str(tmp_path / "table.csv"), "--value", "osscore", "--by", "group",
                 "--out", str(out), "--overwrite"]) == 2
    assert "'osscore'" in capsys.readouterr().err
    assert digests(tmp_path) == before


@pytest.mark.parametrize("text", [*FORMULAS.values(), "'", "''", "'a", "a'", "", "plain",
                                  "-", "=", "''=x"])
def test_escape_is_undone_exactly(text):
    escaped = escape_formula(text)
    assert unescape_formula(escaped) == text
    assert escaped[:1] not in ("=", "+", "-", "@", "\t", "\r")
