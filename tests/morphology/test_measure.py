"""measure_cells against scikit-image's regionprops and closed-form shapes."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from skimage.draw import disk, ellipse, rectangle
from skimage.measure import label as cc_label
from skimage.measure import regionprops_table

from napari_msc_morph.morphology import measure_cells, pooled_thresholds, summarize_cells

# measure_cells column -> regionprops property (same definition)
SAME_AS_SKIMAGE = {
    "area_px": "area",
    "perimeter_px": "perimeter",
    "eccentricity": "eccentricity",
    "solidity": "solidity",
    "major_axis_px": "axis_major_length",
    "minor_axis_px": "axis_minor_length",
    "feret_max_px": "feret_diameter_max",
    "convex_area_px": "area_convex",
    "extent": "extent",
    "equivalent_diameter_px": "equivalent_diameter_area",
    "centroid_y_px": "centroid-0",
    "centroid_x_px": "centroid-1",
    "bbox_min_y_px": "bbox-0",
    "bbox_min_x_px": "bbox-1",
    "bbox_max_y_px": "bbox-2",
    "bbox_max_x_px": "bbox-3",
    "ch_mean": "intensity_mean",
    "ch_min": "intensity_min",
    "ch_max": "intensity_max",
    "ch_std": "intensity_std",
}


def random_labels(shape=(160, 200), n=40, seed=0):
    """Ellipses of random size/orientation, overlapping ones cut by later ones."""
    rng = np.random.default_rng(seed)
    labels = np.zeros(shape, np.int32)
    for i in range(1, n + 1):
        r, c = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
        a, b = rng.uniform(2, 18), rng.uniform(1, 10)
        rr, cc = ellipse(r, c, a, b, shape=shape, rotation=rng.uniform(-np.pi, np.pi))
        labels[rr, cc] = i
    # a few odd shapes: single pixel, a line, an L, an object with a hole
    labels[2, 2] = n + 1
    labels[150, 10:30] = n + 2
    labels[120:135, 180] = n + 3
    labels[134, 180:190] = n + 3
    labels[60:75, 5:20] = n + 4
    labels[65:70, 10:15] = 0
    return labels


def quiet_measure(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return measure_cells(*args, **kwargs)


def test_agrees_with_regionprops_to_1e_6():
    labels = random_labels()
    intensity = np.random.default_rng(1).integers(0, 4000, labels.shape).astype(np.uint16)
    table = quiet_measure(labels, {"ch": intensity})
    ref = pd.DataFrame(
        regionprops_table(
            labels,
            intensity,
            properties=[
                "label",
                "centroid",
                "bbox",
                *set(SAME_AS_SKIMAGE.values())
                - {"centroid-0", "centroid-1", "bbox-0", "bbox-1", "bbox-2", "bbox-3"},
                "orientation",
            ],
        )
    )
    assert table["label"].tolist() == ref["label"].tolist()
    for ours, theirs in SAME_AS_SKIMAGE.items():
        np.testing.assert_allclose(
            table[ours].to_numpy(float), ref[theirs].to_numpy(float), rtol=1e-6, atol=1e-9,
            err_msg=ours,
        )
    np.testing.assert_allclose(
        np.radians(table["orientation_deg"]), ref["orientation"], rtol=1e-6, atol=1e-9
    )
    # median has no regionprops counterpart: compare with numpy per object
    for row in table.itertuples():
        assert row.ch_median == np.median(intensity[labels == row.label])
        assert row.ch_integrated == intensity[labels == row.label].sum()


def test_hull_family_on_touching_diagonal_and_split_objects():
    """Convex area, solidity and Feret max agree with regionprops on awkward shapes."""
    from skimage.segmentation import expand_labels

    rng = np.random.default_rng(11)
    seeds = np.zeros((256, 256), np.int32)
    seeds[tuple(rng.integers(0, 256, (2, 120)))] = np.arange(1, 121)
    labels = expand_labels(seeds, 9)               # touching polygons
    labels[np.arange(200, 240), np.arange(10, 50)] = 500   # diagonal line
    labels[np.arange(200, 240), np.arange(60, 100)[::-1]] = 501
    labels[10:14, 200:204] = 502                   # one label, three pieces
    labels[40:41, 250:251] = 502
    labels[30:33, 180:182] = 502
    table = quiet_measure(labels)
    ref = regionprops_table(labels, properties=["label", "area_convex", "solidity", "feret_diameter_max"])
    np.testing.assert_array_equal(table["label"], ref["label"])
    np.testing.assert_array_equal(table["convex_area_px"], ref["area_convex"])
    np.testing.assert_allclose(table["solidity"], ref["solidity"], rtol=1e-12)
    np.testing.assert_allclose(table["feret_max_px"], ref["feret_diameter_max"], rtol=1e-12)
    assert (table["feret_min_px"] <= table["feret_max_px"]).all()


def test_float_channel_uses_same_statistics():
    labels = random_labels(seed=3)
    rng = np.random.default_rng(2)
    intensity = rng.normal(100, 20, labels.shape)
    table = quiet_measure(labels, {"ch": intensity})
    ref = regionprops_table(
        labels, intensity, properties=["intensity_mean", "intensity_min", "intensity_max", "intensity_std"])
    np.testing.assert_allclose(table["ch_mean"], ref["intensity_mean"], rtol=1e-9)
    np.testing.assert_allclose(table["ch_min"], ref["intensity_min"], rtol=1e-12)
    np.testing.assert_allclose(table["ch_max"], ref["intensity_max"], rtol=1e-12)
    np.testing.assert_allclose(table["ch_std"], ref["intensity_std"], rtol=1e-9)
    medians = [np.median(intensity[labels == lab]) for lab in table["label"]]
    np.testing.assert_allclose(table["ch_median"], medians, rtol=1e-12)


@pytest.mark.parametrize("radius", [10, 25, 60])
def test_disk_closed_form(radius):
    """A digital disk (pixel centres strictly inside radius R) against pi R^2 etc.

    Tolerances: digitisation error of area and axes shrinks like 1/R;
    scikit-image's perimeter estimator overestimates circles by up to ~4%.
    """
    size = 2 * radius + 11
    labels = np.zeros((size, size), np.uint8)
    labels[disk((size // 2, size // 2), radius)] = 1
    row = quiet_measure(labels, pixel_size_um=0.5).iloc[0]
    assert row.area_px == pytest.approx(math.pi * radius**2, rel=0.35 / radius)
    assert row.area_um2 == row.area_px * 0.25
    assert row.major_axis_px == pytest.approx(2 * radius, rel=0.2 / radius)
    assert row.minor_axis_px == pytest.approx(2 * radius, rel=0.2 / radius)
    assert row.eccentricity < 0.1
    assert row.perimeter_px == pytest.approx(2 * math.pi * radius, rel=0.05)
    assert row.perimeter_um == pytest.approx(row.perimeter_px * 0.5)
    assert 0.9 < row.circularity <= 1.0
    assert row.compactness == pytest.approx(1.0, abs=0.002)
    assert row.feret_max_px == pytest.approx(2 * radius, abs=2.0)
    assert row.feret_min_px == pytest.approx(2 * radius, abs=2.0)
    assert row.solidity > 0.97
    assert row.centroid_y_um == pytest.approx(size // 2 * 0.5)
    assert row.aspect_ratio == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("rotation_deg", [0, 30, 60, -45])
def test_ellipse_closed_form(rotation_deg):
    """Ellipse with semi-axes 40 and 16 px: areas/axes within 1%, angle within 0.2 deg."""
    a, b = 40, 16
    labels = np.zeros((120, 120), np.int32)
    rr, cc = ellipse(60, 60, a, b, rotation=np.radians(rotation_deg))
    labels[rr, cc] = 5
    row = quiet_measure(labels, pixel_size_um=1.0).iloc[0]
    assert row.label == 5
    assert row.area_px == pytest.approx(math.pi * a * b, rel=0.01)
    assert row.major_axis_px == pytest.approx(2 * a, rel=0.01)
    assert row.minor_axis_px == pytest.approx(2 * b, rel=0.01)
    assert row.eccentricity == pytest.approx(math.sqrt(1 - (b / a) ** 2), abs=0.002)
    assert row.aspect_ratio == pytest.approx(a / b, rel=0.02)
    # skimage.draw.ellipse: rotation turns the row semi-axis a towards +cols.
    assert row.orientation_deg == pytest.approx(rotation_deg, abs=0.2)
    assert row.feret_max_px == pytest.approx(2 * a, abs=1.5)
    assert row.feret_min_px == pytest.approx(2 * b, abs=1.5)


@pytest.mark.parametrize("height,width", [(10, 30), (25, 7), (12, 12)])
def test_rectangle_exact(height, width):
    labels = np.zeros((50, 50), np.uint16)
    rr, cc = rectangle((5, 8), extent=(height, width))
    labels[rr, cc] = 3
    row = quiet_measure(labels).iloc[0]
    assert row.area_px == height * width
    assert row.convex_area_px == height * width
    assert row.perimeter_px == pytest.approx(2 * (height + width) - 4)
    assert row.solidity == 1.0 and row.extent == 1.0
    assert row.major_axis_px == pytest.approx(4 * math.sqrt((max(height, width) ** 2 - 1) / 12))
    assert row.minor_axis_px == pytest.approx(4 * math.sqrt((min(height, width) ** 2 - 1) / 12))
    # regionprops' Feret runs over the marching-squares contour, which cuts
    # each corner pixel diagonally: sqrt(L^2 + (W - 1)^2), not the diagonal.
    long, short = max(height, width), min(height, width)
    assert row.feret_max_px == pytest.approx(math.hypot(long, short - 1))
    assert row.feret_min_px == pytest.approx(min(height, width))
    assert (row.bbox_min_y_px, row.bbox_min_x_px, row.bbox_max_y_px, row.bbox_max_x_px) == (
        5, 8, 5 + height, 8 + width)
    if width > height:
        assert abs(row.orientation_deg) == pytest.approx(90)
    elif height > width:
        assert row.orientation_deg == pytest.approx(0)


def test_no_pixel_size_warns_and_leaves_out_um_columns():
    labels = random_labels()
    with pytest.warns(UserWarning, match="no pixel size"):
        table = measure_cells(labels)
    assert not [c for c in table.columns if c.endswith(("_um", "_um2"))]
    assert "area_px" in table and "perimeter_px" in table
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with_size = measure_cells(labels, pixel_size_um=0.65)
    for col in ("area", "convex_area"):
        np.testing.assert_allclose(with_size[f"{col}_um2"], with_size[f"{col}_px"] * 0.65**2)
    for col in ("perimeter", "major_axis", "feret_max", "centroid_x"):
        np.testing.assert_allclose(with_size[f"{col}_um"], with_size[f"{col}_px"] * 0.65)
    assert with_size.attrs["pixel_size_um"] == 0.65


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint32, np.int64, np.uint64])
def test_any_integer_dtype_and_noncontiguous_ids(dtype):
    base = random_labels(n=20)
    ref = quiet_measure(base)
    ids = np.unique(base)[1:]
    if np.dtype(dtype).itemsize >= 8:
        new_ids = (ids.astype(np.uint64) * 9_000_000_000_000_001 % (2**62)).astype(dtype)
    else:
        new_ids = (ids * 3 + 1).astype(dtype)
    lut = {int(i): new for i, new in zip(ids, new_ids)}
    relabelled = np.zeros(base.shape, dtype)
    for old, new in lut.items():
        relabelled[base == old] = new
    table = quiet_measure(relabelled)
    assert table["label"].dtype == np.dtype(dtype)
    table = table.set_index("label")
    ref = ref.assign(label=[lut[int(i)] for i in ref["label"]]).set_index("label")
    pd.testing.assert_frame_equal(
        table.sort_index(), ref.sort_index(), check_index_type=False, check_dtype=False
    )


def test_empty_labels_give_empty_table_with_same_columns():
    channels = {"DAPI": np.ones((40, 40), np.uint16), "RUNX2": np.ones((40, 40), np.float32)}
    nuclei = np.zeros((40, 40), np.int32)
    full = np.zeros((40, 40), np.int32)
    full[5:15, 5:15] = 1
    expected = measure_cells(full, channels, nuclei=nuclei, pixel_size_um=0.3)
    empty = measure_cells(np.zeros((40, 40), np.int32), channels, nuclei=nuclei, pixel_size_um=0.3)
    assert len(empty) == 0
    assert list(empty.columns) == list(expected.columns)
    stack = measure_cells(np.zeros((3, 40, 40), np.uint16), pixel_size_um=1.0)
    assert len(stack) == 0 and stack.columns[0] == "frame"


def test_stack_measured_plane_by_plane():
    planes = [random_labels(seed=s) for s in range(3)]
    stack = np.stack(planes)
    intensity = np.random.default_rng(5).integers(0, 255, stack.shape).astype(np.uint8)
    table = measure_cells(stack, {"ch": intensity}, pixel_size_um=1.0)
    assert table["frame"].unique().tolist() == [0, 1, 2]
    for f, plane in enumerate(planes):
        one = measure_cells(plane, {"ch": intensity[f]}, pixel_size_um=1.0)
        part = table[table.frame == f].drop(columns="frame").reset_index(drop=True)
        pd.testing.assert_frame_equal(part, one)
    four_d = measure_cells(stack.reshape(1, 3, *stack.shape[1:]), pixel_size_um=1.0)
    assert len(four_d) == len(table)


def test_nucleus_linkage_and_compartment_means():
    cells = np.zeros((60, 100), np.int32)
    nuclei = np.zeros_like(cells)
    cells[5:45, 5:45] = 10          # one nucleus
    nuclei[15:25, 15:25] = 4
    cells[5:45, 50:95] = 20         # two nuclei (binucleated)
    nuclei[10:20, 55:65] = 7
    nuclei[25:40, 70:85] = 8
    cells[50:58, 5:20] = 30         # no nucleus
    marker = np.full(cells.shape, 10, np.uint16)
    marker[nuclei > 0] = 50
    table = measure_cells(cells, {"RUNX2": marker}, nuclei=nuclei, pixel_size_um=2.0).set_index("label")
    assert table.loc[10, "nucleus_label"] == 4 and table.loc[10, "n_nuclei"] == 1
    assert table.loc[20, "nucleus_label"] == 8 and table.loc[20, "n_nuclei"] == 2
    assert table.loc[20, "nucleus_area_px"] == 100 + 225
    assert table.loc[20, "nucleus_area_um2"] == (100 + 225) * 4
    assert table.loc[30, "n_nuclei"] == 0 and table.loc[30, "nucleus_label"] == 0
    assert table.loc[10, "nc_ratio"] == pytest.approx(100 / 1600)
    assert table.loc[10, "RUNX2_nuc_mean"] == 50 and table.loc[10, "RUNX2_cyto_mean"] == 10
    assert table.loc[10, "RUNX2_nuc_cyto_ratio"] == 5
    assert np.isnan(table.loc[30, "RUNX2_nuc_mean"])


def test_nucleus_overlapping_two_cells_goes_to_the_larger_share():
    cells = np.zeros((20, 40), np.int32)
    cells[:, :20] = 1
    cells[:, 20:] = 2
    nuclei = np.zeros_like(cells)
    nuclei[5:15, 12:22] = 9   # 8 columns in cell 1, 2 in cell 2
    table = quiet_measure(cells, nuclei=nuclei).set_index("label")
    assert table.loc[1, "n_nuclei"] == 1 and table.loc[2, "n_nuclei"] == 0
    assert table.loc[1, "nucleus_area_px"] == 100


@pytest.mark.parametrize(
    "labels,match",
    [
        (np.ones((10, 10), np.float32), "dtype float32; labels must be integers"),
        (-np.ones((10, 10), np.int16), "negative values"),
        (np.zeros((10, 10, 3), np.uint8), "RGB"),
        (np.zeros(10, np.int32), "2D label image"),
    ],
)
def test_bad_labels_are_explained(labels, match):
    with pytest.raises(ValueError, match=match):
        measure_cells(labels, pixel_size_um=1)


def test_bad_channels_and_pixel_size_are_explained():
    labels = np.zeros((10, 10), np.int32)
    with pytest.raises(ValueError, match=r"channel 'RUNX2' has shape \(10, 12\)"):
        measure_cells(labels, {"RUNX2": np.zeros((10, 12))}, pixel_size_um=1)
    bad = np.zeros((10, 10))
    bad[3, 3] = np.nan
    with pytest.raises(ValueError, match="channel 'OCN' contains 1 NaN"):
        measure_cells(labels, {"OCN": bad}, pixel_size_um=1)
    with pytest.raises(ValueError, match="nuclei labels have shape"):
        measure_cells(labels, nuclei=np.zeros((5, 5), np.int32), pixel_size_um=1)
    with pytest.raises(ValueError, match="positive number"):
        measure_cells(labels, pixel_size_um=0)
    with pytest.raises(ValueError, match="anisotropic"):
        measure_cells(labels, pixel_size_um=(0.5, 0.7))


def test_progress_callback_reaches_the_end():
    seen = []
    quiet_measure(random_labels(), {"a": np.ones((160, 200))}, progress=lambda d, t, m: seen.append((d, t)))
    assert seen[-1][0] == seen[-1][1] and len(seen) >= 4


def test_summary_density_medians_and_fraction_positive():
    labels = np.zeros((100, 200), np.int32)
    marker = np.zeros(labels.shape, np.uint16)
    k = 0
    for r in range(4):
        for c in range(8):
            k += 1
            labels[r * 25 + 2 : r * 25 + 12, c * 25 + 2 : c * 25 + 12] = k
            marker[labels == k] = 1000 if k <= 8 else 100
    table = measure_cells(labels, {"RUNX2": marker}, pixel_size_um=0.5)
    pooled = pooled_thresholds([table])
    summary = summarize_cells(table, thresholds=pooled, threshold_sources={"RUNX2": "pooled-otsu"})
    row = summary.iloc[0]
    assert row.RUNX2_threshold_source == "pooled-otsu"
    assert row.n_cells == 32
    assert row.field_area_mm2 == pytest.approx(100 * 200 * 0.25 / 1e6)
    assert row.cell_density_per_mm2 == pytest.approx(32 / (100 * 200 * 0.25 / 1e6))
    assert row.area_um2_median == 25 and row.area_um2_iqr == 0
    assert row.RUNX2_fraction_positive == pytest.approx(8 / 32)
    assert 100 <= row.RUNX2_threshold < 1000
    manual = summarize_cells(table, thresholds={"RUNX2": 50})
    assert manual.iloc[0].RUNX2_fraction_positive == 1.0
    stack = measure_cells(np.stack([labels, labels * (labels <= 8)]), {"RUNX2": np.stack([marker, marker])},
                          pixel_size_um=0.5)
    per_frame = summarize_cells(stack, thresholds=pooled)
    assert per_frame["n_cells"].tolist() == [32, 8]
    assert per_frame["RUNX2_fraction_positive"].tolist() == [0.25, 1.0]


def test_summary_without_pixel_size_has_no_density():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = summarize_cells(measure_cells(random_labels()))
    assert "cell_density_per_mm2" not in summary
    assert "area_px_median" in summary


def test_connected_component_labels_from_binary_mask():
    mask = random_labels() > 0
    table = quiet_measure(cc_label(mask))
    assert table["area_px"].sum() == mask.sum()


def test_top_level_exports():
    import napari_msc_morph

    for name in ("measure_cells", "summarize_cells", "segment_nuclei", "segment_cells"):
        assert callable(getattr(napari_msc_morph, name)) and name in napari_msc_morph.__all__
