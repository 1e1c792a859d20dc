"""Honest morphometry defaults: no per-image Otsu for % positive, border exclusion counted,
circularity at pixel resolution as docs/morphometry.md states it."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from skimage.draw import disk

from napari_msc_morph import cli
from napari_msc_morph.io import write_tiff
from napari_msc_morph.morphology import (
    measure_cells,
    measure_field,
    pooled_thresholds,
    summarize_cells,
)


def grid_image(positive: int, seed: int, n: int = 32):
    """``n`` square cells; the first ``positive`` bright (≈1000) in RUNX2, the rest ≈100 (noise)."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((100, 200), np.int32)
    marker = np.zeros(labels.shape, np.float32)
    noise = rng.normal(0, 10, n)
    for k in range(1, n + 1):
        r, c = divmod(k - 1, 8)
        labels[r * 25 + 2: r * 25 + 12, c * 25 + 2: c * 25 + 12] = k
        level = 1000 if k <= positive else 100
        marker[labels == k] = level + noise[k - 1]
    return labels, marker


def table_of(positive: int, seed: int) -> pd.DataFrame:
    labels, marker = grid_image(positive, seed)
    return measure_cells(labels, {"RUNX2": marker}, pixel_size_um=0.5)


def test_an_image_with_no_positive_cells_is_not_called_positive(caplog):
    negative = table_of(0, seed=1)
    # what the old default did: Otsu over this image's own cells splits its noise
    from skimage.filters import threshold_otsu

    own = threshold_otsu(negative["RUNX2_mean"].to_numpy())
    assert 0.2 < float(np.mean(negative["RUNX2_mean"] > own)) < 0.8
    with caplog.at_level(logging.WARNING):
        row = summarize_cells(negative).iloc[0]
    assert np.isnan(row.RUNX2_fraction_positive) and np.isnan(row.RUNX2_threshold)
    assert row.RUNX2_threshold_source == "none"
    assert "no positive-cell threshold for RUNX2" in caplog.text
    assert "--thresholds-from" in caplog.text and "pooled_thresholds" in caplog.text


def test_pooled_threshold_calls_the_negative_image_negative():
    run = [table_of(0, 1), table_of(8, 2), table_of(24, 3)]
    cut = pooled_thresholds(run)
    assert 110 < cut["RUNX2"] < 990
    fractions = [summarize_cells(t, thresholds=cut).iloc[0].RUNX2_fraction_positive for t in run]
    assert fractions == pytest.approx([0.0, 0.25, 0.75])
    labels, marker = grid_image(0, 1)
    result = measure_field(labels, {"RUNX2": marker}, pixel_size_um=0.5, thresholds=cut,
                           threshold_sources={"RUNX2": "pooled-otsu"})
    assert result.summary.loc[0, "RUNX2_fraction_positive"] == 0.0
    assert result.summary.loc[0, "RUNX2_threshold_source"] == "pooled-otsu"


def test_control_thresholds_are_the_99th_percentile_of_the_controls():
    run = [table_of(0, 1), table_of(8, 1)]   # same plate noise, 8 cells positive
    cut = pooled_thresholds(run, ["RUNX2"], method="control", control_mask=[True, False])
    assert cut["RUNX2"] == pytest.approx(np.quantile(run[0]["RUNX2_mean"], 0.99))
    # 99th percentile of 32 control cells: its brightest one is above it
    assert summarize_cells(run[0], thresholds=cut).iloc[0].RUNX2_fraction_positive == 1 / 32
    row = summarize_cells(run[1], thresholds=cut).iloc[0]
    assert 8 / 32 <= row.RUNX2_fraction_positive <= 9 / 32


def test_summary_carries_the_border_count():
    table = table_of(0, 1)
    assert summarize_cells(table, n_border_excluded=3).loc[0, "n_border_excluded"] == 3
    assert np.isnan(summarize_cells(table).loc[0, "n_border_excluded"])


def test_cli_reuses_one_threshold_for_the_study(tmp_path, capsys):
    paths = {}
    for name, positive, seed in (("control", 0, 1), ("treated", 8, 1)):
        labels, marker = grid_image(positive, seed)
        write_tiff(labels, tmp_path / f"{name}_cells.tif", pixel_size_um=0.5)
        write_tiff(marker, tmp_path / f"{name}_RUNX2.tif", pixel_size_um=0.5)
        paths[name] = (tmp_path / f"{name}_cells.tif", tmp_path / f"{name}_RUNX2.tif")
    cells, runx2 = paths["control"]
    assert cli.main(["measure", str(cells), "--channel", f"RUNX2={runx2}",
                     "--out", str(tmp_path / "control.csv"), "--summary", str(tmp_path / "c_s.csv"),
                     "--write-thresholds", str(tmp_path / "thresholds.csv")]) == 0
    err = capsys.readouterr().err
    assert "no positive-cell threshold for RUNX2" in err and "--thresholds-from" in err
    written = pd.read_csv(tmp_path / "thresholds.csv")
    assert written["marker"].tolist() == ["RUNX2"]
    control = pd.read_csv(tmp_path / "control.csv")
    assert written.loc[0, "threshold"] == pytest.approx(np.quantile(control["RUNX2_mean"], 0.99))
    assert np.isnan(pd.read_csv(tmp_path / "c_s.csv").loc[0, "RUNX2_fraction_positive"])

    cells, runx2 = paths["treated"]
    assert cli.main(["measure", str(cells), "--channel", f"RUNX2={runx2}", "--border-excluded", "4",
                     "--out", str(tmp_path / "treated.csv"), "--summary", str(tmp_path / "t_s.csv"),
                     "--thresholds-from", str(tmp_path / "thresholds.csv")]) == 0
    summary = pd.read_csv(tmp_path / "t_s.csv")
    assert 8 / 32 <= summary.loc[0, "RUNX2_fraction_positive"] <= 9 / 32
    assert summary.loc[0, "RUNX2_threshold_source"] == "file:thresholds.csv"
    assert summary.loc[0, "n_border_excluded"] == 4

    # the cell tables of a previous run: Otsu over all their cells pooled
    assert cli.main(["measure", str(paths["control"][0]), "--channel",
                     f"RUNX2={paths['control'][1]}", "--out", str(tmp_path / "again.csv"),
                     "--summary", str(tmp_path / "again_s.csv"),
                     "--thresholds-from", str(tmp_path / "control.csv"),
                     "--thresholds-from", str(tmp_path / "treated.csv")]) == 0
    again = pd.read_csv(tmp_path / "again_s.csv")
    assert again.loc[0, "RUNX2_fraction_positive"] == 0.0
    assert again.loc[0, "RUNX2_threshold_source"] == "pooled-otsu:2 table(s)"


# Documented in docs/morphometry.md ("Circularity at pixel resolution"): 4πA/P² of a
# digital disk with scikit-image's pixel perimeter.
DOCUMENTED_CIRCULARITY = {5: 1.1622, 10: 0.9772, 20: 0.9465, 50: 0.9230}


@pytest.mark.parametrize("radius", sorted(DOCUMENTED_CIRCULARITY))
def test_circularity_of_digital_disks_is_the_documented_value(radius):
    size = 2 * radius + 11
    labels = np.zeros((size, size), np.int32)
    labels[disk((size // 2, size // 2), radius)] = 1
    row = measure_cells(labels, pixel_size_um=1.0).iloc[0]
    assert row.circularity == pytest.approx(DOCUMENTED_CIRCULARITY[radius], abs=5e-5)
    assert row.compactness == pytest.approx(1.0, abs=0.01)
