"""Per-sample cell size: a sample's cells pooled with their edge-correction weights."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from napari_msc_morph.analysis import aggregate_cells, aggregate_to_samples
from napari_msc_morph.errors import BadInputError


def _cells():
    return pd.DataFrame({
        "sample_id": ["s1"] * 4 + ["s2"] * 2,
        "field": ["f1", "f1", "f2", "f2", "f3", "f3"],
        "area_um2": [100.0, 400.0, 200.0, 900.0, 50.0, 70.0],
        "RUNX2_mean": [10.0, 20.0, 30.0, 40.0, 5.0, 7.0],
        "edge_weight": [1.1, 1.5, 1.2, 0.0, 1.0, 3.0],
    })


def test_a_samples_cells_are_pooled_over_its_fields_with_their_weights():
    out = aggregate_cells(_cells(), by="sample_id").set_index("sample_id")
    w = np.array([1.1, 1.5, 1.2])
    assert out.loc["s1", "area_um2"] == pytest.approx(np.dot(w, [100, 400, 200]) / w.sum())
    assert out.loc["s1", "RUNX2_mean"] == pytest.approx(np.dot(w, [10, 20, 30]) / w.sum())
    assert out.loc["s2", "area_um2"] == pytest.approx((50 + 3 * 70) / 4)
    assert out.loc["s1", "n_cells"] == 4 and out.loc["s1", "n_cells_sized"] == 3
    assert "edge_weight" not in out.columns
    assert (out["size_weighting"] == "miles-lantuejoul").all()
    plain = aggregate_cells(_cells(), by="sample_id", size_weighting="none").set_index("sample_id")
    assert plain.loc["s1", "area_um2"] == 400.0 and plain.loc["s1", "n_cells_sized"] == 4


def test_a_table_without_weights_gets_plain_means_and_says_so(caplog):
    with caplog.at_level(logging.WARNING):
        out = aggregate_cells(_cells().drop(columns="edge_weight"), by=["sample_id", "field"])
    assert out["size_weighting"].tolist() == ["none"] * 3
    assert out["area_um2"].tolist() == [250.0, 550.0, 60.0]
    assert "not edge-corrected" in caplog.text
    with pytest.raises(BadInputError, match="size weighting"):
        aggregate_cells(_cells(), by="sample_id", size_weighting="weighted")


def test_samples_keep_the_weighting_of_their_images():
    images = pd.DataFrame({"sample_id": ["a", "a", "b"], "area_um2_median": [1.0, 3.0, 5.0],
                           "size_weighting": ["miles-lantuejoul"] * 3})
    samples = aggregate_to_samples(images)
    assert samples["size_weighting"].tolist() == ["miles-lantuejoul"] * 2
    mixed = images.assign(size_weighting=["miles-lantuejoul", "none", "none"])
    assert "size_weighting" not in aggregate_to_samples(mixed).columns  # not one weighting
