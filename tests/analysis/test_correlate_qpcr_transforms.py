"""--transform log2 | delta-ct: qPCR values on the scale they are analysed on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_msc_morph.analysis import correlate_study, read_readouts
from napari_msc_morph.analysis.qpcr import TRANSFORMS, parse_control
from napari_msc_morph.cli import main
from napari_msc_morph.synthetic.readouts import osteo_samples, synthetic_ct_readouts


def ct_table() -> pd.DataFrame:
    """Ct of RUNX2 and GAPDH, two replicates, two donors x (control, induced); a western row."""
    rows = []
    ct = {  # sample -> (RUNX2 replicates, GAPDH replicates)
        ("D1", "control"): ((26.0, 26.4), (18.0, 18.2)),
        ("D1", "induced"): ((24.0, 24.2), (18.5, 18.3)),
        ("D2", "control"): ((27.0, 27.2), (19.0, 19.0)),
        ("D2", "induced"): ((23.9, 24.1), (18.1, 17.9)),
    }
    for (donor, condition), (runx2, gapdh) in ct.items():
        for marker, values in (("RUNX2", runx2), ("GAPDH", gapdh)):
            for rep, value in enumerate(values, start=1):
                rows.append({"sample_id": f"{donor}_{condition}", "donor": donor,
                             "condition": condition, "marker": marker, "assay": "qPCR",
                             "replicate": rep, "value": value})
        rows.append({"sample_id": f"{donor}_{condition}", "donor": donor, "condition": condition,
                     "marker": "OCN", "assay": "western", "replicate": 1, "value": 1.5})
    return pd.DataFrame(rows)


def test_transform_registry_and_control_parsing():
    assert TRANSFORMS.names() == ["log2", "delta-ct"]
    assert parse_control("control") == {"condition": "control"}
    assert parse_control("day=0") == {"day": "0"}
    assert parse_control("condition == untreated") == {"condition": "untreated"}
    assert parse_control("day=0, condition=control") == {"day": "0", "condition": "control"}
    assert parse_control(None) is None


def test_log2_averages_replicates_on_the_log_scale():
    frame = pd.DataFrame({"sample_id": ["a", "a", "b"], "replicate": [1, 2, 1],
                          "RUNX2_qPCR": [2.0, 8.0, 4.0], "OCN_western": [2.0, 8.0, 4.0]})
    out = read_readouts(frame, transform="log2").set_index(["sample_id", "marker"])
    assert out.loc[("a", "RUNX2"), "value"] == pytest.approx(2.0)  # mean(1, 3): geometric mean 4
    assert out.loc[("b", "RUNX2"), "value"] == pytest.approx(2.0)
    assert out.loc[("a", "OCN"), "value"] == pytest.approx(5.0)  # western left as it is


def test_delta_ct_by_hand():
    out = read_readouts(ct_table(), transform="delta-ct", reference_gene="gapdh")
    assert "GAPDH" not in set(out["marker"])  # the reference is used up
    runx2 = out[out.marker == "RUNX2"].set_index("sample_id")["value"]
    # -ΔCt = -(mean Ct RUNX2 - mean Ct GAPDH)
    assert runx2["D1_control"] == pytest.approx(-(26.2 - 18.1))
    assert runx2["D2_induced"] == pytest.approx(-(24.0 - 18.0))
    assert out[out.marker == "OCN"]["value"].eq(1.5).all()  # western untouched
    assert "fold_change" not in out.columns


def test_delta_delta_ct_and_fold_change_per_donor():
    out = read_readouts(ct_table(), transform="delta-ct", reference_gene="GAPDH",
                        control="control")
    runx2 = out[out.marker == "RUNX2"].set_index("sample_id")
    d1_control, d1_induced = 26.2 - 18.1, 24.1 - 18.4
    d2_control, d2_induced = 27.1 - 19.0, 24.0 - 18.0
    # ΔΔCt against the donor's own control; value = -ΔΔCt = log2 fold change
    assert runx2.loc["D1_induced", "value"] == pytest.approx(-(d1_induced - d1_control))
    assert runx2.loc["D2_induced", "value"] == pytest.approx(-(d2_induced - d2_control))
    assert runx2.loc["D1_control", "value"] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(runx2["fold_change"], 2.0 ** runx2["value"])
    assert runx2.loc["D1_induced", "fold_change"] == pytest.approx(2 ** (d1_control - d1_induced))
    assert out[out.marker == "OCN"]["fold_change"].isna().all()


def test_delta_ct_recovers_what_raw_ct_hides():
    manifest = pd.DataFrame([{"donor": f"D{d}", "day": day, "condition": c,
                              "differentiation": (day / 21 if c == "induced" else 0.0)}
                             for d in (1, 2, 3, 4) for day in (0, 3, 7, 14, 21)
                             for c in ("control", "induced")])
    samples = osteo_samples(manifest)
    readouts = synthetic_ct_readouts(samples, seed=2)
    assert set(readouts["marker"]) == {"RUNX2", "OSX", "OCN", "GAPDH"}
    scores = samples.rename(columns={"differentiation": "truth"})
    raw = correlate_study(scores, readouts, method="pearson", score_columns=["truth"])
    delta = correlate_study(scores, readouts, method="pearson", score_columns=["truth"],
                            transform="delta-ct", reference_gene="GAPDH", control="control",
                            repeated_by="donor")
    raw_r = raw.results.set_index("marker")["r"]
    delta_r = delta.results.set_index("marker")
    # Ct falls as expression rises, and the cDNA input swamps it; -ΔCt rises with it
    for marker in ("RUNX2", "OSX", "OCN"):
        assert delta_r.loc[marker, "r"] > abs(raw_r[marker]) + 0.1
    assert delta_r.loc["OCN", "r"] > 0.9 and delta_r.loc["OCN", "rm_r"] > 0.9
    assert delta.transform == "delta-ct" and "GAPDH" not in set(delta.results["marker"])


def test_cli_transform_options(tmp_path):
    table = ct_table()
    table.to_csv(tmp_path / "readouts.csv", index=False)
    scores = pd.DataFrame({"sample_id": ["D1_control", "D1_induced", "D2_control", "D2_induced"],
                           "os_score": [0.1, 0.8, 0.2, 0.9]})
    scores.to_csv(tmp_path / "scores.csv", index=False)
    out = tmp_path / "out.csv"
    assert main(["correlate", str(tmp_path / "scores.csv"), str(tmp_path / "readouts.csv"),
                 "--method", "pearson", "--transform", "delta-ct", "--reference-gene", "GAPDH",
                 "--control", "condition=control", "--out", str(out)]) == 0
    result = pd.read_csv(out).set_index("marker")
    assert result.loc["RUNX2", "n"] == 4 and result.loc["RUNX2", "r"] > 0.9


def test_synth_osteo_readouts_are_ct_per_sample(tmp_path):
    out = tmp_path / "osteo"
    assert main(["synth", "osteo", "--out", str(out), "--n-donors", "1", "--per-class", "1",
                 "--size", "64", "64", "--readouts"]) == 0
    manifest = pd.read_csv(out / "manifest.csv")
    readouts = pd.read_csv(out / "readouts.csv")
    samples = manifest.groupby(["donor", "day", "condition"]).ngroups
    assert len(readouts) == samples * 4 * 3  # RUNX2, OSX, OCN, GAPDH x 3 replicates
    assert set(readouts["assay"]) == {"qPCR"} and readouts["value"].between(10, 40).all()
    # the ids join to a per-sample table built from the manifest
    assert readouts["sample_id"].nunique() == samples
    assert {"D1_d21_induced", "D1_d00_control"} <= set(readouts["sample_id"])
