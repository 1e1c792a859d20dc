"""Donor-aware statistics and qPCR transforms: wrong options stop before any output.

Each case is one `msc-morph correlate` (or `synth`) call with a user mistake: exit
status 2, one error line naming the option / column / value and what the file
holds, the inputs and an earlier output byte-identical afterwards; the library call
raises BadInputError with the same message.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from corpus_helpers import digests, stderr_lines

from napari_msc_morph.analysis import correlate_study
from napari_msc_morph.cli import main
from napari_msc_morph.errors import BadInputError


def _scores() -> pd.DataFrame:
    rows = []
    for donor in ("D1", "D2", "D3"):
        for day, condition in ((0, "control"), (7, "induced"), (14, "induced")):
            for k in (0, 1):
                rows.append({"image": f"{donor}_d{day}_{k}.tif", "sample_id": f"{donor}_d{day}",
                             "donor": donor, "day": day, "condition": condition,
                             "os_score": 0.1 + day / 20 + 0.01 * k})
    return pd.DataFrame(rows)


def _ct() -> pd.DataFrame:
    rows = []
    for donor in ("D1", "D2", "D3"):
        for day, condition in ((0, "control"), (7, "induced"), (14, "induced")):
            for marker, ct in (("RUNX2", 26 - day / 5), ("GAPDH", 18.0)):
                for rep in (1, 2):
                    rows.append({"sample_id": f"{donor}_d{day}", "donor": donor, "day": day,
                                 "condition": condition, "marker": marker, "assay": "qPCR",
                                 "replicate": rep, "value": ct + 0.1 * rep})
    return pd.DataFrame(rows)


# name -> (scores, readouts, extra options, texts the one error line must hold)
CASES = {
    "reference gene not measured": (
        _scores(), _ct(), ["--transform", "delta-ct", "--reference-gene", "ACTB"],
        ["--reference-gene ACTB", "readouts.csv", "no qPCR values for 'ACTB'",
         "['GAPDH', 'RUNX2']"]),
    "delta-ct without a reference gene": (
        _scores(), _ct(), ["--transform", "delta-ct"], ["--reference-gene NAME"]),
    "control value absent": (
        _scores(), _ct(), ["--transform", "delta-ct", "--reference-gene", "GAPDH",
                           "--control", "untreated"],
        ["--control untreated", "condition == 'untreated'", "['control', 'induced']"]),
    "control column absent": (
        _scores(), _ct(), ["--transform", "delta-ct", "--reference-gene", "GAPDH",
                           "--control", "batch=1"],
        ["--control batch=1", "no 'batch' column"]),
    "control missing for one donor": (
        _scores(), _ct()[~((_ct().donor == "D3") & (_ct().condition == "control"))],
        ["--transform", "delta-ct", "--reference-gene", "GAPDH", "--control", "control"],
        ["--control control", "marker / donor", "RUNX2 / D3"]),
    "log2 of Ct-like values that are not positive": (
        _scores(), _ct().assign(value=lambda f: f["value"] - 20),
        ["--transform", "log2"], ["--transform log2 needs positive qPCR values", "rows [",
                                  "--transform delta-ct"]),
    "transform without qPCR rows": (
        _scores(), _ct().assign(assay="western"), ["--transform", "log2"],
        ["--transform log2 acts on qPCR readouts", "['western']"]),
    "reference gene without delta-ct": (
        _scores(), _ct(), ["--reference-gene", "GAPDH"], ["--transform delta-ct"]),
    "repeated-by column absent": (
        _scores(), _ct(), ["--repeated-by", "batch"],
        ["'batch'", "--repeated-by"]),
    "donor varies within a day/condition sample": (
        _scores().drop(columns=["sample_id"]), _ct().drop(columns=["sample_id"]),
        ["--on", "day,condition", "--repeated-by", "donor"],
        ["several 'donor' values", "--on donor,day,condition"]),
}


def _write(tmp_path: Path, scores: pd.DataFrame, readouts: pd.DataFrame) -> tuple[Path, Path]:
    scores_path, readouts_path = tmp_path / "scores.csv", tmp_path / "readouts.csv"
    scores.to_csv(scores_path, index=False)
    readouts.to_csv(readouts_path, index=False)
    return scores_path, readouts_path


@pytest.mark.parametrize("case", sorted(CASES))
def test_cli_stops_with_one_line_naming_the_problem(tmp_path, capsys, case):
    scores, readouts, extra, expected = CASES[case]
    scores_path, readouts_path = _write(tmp_path, scores, readouts)
    out = tmp_path / "correlations.csv"
    out.write_text("earlier results\n")
    before = digests(tmp_path)
    code = main(["correlate", str(scores_path), str(readouts_path), "--method", "pearson",
                 "--out", str(out), "--overwrite", *extra])
    assert code == 2
    errors = [line for line in stderr_lines(capsys.readouterr().err)
              if line.startswith("msc-morph correlate: error: ")]
    assert len(errors) == 1, errors
    for text in expected:
        assert text in errors[0], (text, errors[0])
    assert digests(tmp_path) == before


@pytest.mark.parametrize("case", ["reference gene not measured", "control value absent",
                                  "donor varies within a day/condition sample"])
def test_library_raises_bad_input_error(case):
    scores, readouts, extra, expected = CASES[case]
    options = dict(zip(extra[::2], extra[1::2], strict=True))
    kwargs = {"on": options.get("--on", "sample_id"),
              "transform": options.get("--transform"),
              "reference_gene": options.get("--reference-gene"),
              "control": options.get("--control"),
              "repeated_by": options.get("--repeated-by")}
    with pytest.raises(BadInputError) as caught:
        correlate_study(scores, readouts, method="pearson", **kwargs)
    # the same message, naming the table "readouts" instead of a file
    assert all(text in str(caught.value) for text in expected[1:] if ".csv" not in text)


def test_synth_readouts_only_for_the_osteo_time_course(tmp_path, capsys):
    out = tmp_path / "passage"
    assert main(["synth", "passage", "--out", str(out), "--readouts", "--size", "64", "64",
                 "--n-donors", "1", "--per-class", "1"]) == 2
    errors = [line for line in stderr_lines(capsys.readouterr().err)
              if line.startswith("msc-morph synth: error: ")]
    assert len(errors) == 1 and "--readouts is for the osteo time course" in errors[0]
    assert not out.exists()  # nothing written before the refusal
