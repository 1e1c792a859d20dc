"""A pooled Otsu threshold only where the cells form two populations."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from napari_msc_morph import cli
from napari_msc_morph.io import write_tiff
from napari_msc_morph.morphology import pooled_thresholds, summarize_cells
from napari_msc_morph.morphology.summary import two_populations


def negative_study(seed: int = 0) -> list[pd.DataFrame]:
    """3 donors × 2 conditions × 3 fields of 60 cells, every cell RUNX2-negative.

    Each cell's mean is log-normal background (CV ≈ 25 %) with a small field-to-field
    offset of the staining, as on a real plate.
    """
    rng = np.random.default_rng(seed)
    tables = []
    for _ in range(3 * 2 * 3):
        level = 100 * np.exp(rng.normal(0, 0.05))
        values = level * np.exp(rng.normal(0, 0.25, 60))
        tables.append(pd.DataFrame({"RUNX2_mean": values, "RUNX2_integrated": values * 50}))
    return tables


def test_all_negative_study_gets_no_otsu_threshold(caplog):
    tables = negative_study()
    # the old path: Otsu splits the one population and calls a large share positive
    old = pooled_thresholds(tables, check_populations=False)["RUNX2"]
    called = np.mean(np.concatenate([t["RUNX2_mean"] for t in tables]) > old)
    assert called > 0.3
    with caplog.at_level(logging.WARNING):
        new = pooled_thresholds(tables)
    assert "RUNX2" not in new
    message = caplog.text
    assert "marker 'RUNX2'" in message and "one population" in message
    assert "'control'" in message and "Ashman's D" in message
    summary = summarize_cells(tables[0], thresholds=new, warn=False).iloc[0]
    assert np.isnan(summary.RUNX2_fraction_positive)
    assert summary.RUNX2_threshold_source == "none"


def test_two_populations_keep_their_threshold():
    rng = np.random.default_rng(1)
    tables = []
    for positive in (0, 15, 30):
        values = np.r_[100 * np.exp(rng.normal(0, 0.25, 60 - positive)),
                       400 * np.exp(rng.normal(0, 0.25, positive))]
        tables.append(pd.DataFrame({"RUNX2_mean": values, "RUNX2_integrated": values}))
    cut = pooled_thresholds(tables)["RUNX2"]
    fractions = [summarize_cells(t, thresholds={"RUNX2": cut}).iloc[0].RUNX2_fraction_positive
                 for t in tables]
    assert fractions == pytest.approx([0, 0.25, 0.5], abs=0.03)


def test_control_method_is_not_checked_for_two_populations():
    tables = negative_study()
    cut = pooled_thresholds(tables, method="control", control_mask=[True] * len(tables))
    pooled = np.concatenate([t["RUNX2_mean"] for t in tables])
    assert cut["RUNX2"] == pytest.approx(np.quantile(pooled, 0.99))


@pytest.mark.parametrize("name, draw", [
    ("normal", lambda rng: rng.normal(100, 10, 1200)),
    ("log-normal", lambda rng: rng.lognormal(5, 0.5, 1200)),
    ("gamma", lambda rng: rng.gamma(2, 50, 1200)),
    ("exponential", lambda rng: rng.exponential(50, 1200)),
    # six fields whose staining differs by up to 50 %: wide, flat-topped, still one population
    ("field offsets", lambda rng: np.concatenate([rng.normal(100 + 10 * k, 10, 200)
                                                  for k in range(6)])),
])
def test_one_population_is_one(name, draw):
    for seed in range(3):
        modes = two_populations(draw(np.random.default_rng(seed)))
        assert not modes.two, (name, seed, modes)


@pytest.mark.parametrize("share, ratio", [(0.5, 2.0), (0.2, 3.0), (0.1, 4.0), (0.25, 10.0)])
def test_two_populations_are_two(share, ratio):
    for seed in range(3):
        rng = np.random.default_rng(seed)
        n_pos = int(1200 * share)
        values = np.r_[rng.normal(100, 20, 1200 - n_pos), rng.normal(100 * ratio, 20 * ratio, n_pos)]
        modes = two_populations(values)
        assert modes.two and modes.ashman_d > 2, (share, ratio, seed, modes)


def test_cli_thresholds_from_negative_cell_tables_warn_and_stay_empty(tmp_path, capsys):
    labels = np.zeros((100, 200), np.int32)
    for k in range(1, 33):
        r, c = divmod(k - 1, 8)
        labels[r * 25 + 2: r * 25 + 12, c * 25 + 2: c * 25 + 12] = k
    write_tiff(labels, tmp_path / "cells.tif", pixel_size_um=0.5)
    marker = np.where(labels > 0, 100.0, 0).astype(np.float32)
    write_tiff(marker, tmp_path / "RUNX2.tif", pixel_size_um=0.5)
    sources = []
    for i, table in enumerate(negative_study()[:4]):
        sources += ["--thresholds-from", str(tmp_path / f"run{i}.csv")]
        table.to_csv(tmp_path / f"run{i}.csv", index=False)
    assert cli.main(["measure", str(tmp_path / "cells.tif"), "--channel",
                     f"RUNX2={tmp_path / 'RUNX2.tif'}", "--out", str(tmp_path / "c.csv"),
                     "--summary", str(tmp_path / "s.csv"), *sources]) == 0
    err = capsys.readouterr().err
    assert "marker 'RUNX2'" in err and "one population" in err and "control" in err
    assert np.isnan(pd.read_csv(tmp_path / "s.csv").loc[0, "RUNX2_fraction_positive"])
