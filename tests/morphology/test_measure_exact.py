"""measure_cells equals scikit-image to 1e-9 on awkward labels and several channel dtypes.

Labels with holes, one id in several pieces, single-pixel cells, cells cut by
every image edge, touching cells and sparse ids; float32, float64, uint16,
uint8 and signed channels at once. Medians, minima and maxima must equal
numpy's per-object values exactly.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from skimage.draw import ellipse
from skimage.measure import regionprops_table

from napari_msc_morph.morphology import measure_cells
from napari_msc_morph.morphology._order import segment_order_stats, segment_sum_std

GEOMETRY = {
    "area_px": "area",
    "perimeter_px": "perimeter",
    "equivalent_diameter_px": "equivalent_diameter_area",
    "centroid_y_px": "centroid-0",
    "centroid_x_px": "centroid-1",
    "bbox_min_y_px": "bbox-0",
    "bbox_min_x_px": "bbox-1",
    "bbox_max_y_px": "bbox-2",
    "bbox_max_x_px": "bbox-3",
    "major_axis_px": "axis_major_length",
    "minor_axis_px": "axis_minor_length",
    "eccentricity": "eccentricity",
    "extent": "extent",
    "convex_area_px": "area_convex",
    "solidity": "solidity",
    "feret_max_px": "feret_diameter_max",
}
INTENSITY = {"mean": "intensity_mean", "min": "intensity_min", "max": "intensity_max",
             "std": "intensity_std"}


def awkward_labels(shape=(150, 170), seed=0):
    """Touching ellipses cut by every edge, holes, a split id, single pixels, sparse ids."""
    rng = np.random.default_rng(seed)
    labels = np.zeros(shape, np.uint32)
    ids = rng.choice(np.arange(2, 70000), size=45, replace=False)
    for k in ids:
        r, c = rng.uniform(-5, shape[0] + 5), rng.uniform(-5, shape[1] + 5)
        rr, cc = ellipse(r, c, rng.uniform(2, 20), rng.uniform(1, 12), shape=shape,
                         rotation=rng.uniform(-np.pi, np.pi))
        labels[rr, cc] = k
    labels[40:60, 40:62] = 70001                      # a ring: one cell with a hole
    labels[46:54, 47:55] = 0
    labels[100:104, 5:9] = 70002                      # one id in three pieces
    labels[130, 60] = 70002
    labels[110:112, 150:165] = 70002
    labels[0, 0] = 70003                              # single pixels, one in a corner
    labels[75, 85] = 70004
    labels[shape[0] - 1, 100] = 70005
    labels[20:30, shape[1] - 1] = 70006              # a line on the right edge
    labels[np.arange(60, 80), np.arange(120, 140)] = 70007   # diagonal, 8-connected only
    return labels


def reference(labels, channel):
    props = ["label", "area", "perimeter", "equivalent_diameter_area", "centroid", "bbox",
             "axis_major_length", "axis_minor_length", "eccentricity", "extent",
             "area_convex", "solidity", "feret_diameter_max", *INTENSITY.values()]
    return pd.DataFrame(regionprops_table(labels, channel.astype(np.float64), properties=props))


def measure(labels, channels):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return measure_cells(labels, channels)


def channels_for(labels, seed=1):
    rng = np.random.default_rng(seed)
    shape = labels.shape
    return {
        "f32": rng.normal(3.0, 1.5, shape).astype(np.float32),
        "u16": rng.integers(0, 65536, shape).astype(np.uint16),
        "f64": rng.lognormal(0, 2, shape),
        "i32": rng.integers(-10**6, 10**6, shape).astype(np.int32),
        "u8": rng.integers(0, 4, shape).astype(np.uint8),   # many ties
    }


def test_geometry_and_every_channel_equal_skimage_to_1e_9():
    labels = awkward_labels()
    channels = channels_for(labels)
    table = measure(labels, channels)
    for name, channel in channels.items():
        ref = reference(labels, channel)
        assert table["label"].tolist() == ref["label"].tolist()
        for stat, prop in INTENSITY.items():
            np.testing.assert_allclose(table[f"{name}_{stat}"], ref[prop], rtol=1e-9, atol=0,
                                       err_msg=f"{name}_{stat}")
    for ours, theirs in GEOMETRY.items():
        np.testing.assert_allclose(table[ours].to_numpy(float), ref[theirs].to_numpy(float),
                                   rtol=1e-9, atol=1e-12, err_msg=ours)


def test_order_statistics_equal_numpy_exactly():
    labels = awkward_labels(seed=3)
    channels = channels_for(labels, seed=4)
    table = measure(labels, channels)
    for row in table.itertuples(index=False):
        mask = labels == row.label
        for name, channel in channels.items():
            values = channel[mask].astype(np.float64)
            assert getattr(row, f"{name}_median") == np.median(values), (name, row.label)
            assert getattr(row, f"{name}_min") == values.min()
            assert getattr(row, f"{name}_max") == values.max()
            assert getattr(row, f"{name}_integrated") == pytest.approx(values.sum(), rel=1e-12)


def test_float32_confluent_tessellation_equals_skimage():
    from skimage.segmentation import expand_labels

    rng = np.random.default_rng(5)
    seeds = np.zeros((200, 200), np.int32)
    seeds[tuple(rng.integers(0, 200, (2, 150)))] = np.arange(1, 151)
    labels = expand_labels(seeds, 12)
    channel = (rng.random(labels.shape) * 1e4).astype(np.float32)
    table = measure(labels, channel)
    ref = reference(labels, channel)
    for stat, prop in INTENSITY.items():
        np.testing.assert_allclose(table[f"intensity_{stat}"], ref[prop], rtol=1e-9, atol=0)
    for ours, theirs in GEOMETRY.items():
        np.testing.assert_allclose(table[ours].to_numpy(float), ref[theirs].to_numpy(float),
                                   rtol=1e-9, atol=1e-12, err_msg=ours)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint16, np.int8, np.uint64])
def test_segment_order_stats_match_numpy(dtype):
    rng = np.random.default_rng(7)
    sizes = np.r_[1, 1, 2, 3, rng.integers(1, 300, 200), 5000, 1, 17]
    values = (rng.normal(0, 50, sizes.sum()) % 100).astype(dtype)
    starts = np.cumsum(sizes) - sizes
    low, high, mid = segment_order_stats(values, sizes)
    for k, (s, m) in enumerate(zip(starts, sizes)):
        segment = values[s:s + m].astype(np.float64)
        assert (low[k], high[k], mid[k]) == (segment.min(), segment.max(), np.median(segment))


@pytest.mark.parametrize("dtype", [np.float32, np.uint16])
def test_segment_sum_std_match_numpy_across_chunks(dtype):
    """More than 2**18 values: the chunked two-pass std equals numpy's per segment."""
    rng = np.random.default_rng(8)
    sizes = np.r_[rng.integers(1, 3000, 250), 1, 70000]
    values = rng.uniform(1000, 1010, sizes.sum()).astype(dtype)   # mean >> std
    starts = np.cumsum(sizes) - sizes
    sums, std = segment_sum_std(values, sizes)
    for k, (s, m) in enumerate(zip(starts, sizes)):
        segment = values[s:s + m].astype(np.float64)
        assert sums[k] == pytest.approx(segment.sum(), rel=1e-12)
        assert std[k] == pytest.approx(np.std(segment), rel=1e-9, abs=1e-12)


def test_more_than_65536_objects():
    """Past 2**16 objects the runs are grouped by a wider sort: same values as a small field."""
    rng = np.random.default_rng(9)
    rows, triples = 444, 148                              # 65712 cells of 1x3 pixels
    ids = (rng.permutation(rows * triples) + 1).reshape(rows, triples).astype(np.int32)
    labels = np.repeat(ids, 3, axis=1)
    labels[100:104, 99:105] = 10**6                       # one 4x6 block among them
    channel = rng.random(labels.shape).astype(np.float32)
    table = measure(labels, {"c": channel}).set_index("label")
    assert table.shape[0] == rows * triples - 8 + 1
    ref = reference(labels[98:108, 96:108], channel[98:108, 96:108]).set_index("label")
    for ours, theirs in GEOMETRY.items():
        if ours.startswith(("centroid", "bbox")):
            continue   # positions differ by the crop offset
        np.testing.assert_allclose(table.loc[ref.index, ours].to_numpy(float),
                                   ref[theirs].to_numpy(float), rtol=1e-9, err_msg=ours)
    triple_ids = labels[:, ::3]
    medians = np.median(channel.reshape(rows, triples, 3).astype(np.float64), axis=2)
    plain = triple_ids != 10**6
    np.testing.assert_array_equal(table.loc[triple_ids[plain], "c_median"], medians[plain])
