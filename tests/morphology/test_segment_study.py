"""One nuclear threshold per study (`segment --threshold-scope study`) and the size-robustness
table (`--group-by`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_msc_morph import cli
from napari_msc_morph.batch import Field, segment_fields
from napari_msc_morph.io import read_image, write_tiff
from napari_msc_morph.morphology import segment_field
from napari_msc_morph.morphology.segment import nuclear_threshold, signal_sample
from napari_msc_morph.synthetic import if_field


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Four fields of two groups, and one field of background only (an empty well)."""
    folder = tmp_path_factory.mktemp("study")
    rng = np.random.default_rng(0)
    rows, images = [], {}
    for k, group in enumerate(["ctrl", "ctrl", "osteo", "osteo"]):
        image = if_field(size=(192, 192), n_cells=8, seed=10 + k).channels["DAPI"]
        images[f"f{k}"] = image
        rows.append({"field": f"f{k}", "nuclei": f"f{k}.tif", "condition": group})
    empty = rng.normal(120, 15, (192, 192)).clip(0).astype(np.uint16)
    images["empty"] = empty
    rows.append({"field": "empty", "nuclei": "empty.tif", "condition": "ctrl"})
    for name, image in images.items():
        write_tiff(image, folder / f"{name}.tif")
    pd.DataFrame(rows).to_csv(folder / "fields.csv", index=False)
    return folder, images


def test_study_threshold_is_one_cut_for_all_fields(study, tmp_path):
    folder, images = study
    fields = [Field(name, {"nuclei": str(folder / f"{name}.tif")}) for name in images]
    batch = segment_fields(fields, tmp_path / "study", threshold_scope="study",
                           diameter=(8, 60))
    expected = nuclear_threshold([signal_sample(image, (8, 60)) for image in images.values()])
    assert batch.threshold == pytest.approx(expected)
    written = read_image(tmp_path / "study" / "f2_nuclei.tif").data
    again = segment_field(images["f2"], diameter=(8, 60), threshold=expected).nuclei
    np.testing.assert_array_equal(written, again)
    assert any("one nuclear threshold for all 5 field(s)" in note for note in batch.notes)
    # an empty well: its own threshold cuts its noise into "nuclei"; the study's finds none
    per_field = segment_fields(fields, tmp_path / "field", diameter=(8, 60))
    counts = dict(zip(per_field.fields["field"], per_field.fields["n_nuclei"], strict=True))
    study_counts = dict(zip(batch.fields["field"], batch.fields["n_nuclei"], strict=True))
    assert counts["empty"] > 0 and study_counts["empty"] == 0
    assert batch.robustness is None
    assert any("size-robustness table skipped" in note for note in batch.notes)


def test_cli_study_scope_and_robustness_table(study, tmp_path, capsys):
    folder, _ = study
    out = tmp_path / "labels"
    assert cli.main(["segment", "--manifest", str(folder / "fields.csv"), "--threshold-scope",
                     "study", "--group-by", "condition", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "one nuclear threshold for all 5 field(s)" in printed
    assert "estimated" in printed and "size robustness" in printed
    table = pd.read_csv(out / "threshold_robustness.csv")
    assert list(table["threshold"].unique()) == ["otsu", "li", "triangle", "study"]
    assert set(table["group"]) == {"ctrl", "osteo"}
    ctrl = table[table["group"] == "ctrl"]
    assert np.allclose(ctrl["ratio_to_ctrl"], 1.0)
    osteo = table[table["group"] == "osteo"]
    assert np.all(np.isfinite(osteo["ratio_to_ctrl"])) and np.all(osteo["n_nuclei"] > 0)
    fields = pd.read_csv(out / "fields.csv")
    assert {"nucleus_diameter_px", "nucleus_diameter_source"} <= set(fields.columns)


def test_group_by_errors_name_the_column(study, tmp_path, capsys):
    folder, _ = study
    assert cli.main(["segment", "--manifest", str(folder / "fields.csv"), "--group-by", "dose",
                     "--out", str(tmp_path / "x")]) != 0
    assert "'dose'" in capsys.readouterr().err
    assert cli.main(["segment", "--nuclei", str(folder / "f0.tif"), "--group-by", "condition",
                     "--out", str(tmp_path / "y.tif")]) != 0
    assert "--group-by names a column of the --manifest" in capsys.readouterr().err


def test_study_scope_is_for_the_classic_backend(study, tmp_path, capsys):
    folder, _ = study
    assert cli.main(["segment", "--manifest", str(folder / "fields.csv"), "--threshold-scope",
                     "study", "--backend", "cellpose", "--out", str(tmp_path / "x")]) != 0
    assert "backend 'cellpose' has none" in capsys.readouterr().err
