"""`msc-morph study` / :func:`run_study`: a folder of fields -> tidy, poolable tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import tifffile

from napari_msc_morph.batch.study import find_dna_channel, run_study
from napari_msc_morph.batch.study_design import StudyField, pattern_regex, study_fields
from napari_msc_morph.cli import main
from napari_msc_morph.errors import BadInputError
from napari_msc_morph.morphology.edge import weighted_quantile
from napari_msc_morph.synthetic.fluorescence import if_field

PATTERN = "{donor}_{condition}_day{day}_{field}.ome.tif"


def _write_field(path, seed, differentiation, names=True):
    f = if_field(size=(160, 160), n_cells=6, differentiation=differentiation, seed=seed)
    channels = ["DAPI", "RUNX2", "OCN"]
    data = np.stack([f.channels[n] for n in channels])
    metadata = {"axes": "CYX", "PhysicalSizeX": 0.65, "PhysicalSizeY": 0.65}
    if names:
        metadata["Channel"] = {"Name": channels}
    tifffile.imwrite(path, data, metadata=metadata)


@pytest.fixture
def study_folder(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    seed = 0
    for donor in ("D1", "D2"):
        for condition, d in (("control", 0.1), ("osteo", 0.9)):
            for k in (1, 2):
                _write_field(folder / f"{donor}_{condition}_day7_{k}.ome.tif", seed, d)
                seed += 1
    return folder


def test_pattern_reads_keys_as_text_and_names_files_that_do_not_fit(tmp_path):
    assert pattern_regex(PATTERN).fullmatch("D01_osteo_day07_1.ome.tif").groupdict() == {
        "donor": "D01", "condition": "osteo", "day": "07", "field": "1"}
    for name in ("D1_control_day7_1.tif", "stray.tif"):
        tifffile.imwrite(tmp_path / name, np.zeros((8, 8), np.uint16))
    with pytest.raises(BadInputError, match=r"1 of 2 file\(s\) do not match.*stray\.tif"):
        study_fields([tmp_path], pattern="{donor}_{condition}_day{day}_{field}.tif")
    with pytest.raises(BadInputError, match="names \\['donor'\\] twice"):
        pattern_regex("{donor}_{donor}.tif")


def test_sheet_keys_stay_text(tmp_path):
    for name in ("a.tif", "b.tif"):
        tifffile.imwrite(tmp_path / name, np.zeros((8, 8), np.uint16))
    (tmp_path / "sheet.csv").write_text("file,sample_id,day\na.tif,1.1,007\nb.tif,1.10,7\n")
    fields = study_fields([], sheet=tmp_path / "sheet.csv")
    assert [f.keys for f in fields] == [{"sample_id": "1.1", "day": "007"},
                                        {"sample_id": "1.10", "day": "7"}]
    (tmp_path / "bad.csv").write_text("file,donor\nmissing.tif,D1\n")
    with pytest.raises(BadInputError, match="row 2: missing.tif does not exist"):
        study_fields([], sheet=tmp_path / "bad.csv")


def test_dna_channel_found_by_name_or_asked_for(tmp_path):
    _write_field(tmp_path / "named.ome.tif", 0, 0.5)
    assert find_dna_channel(StudyField("a", str(tmp_path / "named.ome.tif"))) == "DAPI"
    tifffile.imwrite(tmp_path / "plain.tif", np.zeros((3, 16, 16), np.uint16),
                     photometric="minisblack", metadata={"axes": "CYX"})
    with pytest.raises(BadInputError, match="--dna"):
        find_dna_channel(StudyField("b", str(tmp_path / "plain.tif")))
    tifffile.imwrite(tmp_path / "rgb.tif", np.zeros((16, 16, 3), np.uint8), photometric="rgb")
    # an RGB export: the reader picks the colour with signal itself
    assert find_dna_channel(StudyField("c", str(tmp_path / "rgb.tif"))) is None


def test_study_writes_tidy_tables_and_reruns_only_new_fields(study_folder, tmp_path):
    out = tmp_path / "study"
    fields = study_fields([study_folder], pattern=PATTERN)
    study = run_study(fields, out, markers={"RUNX2": "RUNX2", "OCN": "OCN"})
    assert study.n_new == 8 and not study.failures
    cells = pd.read_csv(out / "cells.csv", dtype={"day": str})
    assert list(cells.columns[:5]) == ["file", "field", "donor", "condition", "day"]
    assert {"RUNX2_mean", "OCN_mean", "area_um2"} <= set(cells.columns)
    assert not [c for c in cells.columns if "ome" in c or "images" in c]  # never a file name
    assert cells["field"].nunique() == 8 and set(cells["day"]) == {"7"}
    per_field = pd.read_csv(out / "fields.csv")
    assert len(per_field) == 8 and per_field["n_cells"].sum() == len(cells)
    assert np.allclose(per_field["pixel_size_um"], 0.65)
    # the nucleus diameter segmentation used, and where it came from
    assert per_field["nucleus_diameter_px"].gt(0).all()
    assert per_field["nucleus_diameter_source"].notna().all()
    samples = pd.read_csv(out / "samples.csv")
    assert len(samples) == 4 and (samples["n_fields"] == 2).all()
    assert samples["n_cells"].sum() == len(cells)
    # one threshold per marker for the whole study, in every field row
    assert per_field["RUNX2_threshold"].nunique() == 1
    assert per_field["RUNX2_threshold"].iloc[0] == pytest.approx(study.thresholds["RUNX2"])
    # a sample's fraction positive is its cells' fraction at the study threshold
    d1 = cells[(cells.donor == "D1") & (cells.condition == "osteo")]
    row = samples[(samples.donor == "D1") & (samples.condition == "osteo")].iloc[0]
    assert row["RUNX2_fraction_positive"] == pytest.approx(
        np.mean(d1["RUNX2_mean"] > study.thresholds["RUNX2"]))
    # sizes pool the sample's cells with their per-field edge weights (Miles-Lantuejoul)
    assert row["area_um2_median"] == pytest.approx(
        weighted_quantile(d1["area_um2"], d1["edge_weight"], 0.5))

    before = (out / "cells.csv").read_bytes()
    again = run_study(fields, out, markers={"RUNX2": "RUNX2", "OCN": "OCN"})
    assert again.n_new == 0
    assert pd.read_csv(out / "cells.csv").equals(pd.read_csv(pd.io.common.BytesIO(before)))
    _write_field(study_folder / "D2_osteo_day7_3.ome.tif", 99, 0.9)
    more = run_study(study_fields([study_folder], pattern=PATTERN), out,
                     markers={"RUNX2": "RUNX2", "OCN": "OCN"})
    assert more.n_new == 1 and more.fields["field"].nunique() == 9
    # changed options invalidate the cache
    assert run_study(fields, out, markers={"RUNX2": "RUNX2"}).n_new == 8


def test_study_cli_lists_failed_fields_and_keeps_the_rest(study_folder, tmp_path, capsys):
    (study_folder / "D2_osteo_day7_9.ome.tif").write_bytes(b"not a tiff")
    out = tmp_path / "study"
    code = main(["study", str(study_folder), "--pattern", PATTERN, "--marker", "RUNX2=1",
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 3
    assert "D2_osteo_day7_9" in err and (out / "errors.csv").exists()
    assert pd.read_csv(out / "fields.csv")["field"].nunique() == 8


def test_study_cli_control_threshold_needs_a_control(study_folder, tmp_path, capsys):
    code = main(["study", str(study_folder), "--pattern", PATTERN, "--marker", "RUNX2=1",
                 "--marker-threshold", "control", "--out", str(tmp_path / "s")])
    assert code == 2 and "--control" in capsys.readouterr().err
    code = main(["study", str(study_folder), "--pattern", PATTERN, "--marker", "RUNX2=1",
                 "--marker-threshold", "control", "--control", "condition=control",
                 "--out", str(tmp_path / "s")])
    assert code == 0
    per_field = pd.read_csv(tmp_path / "s" / "fields.csv")
    control = per_field[per_field["condition"] == "control"]
    # the 99th percentile of control cells: about 1 % of them are positive
    assert control["RUNX2_fraction_positive"].mean() < 0.1


def test_output_folder_inside_the_image_folder_is_not_a_field(study_folder):
    out = study_folder / "results"
    first = study_fields([study_folder], pattern=PATTERN, out_dir=out)
    run_study(first, out)
    assert (out / "labels").is_dir()
    again = study_fields([study_folder], pattern=PATTERN, out_dir=out)
    assert [f.path for f in again] == [f.path for f in first]


def test_channels_in_separate_files_are_one_field(tmp_path):
    """ImageXpress / CellProfiler style: one file per channel, `{channel}` in the pattern."""
    folder = tmp_path / "plate"
    folder.mkdir()
    for well, d in (("A01", 0.1), ("B01", 0.9)):
        f = if_field(size=(160, 160), n_cells=6, differentiation=d, seed=len(well) + int(d * 10))
        for name in ("DAPI", "RUNX2"):
            tifffile.imwrite(folder / f"plate1_{well}_{name}.tif", f.channels[name])
    fields = study_fields([folder], pattern="plate1_{well}_{channel}.tif")
    assert [(f.keys, sorted(f.channel_files)) for f in fields] == [
        ({"well": "A01"}, ["DAPI", "RUNX2"]), ({"well": "B01"}, ["DAPI", "RUNX2"])]
    study = run_study(fields, tmp_path / "out", markers={"RUNX2": "runx2"}, pixel_size_um=0.5)
    assert not study.failures and list(study.samples["well"]) == ["A01", "B01"]
    assert list(study.fields["field"]) == ["A01", "B01"]
    assert "RUNX2_mean" in study.cells.columns
    with pytest.raises(BadInputError, match="no file for channel 'OCN'"):
        fields[0].spec("OCN")


def test_study_threshold_scope_redoes_every_field_when_one_is_added(study_folder, tmp_path):
    out = tmp_path / "study"
    fields = study_fields([study_folder], pattern=PATTERN)
    assert run_study(fields, out, threshold_scope="study").n_new == 8
    assert run_study(fields, out, threshold_scope="study").n_new == 0
    _write_field(study_folder / "D2_osteo_day7_3.ome.tif", 99, 0.9)
    more = study_fields([study_folder], pattern=PATTERN)
    # one nuclear threshold over all fields: a new field changes it, so all are redone
    assert run_study(more, out, threshold_scope="study").n_new == 9


def test_study_group_by_writes_the_size_robustness_table(study_folder, tmp_path, capsys,
                                                         monkeypatch):
    from napari_msc_morph.batch import segment_thresholds

    out = tmp_path / "study"
    run = ["study", str(study_folder), "--pattern", PATTERN, "--out", str(out)]
    assert main([*run, "--group-by", "condition", "--control", "condition=control"]) == 0
    assert "size robustness by condition" in capsys.readouterr().out
    table = pd.read_csv(out / "threshold_robustness.csv")
    assert list(table["threshold"].unique()) == ["otsu", "li", "triangle", "study"]
    assert list(table["group"][:2]) == ["control", "osteo"]
    assert np.allclose(table.loc[table["group"] == "control", "ratio_to_control"], 1.0)
    # the otsu rows are the study's own nuclei: the same count and median area per group
    fields = pd.read_csv(out / "fields.csv")
    cells = pd.read_csv(out / "cells.csv")
    otsu = table[table["threshold"] == "otsu"].set_index("group")
    for group in ("control", "osteo"):
        assert otsu.loc[group, "n_nuclei"] == fields.loc[fields["condition"] == group,
                                                        "n_nuclei"].sum()
        assert otsu.loc[group, "median_area_px"] == pytest.approx(
            cells.loc[cells["condition"] == group, "area_px"].median())
    ratio = otsu.loc["osteo", "median_area_px"] / otsu.loc["control", "median_area_px"]
    assert otsu.loc["osteo", "ratio_to_control"] == pytest.approx(ratio)
    # a re-run with nothing changed takes the table from the cache
    monkeypatch.setattr(segment_thresholds, "size_robustness", None)
    assert main([*run, "--group-by", "condition", "--control", "condition=control"]) == 0
    assert pd.read_csv(out / "threshold_robustness.csv")["group"].iloc[0] == "control"
    monkeypatch.undo()
    # without --group-by the old table goes (it would describe another run)
    assert main(run) == 0
    assert not (out / "threshold_robustness.csv").exists()


def test_study_group_by_names_the_keys(study_folder, tmp_path, capsys):
    assert main(["study", str(study_folder), "--pattern", PATTERN, "--out", str(tmp_path / "s"),
                 "--group-by", "dose"]) == 2
    err = capsys.readouterr().err
    assert "'dose'" in err and "donor, condition, day" in err


def test_one_study_threshold_refuses_fields_of_mixed_bit_depth(study_folder, tmp_path, capsys):
    # an 8-bit export beside the 16-bit stacks: one cut on pooled intensities would sit above
    # every 8-bit nucleus and that field would read as "no cells"
    f = if_field(size=(160, 160), n_cells=6, differentiation=0.9, seed=42)
    dapi = (f.channels["DAPI"] / f.channels["DAPI"].max() * 255).astype(np.uint8)
    tifffile.imwrite(study_folder / "D3_osteo_day7_1.ome.tif", dapi[None],
                     metadata={"axes": "CYX", "PhysicalSizeX": 0.65, "PhysicalSizeY": 0.65,
                               "Channel": {"Name": ["DAPI"]}})
    fields = study_fields([study_folder], pattern=PATTERN)
    with pytest.raises(BadInputError, match="bit depth") as error:
        run_study(fields, tmp_path / "s1", threshold_scope="study")
    assert "uint8: 1 field(s), e.g. D3_osteo_day7_1" in str(error.value)
    assert "--threshold-scope field" in str(error.value)
    # per-field thresholds still run; the robustness table is skipped with the reason
    assert main(["study", str(study_folder), "--pattern", PATTERN, "--out",
                 str(tmp_path / "s2"), "--group-by", "condition"]) == 0
    assert "size-robustness table skipped" in capsys.readouterr().err
    assert not (tmp_path / "s2" / "threshold_robustness.csv").exists()
