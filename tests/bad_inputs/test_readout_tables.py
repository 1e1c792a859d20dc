"""Readout and score tables: nothing is dropped silently.

Text cells where numbers belong are errors naming file, row and column (exit 2,
inputs and an earlier output untouched); empty cells, repeated rows and sample
ids found in only one table are listed, with their file rows, in the study's
warnings (``msc-morph correlate`` prints them) and the correlation still runs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from napari_msc_morph.analysis import correlate_study, read_readouts
from napari_msc_morph.cli import main
from napari_msc_morph.errors import BadInputError

SAMPLES = [f"s{k}" for k in range(1, 7)]


def _scores() -> pd.DataFrame:
    return pd.DataFrame({"image": [f"{s}.tif" for s in SAMPLES], "sample_id": SAMPLES,
                         "osscore": np.linspace(0.1, 0.9, len(SAMPLES)).round(3).astype(object)})


def _wide() -> pd.DataFrame:
    return pd.DataFrame({"sample_id": SAMPLES,
                         "RUNX2_qPCR": (1 + 4 * np.linspace(0, 1, 6) ** 2).round(3).astype(object),
                         "OCN_qPCR": [2.0, 2.5, 2.1, 3.3, 3.1, 4.0]})


def _long() -> pd.DataFrame:
    return pd.DataFrame({"sample_id": [s for s in SAMPLES for _ in (1, 2)],
                         "replicate": [1, 2] * len(SAMPLES),
                         "marker": "RUNX2", "assay": "qPCR",
                         "value": np.linspace(1, 6, 12).round(3).astype(object)})


def _set(frame, row, column, value):
    """Put ``value`` at file line ``row`` (header = line 1)."""
    frame = frame.copy()
    frame.loc[row - 2, column] = value
    return frame


# name -> (scores, readouts, text the message must hold: file, row and column)
ERRORS = {
    "text in a score column": (
        _set(_scores(), 4, "osscore", "high"), _wide(),
        ["scores.csv", "column 'osscore'", "rows [4]", "high"]),
    "text in a wide readout column": (
        _scores(), _set(_wide(), 3, "RUNX2_qPCR", "n.d."),
        ["readouts.csv", "row 3, column 'RUNX2_qPCR'", "n.d."]),
    "text in a long value column": (
        _scores(), _set(_long(), 7, "value", "7,5"),
        ["readouts.csv", "row 7, column 'value'", "7,5"]),
    "excel error text in a score": (
        _set(_scores(), 2, "osscore", "#DIV/0!"), _wide(),
        ["scores.csv", "column 'osscore'", "rows [2]", "#DIV/0!"]),
    "sample measured twice as one replicate": (
        _scores(), _set(_long(), 5, "replicate", 1),
        ["readouts.csv", "duplicated sample ids", "sample s2 RUNX2 (qPCR) replicate 1",
         "rows [4, 5]"]),
    "readout row without a sample id": (
        _scores(), _set(_wide(), 6, "sample_id", np.nan),
        ["readouts.csv", "rows [6]", "no sample_id"]),
}

# name -> (scores, readouts, warnings that must be listed)
EXCLUSIONS = {
    "NA cell in a score column": (
        _set(_scores(), 4, "osscore", "NA"), _wide(),
        ["scores.csv row 4: sample s3 has no osscore",
         "sample s3 has no osscore value in any of its images"]),
    "empty readout cell": (
        _scores(), _set(_wide(), 3, "RUNX2_qPCR", ""),
        ["readouts.csv row 3: sample s2 has no RUNX2 (qPCR) value in column 'RUNX2_qPCR'"]),
    "sample only in the scores": (
        pd.concat([_scores(), pd.DataFrame({"image": ["s7.tif"], "sample_id": ["s7"],
                                            "osscore": [0.5]})], ignore_index=True), _wide(),
        ["sample s7 is in", "scores.csv (rows 8) but not in", "readouts.csv"]),
    "sample only in the readouts": (
        _scores().iloc[:5], _wide(),
        ["sample s6 is in", "readouts.csv (rows 7) but not in", "scores.csv"]),
    "repeated readout rows without replicate column": (
        _scores(), pd.concat([_wide(), _wide().iloc[[1]]], ignore_index=True),
        ["readouts.csv: repeated rows for one sample", "sample s2 RUNX2 (qPCR) on rows [3, 8]"]),
    "repeated image in the scores": (
        pd.concat([_scores(), _scores().iloc[[0]]], ignore_index=True), _wide(),
        ["scores.csv: image 's1.tif' is on rows [2, 8]"]),
}


def _write(tmp_path: Path, scores: pd.DataFrame, readouts: pd.DataFrame) -> tuple[Path, Path]:
    scores_path, readouts_path = tmp_path / "scores.csv", tmp_path / "readouts.csv"
    scores.to_csv(scores_path, index=False)
    readouts.to_csv(readouts_path, index=False)
    return scores_path, readouts_path


def _hashes(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


def _correlate(scores, readouts, out, *extra):
    return main(["correlate", str(scores), str(readouts), "--out", str(out),
                 "--method", "pearson", *extra])


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_cli_text_where_numbers_belong_names_file_row_column(tmp_path, capsys, case):
    scores, readouts, expected = ERRORS[case]
    scores_path, readouts_path = _write(tmp_path, scores, readouts)
    out = tmp_path / "results.csv"
    out.write_text("earlier results\n")
    before = _hashes(tmp_path)
    # --overwrite: the earlier table may be replaced by a good run, never by a failed one
    assert _correlate(scores_path, readouts_path, out, "--overwrite") == 2
    errors = [line for line in capsys.readouterr().err.splitlines()
              if "msc-morph correlate: error: " in line]
    assert len(errors) == 1
    for text in expected:
        assert text in errors[0]
    assert _hashes(tmp_path) == before


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_library_text_where_numbers_belong_raises_bad_input(tmp_path, case):
    scores, readouts, expected = ERRORS[case]
    scores_path, readouts_path = _write(tmp_path, scores, readouts)
    with pytest.raises(BadInputError) as caught:
        correlate_study(scores_path, readouts_path, method="pearson")
    assert all(text in str(caught.value) for text in expected)


@pytest.mark.parametrize("case", sorted(EXCLUSIONS))
def test_cli_every_exclusion_is_listed_with_its_rows(tmp_path, capsys, case):
    scores, readouts, expected = EXCLUSIONS[case]
    scores_path, readouts_path = _write(tmp_path, scores, readouts)
    before = _hashes(tmp_path)
    out = tmp_path / "out" / "results.csv"
    assert _correlate(scores_path, readouts_path, out) == 0
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    for text in expected:
        assert any(text in line for line in warnings), (text, warnings)
    assert len(pd.read_csv(out)) == 2  # osscore x RUNX2, OCN
    assert _hashes(tmp_path) == before


@pytest.mark.parametrize("case", sorted(EXCLUSIONS))
def test_library_every_exclusion_is_in_the_study_warnings(tmp_path, case):
    scores, readouts, expected = EXCLUSIONS[case]
    scores_path, readouts_path = _write(tmp_path, scores, readouts)
    study = correlate_study(scores_path, readouts_path, method="pearson")
    for text in expected:
        assert any(text in warning for warning in study.warnings), (text, study.warnings)


def test_clean_tables_have_no_exclusions(tmp_path):
    study = correlate_study(*_write(tmp_path, _scores(), _wide()), method="pearson")
    assert study.warnings == []
    assert read_readouts(_wide()).attrs["exclusions"] == []


def test_an_empty_readout_cell_lowers_n_and_says_which_sample(tmp_path):
    scores_path, readouts_path = _write(tmp_path, _scores(), _set(_wide(), 3, "RUNX2_qPCR", ""))
    study = correlate_study(scores_path, readouts_path, method="pearson")
    runx2 = study.results.set_index("marker").loc["RUNX2"]
    assert runx2["n"] == 5
    assert any("sample s2" in w and "RUNX2" in w for w in study.warnings)


def test_a_sample_key_given_as_a_score_is_named():
    """Issue 25: `correlate --scores day` ended in pandas' "cannot insert day, already exists"."""
    import pandas as pd
    import pytest

    from napari_msc_morph.analysis.aggregate import aggregate_to_samples
    from napari_msc_morph.errors import BadInputError

    images = pd.DataFrame({"sample_id": ["a", "a", "b"], "day": [0, 0, 7],
                           "os_score": [0.1, 0.2, 0.8]})
    with pytest.raises(BadInputError, match=r"\['day'\] name the samples.*compare --value"):
        aggregate_to_samples(images, on="sample_id", scores=["day"])
    assert list(aggregate_to_samples(images, on="sample_id", scores=["os_score"])["os_score"]) \
        == pytest.approx([0.15, 0.8])
