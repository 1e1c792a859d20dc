"""Issue 24.5: correlating "every numeric column" gave 240 correlations of bookkeeping columns."""

from __future__ import annotations

import numpy as np
import pandas as pd

from conftest import make_images, make_readouts_long
from napari_msc_morph.analysis import correlate_study
from napari_msc_morph.analysis.score_defaults import default_score_columns, is_bookkeeping

#: What a biologist correlates: the task score and one summary per readout.
EXPECTED = ["os_score", "area_um2_median", "cell_density_per_mm2", "RUNX2_fraction_positive",
            "OSX_fraction_positive", "median_area_um2", "cell_count"]


def _results_table(seed: int = 3) -> pd.DataFrame:
    """A results table as Predict + Measure fill it: scores next to processing bookkeeping."""
    images = make_images(seed=seed)
    rng = np.random.default_rng(seed)
    n = len(images)
    score = images["osscore"].clip(0, 1)
    return images.drop(columns=["osscore"]).assign(
        os_score=score, p_induced=score, p_control=1 - score,
        pixel_size_um=0.65, n_tiles=rng.integers(4, 9, n), map_stride_px=112.0,
        map_center_y_px=112.0, map_center_x_px=rng.uniform(100, 120, n), frame=0,
        n_cells=rng.integers(80, 160, n), n_border_excluded=rng.integers(0, 9, n),
        field_area_mm2=0.5, cell_density_per_mm2=rng.uniform(100, 300, n),
        area_um2_median=rng.uniform(1e3, 2e3, n), area_um2_mean=rng.uniform(1e3, 2e3, n),
        area_um2_iqr=rng.uniform(100, 400, n), RUNX2_threshold=rng.uniform(10, 20, n),
        RUNX2_fraction_positive=rng.uniform(0, 1, n), OSX_threshold=rng.uniform(10, 20, n),
        OSX_fraction_positive=rng.uniform(0, 1, n), centroid_x_px=rng.uniform(0, 512, n),
        image_id=np.arange(n))


def test_bookkeeping_columns_are_never_default_scores():
    table = _results_table()
    chosen = default_score_columns(table)
    assert sorted(chosen) == sorted(EXPECTED)
    for column in ("pixel_size_um", "n_tiles", "map_center_x_px", "map_stride_px", "frame",
                   "RUNX2_threshold", "n_border_excluded", "centroid_x_px", "image_id",
                   "field_area_mm2", "area_um2_mean", "area_um2_iqr", "p_induced"):
        assert column not in chosen, column
    assert is_bookkeeping("map_center_y_px") and not is_bookkeeping("cell_density_per_mm2")


def test_correlate_study_tests_only_the_default_scores():
    table = _results_table()
    study = correlate_study(table, make_readouts_long(make_images(seed=3)), method="pearson",
                            n_boot=0)
    assert sorted(study.score_columns) == sorted(EXPECTED)
    # 7 scores x 4 marker/assay pairs x 1 method, not every numeric column
    assert len(study.results) == len(EXPECTED) * 4
    assert set(study.results["score"]) == set(EXPECTED)
