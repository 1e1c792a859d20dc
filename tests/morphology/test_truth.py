"""measure_cells on the synthetic IF field reproduces its truth table."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from napari_msc_morph.morphology import measure_cells, summarize_cells
from napari_msc_morph.morphology.edge import weighted_quantile
from napari_msc_morph.synthetic import if_field


@pytest.fixture(scope="module")
def measured():
    field = if_field(size=(320, 320), n_cells=18, seed=4)
    table = measure_cells(field.cells, field.channels, nuclei=field.nuclei, pixel_size_um=field.pixel_size_um)
    return field, table.merge(field.truth, on="label", suffixes=("", "_true"), validate="1:1")


def test_areas_and_linkage_equal_truth_exactly(measured):
    field, merged = measured
    assert len(merged) == len(field.truth) == field.cells.max()
    np.testing.assert_array_equal(merged["area_px"], merged["area_px_true"])
    np.testing.assert_array_equal(merged["area_um2"], merged["area_um2_true"])
    np.testing.assert_array_equal(merged["nucleus_area_px"], merged["nucleus_area_px_true"])
    np.testing.assert_array_equal(merged["nucleus_label"], merged["nucleus_label_true"])
    assert (merged["n_nuclei"] == 1).all()
    np.testing.assert_allclose(merged["centroid_y_px"], merged["centroid_y_px_true"], atol=1e-9)
    np.testing.assert_allclose(merged["centroid_x_px"], merged["centroid_x_px_true"], atol=1e-9)


@pytest.mark.parametrize(
    "channel,column", [("DAPI", "nuc_mean"), ("RUNX2", "nuc_mean"), ("actin", "mean"), ("OCN", "mean")])
def test_marker_levels_rank_like_truth(measured, channel, column):
    _, merged = measured
    rho = spearmanr(merged[f"{channel}_level"], merged[f"{channel}_{column}"]).statistic
    assert rho > 0.9


def test_summary_counts_the_field(measured):
    field, merged = measured
    table = measure_cells(field.cells, field.channels, nuclei=field.nuclei, pixel_size_um=field.pixel_size_um)
    summary = summarize_cells(table).iloc[0]
    area_mm2 = 320 * 320 * field.pixel_size_um**2 / 1e6
    assert summary.n_cells == len(field.truth)
    assert summary.cell_density_per_mm2 == pytest.approx(len(field.truth) / area_mm2)
    plain = summarize_cells(table, size_weighting="none").iloc[0]
    assert plain.area_um2_median == pytest.approx(np.median(field.truth["area_um2"]))
    # the default weighs the cells that keep off the border by their edge correction
    interior = merged[merged["edge_weight"] > 0]
    assert summary.n_cells_sized == len(interior) < len(merged)
    assert summary.area_um2_median == pytest.approx(
        weighted_quantile(interior["area_um2"], interior["edge_weight"], 0.5))
