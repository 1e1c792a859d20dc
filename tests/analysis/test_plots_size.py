"""The cell-size distribution plot: edge-corrected bars, the uncorrected outline, medians."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from napari_msc_morph.analysis.plots import size_distribution_figure  # noqa: E402
from napari_msc_morph.errors import BadInputError  # noqa: E402
from napari_msc_morph.morphology.edge import weighted_quantile  # noqa: E402


def _cells():
    rng = np.random.default_rng(0)
    area = np.r_[rng.normal(5000, 300, 60), rng.normal(11000, 500, 40)]
    weight = np.where(area > 8000, 1.6, 1.3)
    weight[:5] = 0.0            # touching the border
    return pd.DataFrame({"sample_id": np.repeat(["a", "b"], 50), "area_um2": area,
                         "edge_weight": weight})


def test_bars_are_the_weighted_histogram_and_medians_are_drawn():
    cells = _cells()
    fig = size_distribution_figure(cells, by="sample_id", bins=12)
    ax = fig.axes[0]
    part = cells[cells["sample_id"] == "a"]
    edges = np.histogram_bin_edges(cells["area_um2"], bins=12)
    keep = part["edge_weight"] > 0
    expected, _ = np.histogram(part.loc[keep, "area_um2"], bins=edges,
                               weights=part.loc[keep, "edge_weight"], density=True)
    heights = [p.get_height() for p in ax.patches if type(p).__name__ == "Rectangle"]
    np.testing.assert_allclose(heights, expected)
    lines = [line.get_xdata()[0] for line in ax.get_lines()]
    assert lines[0] == pytest.approx(weighted_quantile(part.loc[keep, "area_um2"],
                                                       part.loc[keep, "edge_weight"], 0.5))
    assert lines[1] == pytest.approx(np.median(part["area_um2"]))
    assert "edge-corrected" in fig._suptitle.get_text()
    assert [a.get_title() for a in fig.axes if a.get_visible()] == ["a", "b"]
    assert "n = 45" in ax.get_legend().get_texts()[1].get_text()


def test_uncorrected_plot_and_a_missing_column():
    cells = _cells()
    fig = size_distribution_figure(cells, size_weighting="none")
    assert "uncorrected" in fig._suptitle.get_text()
    assert not [p for p in fig.axes[0].patches if type(p).__name__ == "Rectangle"]
    no_weights = size_distribution_figure(cells.drop(columns="edge_weight"))
    assert "no edge_weight column" in no_weights._suptitle.get_text()
    with pytest.raises(BadInputError, match="diameter_um"):
        size_distribution_figure(cells, column="diameter_um")
