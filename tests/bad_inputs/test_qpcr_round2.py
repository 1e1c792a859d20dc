"""qPCR tables as labs export them: Undetermined wells, efficiencies, several references,
and same-day calibrators. A mistake exits 2 with one line naming the
option or rows and leaves every file as it was; what is left out is named on stderr."""

from __future__ import annotations

import pandas as pd
import pytest
from corpus_helpers import digests, stderr_lines

from napari_msc_morph.analysis import correlate_study
from napari_msc_morph.cli import main
from napari_msc_morph.errors import BadInputError

DELTA = ["--transform", "delta-ct", "--reference-gene", "GAPDH"]


def _scores() -> pd.DataFrame:
    return pd.DataFrame([{"sample_id": f"{d}_d{day}_{c}", "os_score": day / 14 + (c == "induced")}
                         for d in ("D1", "D2") for day in (0, 14)
                         for c in ("control", "induced")])


def _ct() -> pd.DataFrame:
    rows = []
    for d in ("D1", "D2"):
        for day in (0, 14):
            for c in ("control", "induced"):
                for marker, ct in (("RUNX2", 26 - day / 7 - 2 * (c == "induced")),
                                   ("GAPDH", 18.0)):
                    rows.append({"sample_id": f"{d}_d{day}_{c}", "donor": d, "day": day,
                                 "condition": c, "marker": marker, "assay": "qPCR",
                                 "value": ct + 0.1 * (d == "D2")})
    return pd.DataFrame(rows).astype({"value": object})


def _set(frame, index, column, value):
    frame = frame.copy()
    frame.loc[index, column] = value
    return frame


def _without(frame, sample, marker=None):
    keep = frame.sample_id != sample
    if marker:
        keep |= frame.marker != marker
    return frame[keep].reset_index(drop=True)


# name -> (readouts, options, texts the one error line holds)
ERRORS = {
    "efficiency as a fraction": (_ct(), [*DELTA, "--efficiency", "RUNX2=0.95"],
                                 ["--efficiency RUNX2=0.95", "1.95", "95%"]),
    "efficiency above 2.5": (_ct(), [*DELTA, "--efficiency", "RUNX2=3.1"],
                             ["--efficiency RUNX2=3.1", "amplification factor"]),
    "efficiency without a value": (_ct(), [*DELTA, "--efficiency", "RUNX2"],
                                   ["--efficiency 'RUNX2'", "GENE=E"]),
    "efficiency text": (_ct(), [*DELTA, "--efficiency", "RUNX2=high"],
                        ["--efficiency RUNX2=high"]),
    "efficiency for an absent gene": (_ct(), [*DELTA, "--efficiency", "SOX9=1.9"],
                                      ["--efficiency SOX9", "no qPCR marker 'SOX9'",
                                       "['GAPDH', 'RUNX2']"]),
    "efficiency twice for a gene": (_ct(), [*DELTA, "--efficiency", "RUNX2=1.9",
                                            "--efficiency", "runx2=1.8"],
                                    ["--efficiency names runx2 twice"]),
    "efficiency without delta-ct": (_ct(), ["--efficiency", "RUNX2=1.9"],
                                    ["--efficiency go with --transform delta-ct"]),
    "efficiency with log2": (_ct(), ["--transform", "log2", "--efficiency", "RUNX2=1.9"],
                             ["--transform delta-ct, not log2"]),
    "unknown undetermined rule": (_ct(), [*DELTA, "--undetermined", "zero"],
                                  ["--undetermined 'zero'", "exclude or cycle-limit"]),
    "cycle limit not a number": (_ct(), [*DELTA, "--undetermined", "cycle-limit=many"],
                                 ["--undetermined 'cycle-limit=many'", "cycle-limit=40"]),
    "cycle limit implausible": (_ct(), [*DELTA, "--undetermined", "cycle-limit=4"],
                                ["--undetermined 'cycle-limit=4'"]),
    "exclude with a number": (_ct(), [*DELTA, "--undetermined", "exclude=3"],
                              ["exclude takes no number"]),
    "second reference gene not measured": (_ct(), [*DELTA[:3], "GAPDH,ACTB"],
                                           ["--reference-gene ACTB", "no qPCR values for 'ACTB'"]),
    "reference gene undetermined on a sample": (
        _set(_ct(), 1, "value", "Undetermined"), DELTA,
        ["--reference-gene GAPDH", "D1_d0_control (no GAPDH)"]),
    "control of the same day missing": (
        _without(_ct(), "D2_d14_control"), [*DELTA, "--control", "control"],
        ["--control control", "same donor and day", "RUNX2 / D2 / 14",
         "--control day=0,condition=control"]),
    "day-0 sample of a condition missing": (
        _without(_ct(), "D1_d0_induced"), [*DELTA, "--control", "day=0"],
        ["--control day=0", "same donor and condition", "RUNX2 / D1 / induced"]),
    "control pair without a value": (_ct(), [*DELTA, "--control", "day=0,condition="],
                                     ["--control 'day=0,condition='", "COLUMN=VALUE"]),
    "control column named twice": (_ct(), [*DELTA, "--control", "day=0,day=14"],
                                   ["--control 'day=0,day=14'"]),
    "control pair matching no sample": (
        _ct(), [*DELTA, "--control", "day=14,condition=none"],
        ["--control day=14,condition=none", "condition == 'none'"]),
    "undetermined in a western column": (
        _set(_ct().assign(assay="western"), 0, "value", "Undetermined"), [],
        ["row 2", "'Undetermined'"]),
}


def _write(tmp_path, readouts):
    scores_path, readouts_path = tmp_path / "scores.csv", tmp_path / "readouts.csv"
    _scores().to_csv(scores_path, index=False)
    readouts.to_csv(readouts_path, index=False)
    return scores_path, readouts_path


def _run(tmp_path, readouts, options):
    scores_path, readouts_path = _write(tmp_path, readouts)
    out = tmp_path / "correlations.csv"
    out.write_text("earlier results\n")
    before = digests(tmp_path)
    code = main(["correlate", str(scores_path), str(readouts_path), "--method", "pearson",
                 "--out", str(out), "--overwrite", "--min-n", "3", *options])
    return code, out, before


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_qpcr_mistakes_stop_with_one_line(tmp_path, capsys, case):
    readouts, options, expected = ERRORS[case]
    code, _, before = _run(tmp_path, readouts, options)
    errors = [line for line in stderr_lines(capsys.readouterr().err)
              if line.startswith("msc-morph correlate: error: ")]
    assert code == 2 and len(errors) == 1, errors
    for text in expected:
        assert text in errors[0], (text, errors[0])
    assert digests(tmp_path) == before


@pytest.mark.parametrize("word", ["Undetermined", "No Ct", "NoCt", "undetermined", "No Cq",
                                  "not detected"])
def test_undetermined_words_are_left_out_and_named(tmp_path, capsys, word):
    readouts = _set(_ct(), 2, "value", word)  # file row 4: D1_d0_induced RUNX2
    code, out, _ = _run(tmp_path, readouts, [*DELTA, "--control", "control"])
    err = capsys.readouterr().err
    assert code == 0
    assert "rows [4]: Ct is Undetermined / No Ct; those wells are left out" in err
    assert pd.read_csv(out).set_index("marker").loc["RUNX2", "n"] == 7  # 8 samples, one out


def test_cycle_limit_flags_the_samples_it_touched(tmp_path, capsys):
    readouts = _set(_ct(), 2, "value", "Undetermined")
    study = correlate_study(_scores(), readouts, method="pearson", transform="delta-ct",
                            reference_gene="GAPDH", control="control", min_n=3,
                            undetermined="cycle-limit=35")
    flagged = study.readouts.set_index("sample_id")["ct_undetermined"]
    assert flagged["D1_d0_induced"] == 1 and flagged.drop("D1_d0_induced").eq(0).all()
    # Ct 35 against the same day's control Ct 26: log2 fold change -(35 - 26) = -9
    assert study.readouts.set_index("sample_id").loc["D1_d0_induced", "value"] == \
        pytest.approx(-9.0)
    assert any("cycle limit 35" in w for w in study.warnings)


def test_library_raises_the_same_errors():
    with pytest.raises(BadInputError, match="--efficiency RUNX2=0.95"):
        correlate_study(_scores(), _ct(), transform="delta-ct", reference_gene="GAPDH",
                        efficiency="RUNX2=0.95")
    with pytest.raises(BadInputError, match="same donor and day"):
        correlate_study(_scores(), _without(_ct(), "D2_d14_control"), transform="delta-ct",
                        reference_gene="GAPDH", control="control")
