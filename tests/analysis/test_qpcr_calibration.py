"""qPCR as labs do it: the calibrator of the same donor and day, Pfaffl, several references,
and 'Undetermined' Ct. Every expected number is worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_msc_morph.analysis import correlate_study, read_readouts
from napari_msc_morph.analysis.qpcr import parse_efficiency, parse_undetermined
from napari_msc_morph.cli import main
from napari_msc_morph.errors import BadInputError

# one donor; GAPDH at 18 cycles everywhere, so ΔCt(OCN) = Ct(OCN) - 18
DCT_CONTROL_D0 = 10.0
DCT_CONTROL_D14 = 10.469  # the control drifts by 0.469 cycles over two weeks
DCT_INDUCED_D14 = DCT_CONTROL_D14 - np.log2(5.41)  # 5.41x the same-day control
DCT_INDUCED_D0 = 9.0


def time_course() -> pd.DataFrame:
    rows = []
    for (day, condition), dct in {(0, "control"): DCT_CONTROL_D0,
                                  (14, "control"): DCT_CONTROL_D14,
                                  (0, "induced"): DCT_INDUCED_D0,
                                  (14, "induced"): DCT_INDUCED_D14}.items():
        sample = f"D1_d{day}_{condition}"
        for marker, ct in (("GAPDH", 18.0), ("OCN", 18.0 + dct)):
            rows.append({"sample_id": sample, "donor": "D1", "day": day, "condition": condition,
                         "marker": marker, "assay": "qPCR", "value": ct})
    return pd.DataFrame(rows)


def fold_changes(table, marker="OCN", **options) -> pd.Series:
    out = read_readouts(table, transform="delta-ct", reference_gene="GAPDH", **options)
    return out[out.marker == marker].set_index("sample_id")["fold_change"]


def test_calibrator_is_the_control_of_the_same_donor_and_day():
    fc = fold_changes(time_course(), control="control")
    # Livak: 2^-(ΔCt(sample) - ΔCt(control of the same day))
    assert fc["D1_d14_control"] == pytest.approx(1.0)
    assert fc["D1_d0_control"] == pytest.approx(1.0)
    assert fc["D1_d14_induced"] == pytest.approx(5.41)
    assert fc["D1_d0_induced"] == pytest.approx(2 ** (DCT_CONTROL_D0 - DCT_INDUCED_D0))  # 2
    # the old calibrator (the donor's control ΔCt averaged over all days) gave 0.85 and 4.60
    pooled = (DCT_CONTROL_D0 + DCT_CONTROL_D14) / 2
    assert 2 ** -(DCT_CONTROL_D14 - pooled) == pytest.approx(0.85, abs=0.005)
    assert 2 ** -(DCT_INDUCED_D14 - pooled) == pytest.approx(4.60, abs=0.005)


def test_control_day0_calibrates_each_condition_against_its_own_day0():
    fc = fold_changes(time_course(), control="day=0")
    # day 14 control against day 0 control only (day 0 induced is not pooled into it)
    assert fc["D1_d14_control"] == pytest.approx(2 ** -(DCT_CONTROL_D14 - DCT_CONTROL_D0))
    assert fc["D1_d14_induced"] == pytest.approx(2 ** -(DCT_INDUCED_D14 - DCT_INDUCED_D0))
    assert fc["D1_d0_induced"] == pytest.approx(1.0)
    # one baseline for every sample: the day-0 control
    fc = fold_changes(time_course(), control="day=0,condition=control")
    assert fc["D1_d0_induced"] == pytest.approx(2 ** -(DCT_INDUCED_D0 - DCT_CONTROL_D0))
    assert fc["D1_d14_induced"] == pytest.approx(2 ** -(DCT_INDUCED_D14 - DCT_CONTROL_D0))


def test_a_day_without_its_control_is_named_and_a_baseline_suggested():
    table = time_course()
    table = table[table.sample_id != "D1_d14_control"]
    with pytest.raises(BadInputError, match=r"same donor and day.*OCN / D1 / 14.*"
                                            r"--control day=0,condition=control"):
        fold_changes(table, control="control")


def test_pfaffl_efficiency_corrected_ratio_by_hand():
    # Pfaffl 2001, Eq. 1: ratio = E_target^ΔCt_target(control - sample)
    #                              / E_ref^ΔCt_ref(control - sample)
    table = pd.DataFrame([
        {"sample_id": "c", "donor": "D1", "condition": "control", "marker": "RUNX2", "value": 26.0},
        {"sample_id": "c", "donor": "D1", "condition": "control", "marker": "GAPDH", "value": 18.0},
        {"sample_id": "t", "donor": "D1", "condition": "induced", "marker": "RUNX2", "value": 23.0},
        {"sample_id": "t", "donor": "D1", "condition": "induced", "marker": "GAPDH", "value": 18.5},
    ]).assign(assay="qPCR")
    fc = fold_changes(table, "RUNX2", control="control", efficiency="RUNX2=1.9,GAPDH=95%")
    expected = 1.9 ** (26.0 - 23.0) / 1.95 ** (18.0 - 18.5)  # 6.859 / 0.7161 = 9.578
    assert fc["t"] == pytest.approx(expected)
    assert fc["t"] == pytest.approx(9.578, abs=1e-3)
    # at E = 2 it is Livak's 2^-ΔΔCt = 2^-((23 - 18.5) - (26 - 18)) = 2^3.5 = 11.31
    assert fold_changes(table, "RUNX2", control="control")["t"] == pytest.approx(2 ** 3.5)


def test_several_reference_genes_use_the_geometric_mean_of_their_quantities():
    rows = []
    for sample, condition, cts in (("c", "control", {"OCN": 30.0, "GAPDH": 18.0, "ACTB": 16.0}),
                                   ("t", "induced", {"OCN": 27.0, "GAPDH": 19.0, "ACTB": 16.5})):
        for marker, ct in cts.items():
            rows.append({"sample_id": sample, "donor": "D1", "condition": condition,
                         "marker": marker, "assay": "qPCR", "value": ct})
    table = pd.DataFrame(rows)
    out = read_readouts(table, transform="delta-ct", reference_gene="GAPDH, actb",
                        control="control")
    assert set(out.marker) == {"OCN"}  # both references used up
    fc = out.set_index("sample_id")["fold_change"]
    # relative quantities against the control: OCN 2^3 = 8; GAPDH 2^-1; ACTB 2^-0.5
    # normalisation factor = geometric mean sqrt(2^-1 * 2^-0.5) = 2^-0.75 -> 8 / 2^-0.75
    assert fc["t"] == pytest.approx(8 / np.sqrt(2 ** -1 * 2 ** -0.5))
    assert fc["t"] == pytest.approx(2 ** 3.75)


def test_efficiency_forms_and_refusals():
    assert parse_efficiency(["RUNX2=1.95", "OCN=90%, GAPDH=102"]) == {
        "RUNX2": 1.95, "OCN": pytest.approx(1.9), "GAPDH": pytest.approx(2.02)}
    for bad in ("RUNX2=0.95", "RUNX2=3", "RUNX2=", "RUNX2", "RUNX2=abc"):
        with pytest.raises(BadInputError, match="--efficiency"):
            parse_efficiency(bad)
    with pytest.raises(BadInputError, match="no qPCR marker 'SOX9'"):
        fold_changes(time_course(), control="control", efficiency="SOX9=1.9")


def _with_undetermined() -> pd.DataFrame:
    table = time_course().astype({"value": object})
    table["replicate"] = 1
    extra = table[table.marker == "OCN"].assign(replicate=2)
    table = pd.concat([table, extra], ignore_index=True)
    # file rows: 2 + index; row 10 is D1_d0_control OCN replicate 2 ('Undetermined')
    table.loc[8, "value"] = "Undetermined"
    return table


def test_undetermined_wells_are_left_out_with_a_warning_naming_the_rows():
    table = _with_undetermined()
    out = read_readouts(table, transform="delta-ct", reference_gene="GAPDH", control="control")
    ocn = out[out.marker == "OCN"].set_index("sample_id")
    assert ocn.loc["D1_d0_control", "n_replicates"] == 1
    assert ocn.loc["D1_d14_control", "n_replicates"] == 2
    notes = " ".join(out.attrs["exclusions"])
    assert "rows [10]" in notes and "Undetermined" in notes
    assert "ct_undetermined" not in out.columns


def test_undetermined_wells_set_to_the_cycle_limit_are_flagged():
    table = _with_undetermined()
    out = read_readouts(table, transform="delta-ct", reference_gene="GAPDH",
                        undetermined="cycle-limit=38")
    ocn = out[out.marker == "OCN"].set_index("sample_id")
    assert ocn["ct_undetermined"].to_dict() == {"D1_d0_control": 1, "D1_d0_induced": 0,
                                                "D1_d14_control": 0, "D1_d14_induced": 0}
    # -ΔCt of the mean of (Ct 28, Ct 38) against GAPDH 18
    assert ocn.loc["D1_d0_control", "value"] == pytest.approx(-((28.0 + 38.0) / 2 - 18.0))
    assert "cycle limit 38" in " ".join(out.attrs["exclusions"])
    assert parse_undetermined("cycle-limit") == 40.0 and parse_undetermined("exclude") is None
    with pytest.raises(BadInputError, match="--undetermined"):
        parse_undetermined("zero")


def test_a_blank_ct_is_not_measured_and_named():
    table = time_course().astype({"value": object})
    table.loc[1, "value"] = ""  # D1_d0_control OCN, file row 3
    out = read_readouts(table, transform="delta-ct", reference_gene="GAPDH")
    assert "D1_d0_control" not in set(out.loc[out.marker == "OCN", "sample_id"])
    assert any("row 3" in note for note in out.attrs["exclusions"])


def test_correlation_uses_the_same_day_calibrator_end_to_end(tmp_path):
    """Four donors; each day's controls drift: the same-day calibrator gives controls FC 1."""
    rng = np.random.default_rng(0)
    rows, scores = [], []
    for d in range(4):
        for day in (0, 7, 14):
            for condition in ("control", "induced"):
                sample = f"D{d}_d{day}_{condition}"
                drift = 0.03 * day  # the control's own change with time in culture
                gain = (day / 14 * 3 if condition == "induced" else 0.0)
                rows += [{"sample_id": sample, "donor": f"D{d}", "day": day,
                          "condition": condition, "marker": "OCN", "assay": "qPCR",
                          "value": 28.0 + drift - gain + rng.normal(0, 0.05)},
                         {"sample_id": sample, "donor": f"D{d}", "day": day,
                          "condition": condition, "marker": "GAPDH", "assay": "qPCR",
                          "value": 18.0 + rng.normal(0, 0.05)}]
                scores.append({"sample_id": sample, "os_score": gain / 3})
    readouts, score_table = pd.DataFrame(rows), pd.DataFrame(scores)
    readouts.to_csv(tmp_path / "ct.csv", index=False)
    score_table.to_csv(tmp_path / "scores.csv", index=False)
    out = tmp_path / "r.csv"
    assert main(["correlate", str(tmp_path / "scores.csv"), str(tmp_path / "ct.csv"),
                 "--method", "pearson", "--transform", "delta-ct", "--reference-gene", "GAPDH",
                 "--control", "control", "--efficiency", "OCN=2", "--out", str(out)]) == 0
    study = correlate_study(score_table, readouts, method="pearson", transform="delta-ct",
                            reference_gene="GAPDH", control="control")
    controls = study.readouts[study.readouts.condition == "control"]
    np.testing.assert_allclose(controls["fold_change"], 1.0)
    assert pd.read_csv(out).set_index("marker").loc["OCN", "r"] > 0.99
