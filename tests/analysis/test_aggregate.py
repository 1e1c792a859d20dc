"""Aggregation cells -> images -> samples and file-name metadata."""

from __future__ import annotations

import pandas as pd
import pytest

from napari_msc_morph.analysis import (
    aggregate_cells,
    aggregate_to_samples,
    metadata_from_name,
    score_columns,
)


def test_aggregate_to_samples_means_sds_and_counts(images):
    samples = aggregate_to_samples(images, on="sample_id")
    assert len(samples) == 24
    one = samples.set_index("sample_id").loc["D2_induced_d14"]
    rows = images[images.sample_id == "D2_induced_d14"]
    assert one["osscore"] == pytest.approx(rows["osscore"].mean())
    assert one["osscore_sd"] == pytest.approx(rows["osscore"].std(ddof=1))
    assert one["n_images"] == 2
    assert one["n_cells"] == rows["cell_count"].sum()
    assert one["day"] == 14 and one["condition"] == "induced" and one["donor"] == "D2"
    assert score_columns(samples) == ["osscore", "median_area_um2", "cell_count"]


def test_aggregate_on_day_and_condition(images):
    samples = aggregate_to_samples(images, on="day, condition", scores=["osscore"])
    assert len(samples) == 8 and set(samples["n_images"]) == {6}
    assert "donor" not in samples.columns  # not unique within a day/condition


def test_bad_scores_tables_are_reported(images):
    with pytest.raises(ValueError, match=r"no column\(s\) \['sample_id'\] to join on"):
        aggregate_to_samples(images.drop(columns=["sample_id"]))
    holes = images.copy()
    holes.loc[[0, 5], "sample_id"] = None
    with pytest.raises(ValueError, match=r"layers \['D1_induced_d0_img0', 'D1_induced_d14_img1'\]"):
        aggregate_to_samples(holes)
    text = images.astype({"osscore": object})
    text.loc[3, "osscore"] = "high"
    with pytest.raises(ValueError, match=r"'osscore' must hold numbers.*\['high'\]"):
        aggregate_to_samples(text)
    conflict = images.copy()
    conflict.loc[1, "donor"] = "D9"
    with pytest.raises(ValueError, match=r"sample_id 'D1_induced_d0' has donor D1, D9"):
        aggregate_to_samples(conflict)
    with pytest.raises(ValueError, match=r"no score column\(s\) \['ocn_score'\]"):
        aggregate_to_samples(images, scores=["ocn_score"])


def test_aggregate_cells_per_image():
    cells = pd.DataFrame({"image": ["a", "a", "b"], "label": [1, 2, 1],
                          "area_um2": [100.0, 300.0, 50.0]})
    out = aggregate_cells(cells)
    assert list(out["area_um2"]) == [200.0, 50.0] and list(out["n_cells"]) == [2, 1]
    with pytest.raises(ValueError, match="no column"):
        aggregate_cells(cells, by="layer")


@pytest.mark.parametrize("name, expected", [
    ("D3_P4_d14.tif", {"donor": "D3", "passage": 4, "day": 14}),
    ("/data/run 2/UC-07_P10_d0.ome.tiff", {"donor": "UC-07", "passage": 10, "day": 0}),
    ("D3_P4_d14", {"donor": "D3", "passage": 4, "day": 14}),
    ("D3_P4_d14_field2.tif", {"donor": "D3", "passage": 4, "day": 14}),
    ("D3_d14.tif", {}),
])
def test_metadata_from_name(name, expected):
    assert metadata_from_name(name, "{donor}_P{passage}_d{day}") == expected


def test_metadata_pattern_with_other_fields():
    got = metadata_from_name("BM2-osteo-day7-r3.png", "{donor}-{condition}-day{day}-r{replicate}")
    assert got == {"donor": "BM2", "condition": "osteo", "day": 7, "replicate": 3}
    with pytest.raises(ValueError, match="no {field}"):
        metadata_from_name("x", "plain")


def test_engine_imports_neither_napari_nor_qt():
    import subprocess
    import sys

    code = (
        "import sys, napari_msc_morph.analysis, napari_msc_morph.analysis.plots, "
        "napari_msc_morph.commands.correlate; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('napari', 'qtpy', 'PyQt5', 'PyQt6', 'PySide2', 'PySide6')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
