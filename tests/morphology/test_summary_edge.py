"""Cell size without edge bias: Miles–Lantuéjoul weights, weighted quantiles, the summary."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from skimage.draw import disk
from skimage.segmentation import clear_border

from napari_msc_morph import cli
from napari_msc_morph.analysis import aggregate_cells
from napari_msc_morph.errors import BadInputError
from napari_msc_morph.io import write_tiff
from napari_msc_morph.morphology import measure_cells, measure_field, summarize_cells
from napari_msc_morph.morphology.edge import (
    edge_weights_from_boxes,
    weighted_mean,
    weighted_quantile,
)

FIELD_UM, PIXEL_UM = 666.0, 2.0


def two_size_classes(seed: int, repeats: int = 4):
    """Disks of 80 and 120 µm diameter, equal counts, centres uniform over a 666 µm field.

    Each cell's centre is uniform within one of 16 × 16 strata of the field (stratified
    random sampling: the share of cells the border takes is then close to its
    expectation, ~23 % of the 80 µm and ~33 % of the 120 µm cells). Cells in one field
    lie four strata apart so they never overlap. Border exclusion as the segmentation
    does it (``clear_border``). Returns the fields and the true mean area (µm²) of all
    cells drawn, the ones cut by the border included.
    """
    rng = np.random.default_rng(seed)
    size, strata, step = round(FIELD_UM / PIXEL_UM), 16, 4
    fields, areas = [], []
    for diameter in [80.0, 120.0] * repeats:
        for a in range(step):
            for b in range(step):
                field = np.zeros((size, size), np.uint8)
                for k, (i, j) in enumerate((i, j) for i in range(a, strata, step)
                                           for j in range(b, strata, step)):
                    centre = (np.array([i, j]) + rng.uniform(0, 1, 2)) * size / strata
                    rr, cc = disk(tuple(centre), diameter / 2 / PIXEL_UM)
                    areas.append(rr.size * PIXEL_UM**2)
                    inside = (rr >= 0) & (rr < size) & (cc >= 0) & (cc < size)
                    field[rr[inside], cc[inside]] = k + 1
                fields.append(clear_border(field))
    return np.stack(fields), float(np.mean(areas))


def test_edge_correction_removes_the_size_bias_of_border_exclusion():
    fields, true_mean = two_size_classes(seed=0)
    cells = measure_cells(fields, pixel_size_um=PIXEL_UM, convex=False)
    cells["sample_id"] = "s1"
    corrected = aggregate_cells(cells, by="sample_id", columns=["area_um2"]).iloc[0]
    plain = aggregate_cells(cells, by="sample_id", columns=["area_um2"],
                            size_weighting="none").iloc[0]
    corrected_error = abs(corrected.area_um2 / true_mean - 1)
    plain_error = abs(plain.area_um2 / true_mean - 1)
    assert plain.area_um2 < true_mean          # border exclusion loses the large cells
    assert plain_error > 0.02                  # the plain mean is biased ...
    assert corrected_error < 0.02              # ... the edge-corrected one is not
    assert corrected_error < plain_error
    assert corrected.size_weighting == "miles-lantuejoul" and plain.size_weighting == "none"
    assert corrected.n_cells == corrected.n_cells_sized == len(cells)


def test_the_share_of_cells_border_exclusion_takes_is_the_issues():
    # 666 µm field: about 23 % of 80 µm cells and 33 % of 120 µm cells touch the border
    fields, _ = two_size_classes(seed=0, repeats=1)
    cells = measure_cells(fields, pixel_size_um=PIXEL_UM, convex=False)
    kept_small = (cells["frame"] < 16).sum() / 256
    kept_large = (cells["frame"] >= 16).sum() / 256
    assert 1 - kept_small == pytest.approx(0.23, abs=0.03)
    assert 1 - kept_large == pytest.approx(0.33, abs=0.03)


def test_weights_are_the_inverse_share_of_places_inside_the_field():
    # a 10 × 20 px box in a 100 × 200 px field fits in (100 - 1 - 10)(200 - 1 - 20) places
    # that keep the edge rows and columns free
    weights = edge_weights_from_boxes([5, 0, 5, 3], [5, 5, 5, 3], [15, 10, 15, 100],
                                      [25, 25, 200, 13], (100, 200))
    assert weights[0] == pytest.approx(100 * 200 / (89 * 179))
    assert weights[1] == 0.0  # touches the first row
    assert weights[2] == 0.0  # touches the last column
    assert weights[3] == 0.0  # touches the last row
    labels = np.zeros((100, 200), np.int32)
    labels[5:15, 5:25] = 1
    labels[0:10, 40:50] = 2
    table = measure_cells(labels, pixel_size_um=1.0)
    assert table["edge_weight"].tolist() == pytest.approx([100 * 200 / (89 * 179), 0.0])


@pytest.mark.parametrize("seed", range(20))
def test_weighted_quantile_equals_repeating_each_value_weight_times(seed):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 8, rng.integers(1, 15)).astype(float)
    weights = rng.integers(0, 5, values.size)
    weights[0] += weights.sum() == 0
    qs = [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1, rng.uniform()]
    expected = np.quantile(np.repeat(values, weights), qs, method="averaged_inverted_cdf")
    np.testing.assert_allclose(weighted_quantile(values, weights, qs), expected)
    # scaling every weight changes nothing
    np.testing.assert_allclose(weighted_quantile(values, weights * 0.37, qs), expected)
    assert weighted_mean(values, weights) == pytest.approx(np.repeat(values, weights).mean())


def test_weighted_quantile_with_equal_weights_is_the_median():
    assert weighted_quantile([4.0, 1, 3, 2], np.ones(4), 0.5) == np.median([1, 2, 3, 4])
    assert weighted_quantile([5.0, 1, 3], np.ones(3), 0.5) == 3.0
    assert np.isnan(weighted_quantile([1.0, np.nan], [0, 1], 0.5))
    assert np.isnan(weighted_mean([], []))


def _field_with_a_border_cell():
    labels = np.zeros((60, 80), np.int32)
    labels[10:14, 10:14] = 1      # 16 px, small
    labels[30:50, 30:50] = 2      # 400 px, large
    labels[0:30, 60:80] = 3       # 600 px, touches the border
    return labels


def test_summary_weighs_interior_cells_and_leaves_out_border_cells():
    table = measure_cells(_field_with_a_border_cell(), pixel_size_um=1.0)
    w_small = 60 * 80 / ((60 - 1 - 4) * (80 - 1 - 4))
    w_large = 60 * 80 / ((60 - 1 - 20) * (80 - 1 - 20))
    row = summarize_cells(table).iloc[0]
    assert row.size_weighting == "miles-lantuejoul"
    assert row.n_cells == 3 and row.n_cells_sized == 2
    assert row.area_um2_mean == pytest.approx((16 * w_small + 400 * w_large) / (w_small + w_large))
    plain = summarize_cells(table, size_weighting="none").iloc[0]
    assert plain.size_weighting == "none" and plain.n_cells_sized == 3
    assert plain.area_um2_mean == pytest.approx((16 + 400 + 600) / 3)
    assert plain.area_um2_median == 400


def test_summary_of_a_table_without_boxes_says_it_is_not_corrected(caplog):
    table = pd.DataFrame({"label": [1, 2], "area_um2": [10.0, 30.0]})
    with caplog.at_level(logging.WARNING):
        row = summarize_cells(table).iloc[0]
    assert row.size_weighting == "none" and row.area_um2_mean == 20.0
    assert "not edge-corrected" in caplog.text


def test_unknown_size_weighting_is_refused():
    table = measure_cells(_field_with_a_border_cell(), pixel_size_um=1.0)
    with pytest.raises(BadInputError, match="miles-lantuejoul"):
        summarize_cells(table, size_weighting="hanisch")


def test_measure_field_and_cli_carry_the_weighting(tmp_path):
    labels = _field_with_a_border_cell()
    result = measure_field(labels, pixel_size_um=1.0)
    assert result.summary_row()["size_weighting"] == "miles-lantuejoul"
    plain = measure_field(labels, pixel_size_um=1.0, size_weighting="none")
    assert plain.summary.loc[0, "area_um2_mean"] == pytest.approx(1016 / 3)
    write_tiff(labels, tmp_path / "cells.tif", pixel_size_um=1.0)
    for weighting in ("miles-lantuejoul", "none"):
        out = tmp_path / f"{weighting}.csv"
        assert cli.main(["measure", str(tmp_path / "cells.tif"), "--out", str(out),
                         "--summary", str(tmp_path / f"{weighting}_s.csv"),
                         "--size-weighting", weighting]) == 0
        summary = pd.read_csv(tmp_path / f"{weighting}_s.csv")
        assert summary.loc[0, "size_weighting"] == weighting
    assert pd.read_csv(tmp_path / "none_s.csv").loc[0, "area_um2_mean"] == pytest.approx(1016 / 3)
    cells = pd.read_csv(tmp_path / "none.csv")
    assert (cells["edge_weight"] > 0).sum() == 2


def test_negative_edge_weights_and_an_unknown_cli_weighting_are_refused(tmp_path, capsys):
    table = measure_cells(_field_with_a_border_cell(), pixel_size_um=1.0)
    table.loc[0, "edge_weight"] = -1.0
    with pytest.raises(BadInputError, match="'edge_weight' holds negative values"):
        summarize_cells(table)
    write_tiff(_field_with_a_border_cell(), tmp_path / "cells.tif", pixel_size_um=1.0)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["measure", str(tmp_path / "cells.tif"), "--out", str(tmp_path / "c.csv"),
                  "--size-weighting", "hanisch"])
    assert exit_info.value.code == 2
    assert "--size-weighting" in capsys.readouterr().err
    assert not (tmp_path / "c.csv").exists()
