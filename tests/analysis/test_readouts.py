"""Readout tables: long and wide form, replicates, aliases, loading controls, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_msc_morph.analysis.readouts import read_readouts, to_long

LONG = pd.DataFrame({
    "sample_id": ["s1", "s1", "s1", "s2", "s2", "s1", "s2"],
    "marker": ["RUNX2", "RUNX2", "RUNX2", "RUNX2", "RUNX2", "OCN", "OCN"],
    "assay": ["qPCR"] * 5 + ["western", "western"],
    "value": [1.0, 2.0, 4.0, 5.0, 7.0, 0.5, 0.9],
    "replicate": [1, 2, 3, 1, 2, 1, 1],
})


def _row(table, sample, marker):
    return table[(table.sample_id == sample) & (table.marker == marker)].iloc[0]


def test_long_form_replicates_are_averaged_with_sd():
    table = read_readouts(LONG)
    assert list(table.columns) == ["sample_id", "marker", "assay", "value", "value_sd",
                                   "n_replicates"]
    s1 = _row(table, "s1", "RUNX2")
    assert s1["value"] == pytest.approx(7 / 3)
    assert s1["value_sd"] == pytest.approx(np.std([1, 2, 4], ddof=1))
    assert s1["n_replicates"] == 3
    assert _row(table, "s2", "RUNX2")["value_sd"] == pytest.approx(np.sqrt(2))
    ocn = _row(table, "s1", "OCN")
    assert ocn["assay"] == "western" and ocn["n_replicates"] == 1 and np.isnan(ocn["value_sd"])


def test_wide_form_gives_the_same_table():
    wide = pd.DataFrame({
        "Sample_ID": ["s1", "s1", "s1", "s2", "s2"],
        "replicate": [1, 2, 3, 1, 2],
        "RUNX2_qPCR": [1.0, 2.0, 4.0, 5.0, 7.0],
        "OCN (western)": [0.5, None, None, 0.9, None],
    })
    wide_table = read_readouts(wide)
    long_table = read_readouts(LONG)
    pd.testing.assert_frame_equal(wide_table, long_table)


def test_wide_form_with_assay_column_aliases_and_other_markers():
    wide = pd.DataFrame({
        "sample_id": ["a", "a", "b", "b"],
        "assay": ["RT-qPCR", "WB", "rt-qpcr", "wb"],
        "runx2": [1.0, 2.0, 3.0, 4.0],
        "BGLAP": [5.0, 6.0, 7.0, 8.0],
        "Sp7": [1.5, 2.5, 3.5, 4.5],
        "p21": [0.1, 0.2, 0.3, 0.4],
        "Ki67|IF": [10.0, 11.0, 12.0, 13.0],
    })
    table = read_readouts(wide)
    assert set(table["marker"]) == {"RUNX2", "OCN", "OSX", "p21", "Ki67"}
    assert set(table.loc[table.marker == "RUNX2", "assay"]) == {"qPCR", "western"}
    assert set(table.loc[table.marker == "Ki67", "assay"]) == {"IF"}
    only = read_readouts(wide, markers=["RUNX2", "osteocalcin"])
    assert set(only["marker"]) == {"RUNX2", "OCN"}


def test_csv_and_xlsx_files(tmp_path):
    LONG.to_csv(tmp_path / "r.csv", index=False)
    LONG.to_excel(tmp_path / "r.xlsx", index=False)
    a = read_readouts(tmp_path / "r.csv")
    b = read_readouts(str(tmp_path / "r.xlsx"))
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        read_readouts(tmp_path / "missing.csv")


def test_non_numeric_values_name_the_rows():
    bad = LONG.astype({"value": object}).copy()
    bad.loc[1, "value"] = "n.d."
    bad.loc[4, "value"] = "7,0"
    with pytest.raises(ValueError, match=r"row 3, column 'value': 'n.d.', row 6, column 'value': '7,0'"):
        read_readouts(bad)


def test_absent_markers_are_listed():
    with pytest.raises(ValueError, match=r"no values for marker\(s\) \['OSX'\]; it has \['OCN', 'RUNX2'\]"):
        read_readouts(LONG, markers=["RUNX2", "OSX"])


def test_missing_sample_column_and_missing_ids():
    with pytest.raises(ValueError, match="no sample column"):
        read_readouts(LONG.drop(columns=["sample_id"]))
    holes = LONG.copy()
    holes.loc[2, "sample_id"] = None
    with pytest.raises(ValueError, match=r"rows \[4\] have no sample_id"):
        read_readouts(holes)


def test_duplicate_sample_ids_with_conflicting_metadata():
    table = LONG.assign(day=[7, 7, 14, 21, 21, 7, 21])
    with pytest.raises(ValueError, match=r"sample_id 's1' has day 14.0, 7.0"):
        read_readouts(table)


def test_western_normalised_to_loading_control_column_and_marker():
    with_column = LONG.assign(loading_control=[None] * 5 + [2.0, 3.0])
    table = read_readouts(with_column)
    assert _row(table, "s1", "OCN")["value"] == pytest.approx(0.25)
    assert _row(table, "s1", "RUNX2")["value"] == pytest.approx(7 / 3)  # qPCR untouched
    gapdh = pd.DataFrame({"sample_id": ["s1", "s2"], "marker": ["GAPDH", "GAPDH"],
                          "assay": ["western", "western"], "value": [2.0, 3.0],
                          "replicate": [1, 1]})
    table = read_readouts(pd.concat([LONG, gapdh]), loading_control="GAPDH")
    assert "GAPDH" not in set(table["marker"])
    assert _row(table, "s2", "OCN")["value"] == pytest.approx(0.3)
    with pytest.raises(ValueError, match="no rows for the loading control 'ACTB'"):
        read_readouts(LONG, loading_control="ACTB")


def test_to_long_keeps_file_row_numbers():
    long = to_long(LONG)
    assert list(long["row"]) == list(range(2, 9))


def test_exclusions_and_rows_travel_with_the_table():
    wide = pd.DataFrame({"sample_id": ["a", "b", "c"], "RUNX2": [1.0, None, 3.0]})
    table = read_readouts(wide)
    assert sorted(table["sample_id"]) == ["a", "c"]
    assert table.attrs["exclusions"] == [
        "readouts row 3: sample b has no RUNX2 (unspecified) value in column 'RUNX2' "
        "(empty or NA cell); that measurement is left out."]
    assert table.attrs["sample_rows"]["row"] == [2, 4]


def test_repeated_replicate_is_an_error_naming_both_rows():
    bad = LONG.copy()
    bad.loc[2, "replicate"] = 2
    with pytest.raises(ValueError, match=r"sample s1 RUNX2 \(qPCR\) replicate 2 on rows \[3, 4\]"):
        read_readouts(bad)
