"""Duplicates read as one, values dropped without a word, manifest errors on the wrong line.

A column given twice (pandas would rename the second to ``X.1``), a marker listed
twice in ``--thresholds-from``, one gene spelt in two cases, an ``Inf`` readout,
a ``52.4%`` score, blank lines before a bad manifest row, ``a.tif:DAPI:extra`` and
a label in the wrong case: each is an error naming the culprit (exit 2, inputs
and an earlier output byte-identical), or a correct result with a warning
naming it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from corpus_helpers import digests, stderr_lines

from napari_msc_morph.analysis import read_readouts
from napari_msc_morph.batch import FieldsManifestError, read_fields_manifest
from napari_msc_morph.cli import main
from napari_msc_morph.errors import BadInputError
from napari_msc_morph.io import read_table, write_tiff


def _refused(argv, capsys, folder, *needles) -> str:
    """Exit 2, one error line holding every needle, every file under ``folder`` unchanged."""
    before = digests(folder)
    code = main(argv)
    lines = stderr_lines(capsys.readouterr().err)
    assert code == 2, lines
    errors = [line for line in lines if ": error: " in line]
    assert len(errors) == 1, lines
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    assert digests(folder) == before
    return errors[0]


@pytest.fixture
def plate(tmp_path):
    labels = np.zeros((24, 24), np.uint16)
    labels[2:10, 2:10], labels[12:20, 12:20] = 1, 2
    for k in range(2):
        write_tiff(labels, tmp_path / f"f{k}_cells.tif", pixel_size_um=0.5)
        write_tiff(np.where(labels == 1, 900, 100).astype(np.uint16),
                   tmp_path / f"f{k}_RUNX2.tif", pixel_size_um=0.5)
    (tmp_path / "cells_out.csv").write_text("earlier output\n")
    return tmp_path


def _manifest(folder, header, rows, name="fields.csv") -> str:
    path = folder / name
    path.write_text("\n".join([",".join(header), *[",".join(r) for r in rows]]) + "\n")
    return str(path)


# --------------------------------------------------------------------------- duplicates
MANIFEST_DUPLICATES = {
    "two labels columns": (["field", "labels", "labels"],
                           "'labels' is column 2 and 3"),
    "two channel columns": (["field", "labels", "channel_RUNX2", "channel_RUNX2"],
                            "'channel_RUNX2' is column 3 and 4"),
    "labels and Labels": (["field", "labels", "Labels"],
                          "columns 'labels' and 'Labels' are the same column"),
    "two field columns": (["field", "field", "labels"], "'field' is column 1 and 2"),
}


@pytest.mark.parametrize("case", sorted(MANIFEST_DUPLICATES))
def test_cli_measure_manifest_with_a_column_twice(plate, capsys, case):
    header, needle = MANIFEST_DUPLICATES[case]
    values = {"field": "f0", "labels": "f0_cells.tif", "Labels": "f1_cells.tif",
              "channel_RUNX2": "f0_RUNX2.tif"}
    path = _manifest(plate, header, [[values[h] for h in header]])
    _refused(["measure", "--manifest", path, "--out", str(plate / "cells_out.csv"),
              "--overwrite"], capsys, plate, "fields.csv", needle)


def test_library_manifest_with_a_column_twice(plate):
    path = _manifest(plate, ["field", "labels", "labels"], [["f0", "f0_cells.tif", "x.tif"]])
    with pytest.raises(BadInputError, match=r"fields.csv: a column name appears more than once "
                                            r"\('labels' is column 2 and 3\)"):
        read_fields_manifest(path, required=("labels",))


@pytest.mark.parametrize(("rows", "needle"), [
    ([["RUNX2", "500"], ["RUNX2", "300"]], "['RUNX2'] are listed more than once"),
    ([["RUNX2", "500"], ["OCN", "2"], ["OCN", "2"]], "['OCN'] are listed more than once"),
])
def test_cli_measure_thresholds_from_with_a_marker_twice(plate, capsys, rows, needle):
    path = _manifest(plate, ["marker", "threshold"], rows, name="thresholds.csv")
    _refused(["measure", str(plate / "f0_cells.tif"), "--channel",
              f"RUNX2={plate / 'f0_RUNX2.tif'}", "--thresholds-from", path,
              "--out", str(plate / "cells_out.csv"), "--overwrite"], capsys, plate,
             "--thresholds-from", "thresholds.csv", needle)


def _correlate_folder(folder, readouts: str, scores: pd.DataFrame | None = None):
    ids = [f"s{k}" for k in range(1, 7)]
    if scores is None:
        scores = pd.DataFrame({"image": [f"{s}.tif" for s in ids], "sample_id": ids,
                               "os_score": np.linspace(0.1, 0.9, 6)})
    scores.to_csv(folder / "scores.csv", index=False)
    (folder / "qpcr.csv").write_text(readouts)
    (folder / "corr.csv").write_text("earlier output\n")
    return ["correlate", str(folder / "scores.csv"), str(folder / "qpcr.csv"),
            "--out", str(folder / "corr.csv"), "--overwrite", "--n-boot", "0"]


def _wide(header: str, rows=None) -> str:
    rows = rows or [f"s{k},{k}.5,{k * 2}.0" for k in range(1, 7)]
    return "\n".join([header, *rows]) + "\n"


READOUT_DUPLICATES = {
    "repeated wide column": (_wide("sample_id,RUNX2,RUNX2"), ["qpcr.csv", "'RUNX2' is column 2 "
                                                                       "and 3"]),
    "gene in two cases": (_wide("sample_id,GAPDH,gapdh"),
                          ["qpcr.csv", "'GAPDH' and 'gapdh' name the same marker"]),
    "gene in two cases with assay": (_wide("sample_id,Sox9_qPCR,SOX9_qPCR"),
                                     ["'Sox9_qPCR' and 'SOX9_qPCR'", "qPCR"]),
    "two names of one marker": (_wide("sample_id,OCN_qPCR,BGLAP_qPCR"),
                                ["'OCN_qPCR' and 'BGLAP_qPCR' name the same marker (OCN, qPCR)"]),
    "long form in two cases": (
        "sample_id,marker,value\n" + "".join(f"s{k},GAPDH,1.{k}\ns{k},gapdh,2.{k}\n"
                                             for k in range(1, 7)),
        ["qpcr.csv", "marker names 'GAPDH' and 'gapdh'"]),
}


@pytest.mark.parametrize("case", sorted(READOUT_DUPLICATES))
def test_cli_correlate_refuses_one_marker_read_twice(tmp_path, capsys, case):
    text, needles = READOUT_DUPLICATES[case]
    _refused(_correlate_folder(tmp_path, text), capsys, tmp_path, *needles)


def test_library_readouts_dataframe_with_a_column_twice():
    frame = pd.DataFrame([["s1", 1.0, 2.0]], columns=["sample_id", "RUNX2", "RUNX2"])
    with pytest.raises(BadInputError, match=r"readouts: a column name appears more than once"):
        read_readouts(frame)


def test_train_manifest_with_label_and_Label(tmp_path):
    from napari_msc_morph.training.data import ManifestError, read_manifest

    path = tmp_path / "manifest.csv"
    path.write_text("path,label,Label\na.tif,control,induced\n")
    with pytest.raises(ManifestError, match=r"\[label\]: the column 'label' is given more than "
                                            "once"):
        read_manifest(path)


# --------------------------------------------------------------------------- values dropped
@pytest.mark.parametrize("cell", ["inf", "-inf", "Inf", "Infinity"])
def test_cli_correlate_infinite_readout_is_left_out_with_a_warning(tmp_path, capsys, cell):
    rows = [f"s{k},{k}.5,{k * 2}.0" for k in range(1, 7)]
    rows[2] = f"s3,{cell},6.0"
    argv = _correlate_folder(tmp_path, _wide("sample_id,RUNX2_qPCR,OCN_qPCR", rows))
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "qpcr.csv row 4: sample s3 has an infinite RUNX2 (qPCR) value in column " \
           "'RUNX2_qPCR'; that measurement is left out." in err
    results = read_table(tmp_path / "corr.csv").set_index(["marker", "method"])
    assert results.loc[("RUNX2", "pearson"), "n"] == 5
    assert results.loc[("OCN", "pearson"), "n"] == 6


@pytest.mark.parametrize(("cells", "expected"), [
    (["52.4%", "60%", "71,5%", "80 %", "90.0%", "99%"], [0.524, 0.6, 0.715, 0.8, 0.9, 0.99]),
    (["-5%", "0%", "5%", "", "15%", "20%"], [-0.05, 0.0, 0.05, np.nan, 0.15, 0.2]),
])
def test_cli_correlate_percent_score_is_read_as_a_fraction(tmp_path, capsys, cells, expected):
    ids = [f"s{k}" for k in range(1, 7)]
    scores = pd.DataFrame({"image": [f"{s}.tif" for s in ids], "sample_id": ids,
                           "os_score": cells})
    argv = _correlate_folder(tmp_path, _wide("sample_id,RUNX2_qPCR,OCN_qPCR"), scores)
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "scores.csv: column 'os_score' holds percentages; they are read as fractions" in err
    assert set(read_table(tmp_path / "corr.csv")["score"]) == {"os_score"}
    frame = read_table(tmp_path / "scores.csv")
    np.testing.assert_allclose(frame["os_score"], expected)


def test_percent_mixed_with_text_stays_text_and_is_refused_as_text(tmp_path, capsys):
    ids = [f"s{k}" for k in range(1, 7)]
    scores = pd.DataFrame({"image": [f"{s}.tif" for s in ids], "sample_id": ids,
                           "os_score": ["52%", "high", "60%", "61%", "70%", "80%"]})
    argv = _correlate_folder(tmp_path, _wide("sample_id,RUNX2_qPCR,OCN_qPCR"), scores)
    _refused([*argv, "--scores", "os_score"], capsys, tmp_path, "os_score")


# --------------------------------------------------------------------------- manifest lines
@pytest.mark.parametrize("blank", [1, 2, 5])
def test_manifest_error_names_the_real_file_line(plate, blank):
    text = "field,labels\n" + "\n" * blank + "f0,f0_cells.tif\n\nf1,missing.tif\n"
    (plate / "fields.csv").write_text(text)
    with pytest.raises(FieldsManifestError) as info:
        read_fields_manifest(plate / "fields.csv", required=("labels",))
    assert info.value.problems[0][0] == blank + 4  # header, blanks, f0, a blank, then f1
    assert f"line {blank + 4} [labels]" in str(info.value)


def test_cli_manifest_error_names_the_real_line_and_keeps_the_output(plate, capsys):
    (plate / "fields.csv").write_text("field,labels\n\n\nf0,f0_cells.tif\nf1,nope.tif\n")
    _refused(["measure", "--manifest", str(plate / "fields.csv"), "--out",
              str(plate / "cells_out.csv"), "--overwrite"], capsys, plate, "line 5 [labels]",
             "nope.tif does not exist")


def test_train_manifest_names_the_real_line(tmp_path):
    from napari_msc_morph.training.data import read_manifest

    (tmp_path / "manifest.csv").write_text("path,label\n\n\na.tif,control\n\nb.tif,induced\n")
    assert read_manifest(tmp_path / "manifest.csv")["line"].tolist() == [4, 6]


@pytest.mark.parametrize("spec", ["f0_RUNX2.tif:0:extra", "f0_RUNX2.tif:DAPI:extra",
                                  "missing.tif:0:1"])
def test_channel_spec_with_too_many_parts(plate, capsys, spec):
    path = _manifest(plate, ["field", "labels", "channel_RUNX2"], [["f0", "f0_cells.tif", spec]])
    _refused(["measure", "--manifest", path, "--out", str(plate / "cells_out.csv"),
              "--overwrite"], capsys, plate, "line 2 [channel_RUNX2]",
             f"{spec!r} has too many ':' parts")


@pytest.mark.parametrize(("label", "meant"), [("Control", "control"), ("INDUCED", "induced")])
def test_label_in_another_case_suggests_the_class(tmp_path, label, meant):
    from napari_msc_morph.training.data import ManifestError, read_manifest, validate_manifest

    write_tiff(np.zeros((8, 8), np.uint8), tmp_path / "a.tif")
    (tmp_path / "manifest.csv").write_text(f"path,label\na.tif,{label}\n")
    with pytest.raises(ManifestError, match=rf"unknown label '{label}' \(did you mean "
                                            rf"'{meant}'\? labels are case-sensitive\)"):
        validate_manifest(read_manifest(tmp_path / "manifest.csv"), ["control", "induced"],
                          group_column=None, check_readable=False)


def test_percent_text_in_a_workbook_is_read_as_a_fraction(tmp_path, caplog):
    path = tmp_path / "scores.xlsx"
    pd.DataFrame({"sample_id": ["a", "b"], "os_score": ["52.4%", "7%"]}).to_excel(path,
                                                                                  index=False)
    with caplog.at_level("WARNING", logger="napari_msc_morph"):
        frame = read_table(path)
    np.testing.assert_allclose(frame["os_score"], [0.524, 0.07])
    assert "scores.xlsx: column 'os_score' holds percentages" in caplog.text
