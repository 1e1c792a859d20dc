"""Immunofluorescence fields: exact label truth, compartments, markers."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_msc_morph.errors import BadInputError
from napari_msc_morph.synthetic import IF_CHANNELS, IFField, if_field

TRUTH_COLUMNS = [
    "label", "nucleus_label", "area_px", "area_um2", "nucleus_area_px", "nucleus_area_um2",
    "centroid_y_px", "centroid_x_px", "RUNX2_level", "OSX_level", "OCN_level", "Ki67_level",
    "Ki67_positive",
]


@pytest.fixture(scope="module")
def field():
    return if_field(size=(256, 256), n_cells=20, differentiation=0.5, seed=3)


def test_types_shapes_and_channel_order(field):
    assert isinstance(field, IFField)
    assert list(field.channels) == ["DAPI", "actin", "RUNX2", "OSX", "OCN", "Ki67"] == list(IF_CHANNELS)
    for image in field.channels.values():
        assert image.shape == (256, 256) and image.dtype == np.uint16
    assert field.nuclei.dtype == np.int32 and field.cells.dtype == np.int32
    assert field.pixel_size_um == pytest.approx(0.325)
    assert field.channel_colormaps["DAPI"] == "blue"
    assert field.channel_colormaps["RUNX2"] == "green"
    assert field.channel_colormaps["OCN"] == "red"
    assert field.stack().shape == (6, 256, 256)
    assert set(TRUTH_COLUMNS) <= set(field.truth.columns)
    assert len(field.truth) == 20


def test_truth_areas_equal_bincount_exactly(field):
    t = field.truth
    cell_counts = np.bincount(field.cells.ravel(), minlength=21)
    nucleus_counts = np.bincount(field.nuclei.ravel(), minlength=21)
    assert (cell_counts[t["label"]] == t["area_px"]).all()
    assert (nucleus_counts[t["nucleus_label"]] == t["nucleus_area_px"]).all()
    assert np.allclose(t["area_um2"], t["area_px"] * 0.325**2)
    centroids = ndi.center_of_mass(np.ones_like(field.cells), field.cells, t["label"])
    assert np.allclose(np.array(centroids), t[["centroid_y_px", "centroid_x_px"]].to_numpy())


def test_labels_are_consistent(field):
    labels = np.arange(1, 21)
    assert set(np.unique(field.cells)) == {0, *labels}
    assert set(np.unique(field.nuclei)) == {0, *labels}
    in_nucleus = field.nuclei > 0
    # each nucleus lies inside its own cell
    assert (field.cells[in_nucleus] == field.nuclei[in_nucleus]).all()
    # each cell is one connected piece, nuclei too
    for label, sl in enumerate(ndi.find_objects(field.cells), start=1):
        assert ndi.label(field.cells[sl] == label)[1] == 1
    for label, sl in enumerate(ndi.find_objects(field.nuclei), start=1):
        assert ndi.label(field.nuclei[sl] == label)[1] == 1
    # cells are larger than their nuclei, and some cells touch each other
    t = field.truth
    assert (t["area_px"] > t["nucleus_area_px"]).all()
    eroded = ndi.grey_dilation(field.cells, size=3)
    assert ((eroded != field.cells) & (field.cells > 0)).any()


def test_ki67_positive_in_a_subset_only(field):
    t = field.truth
    n_pos = int(t["Ki67_positive"].sum())
    assert 0 < n_pos < len(t)
    assert (t.loc[~t["Ki67_positive"], "Ki67_level"] == 0).all()
    assert (t.loc[t["Ki67_positive"], "Ki67_level"] > 0).all()


def test_levels_are_the_mean_added_in_compartment(field):
    """Measured background-subtracted means follow the truth levels."""
    t = field.truth
    background = field.cells == 0
    idx = t["label"].to_numpy()
    for name, lab in (("RUNX2", field.nuclei), ("OSX", field.nuclei), ("DAPI", field.nuclei)):
        image = field.channels[name].astype(float)
        bg = np.median(image[background])
        inner = ndi.binary_erosion(lab > 0, iterations=2) * lab
        measured = np.asarray(ndi.mean(image, inner, idx)) - bg
        r = np.corrcoef(measured, t[f"{name}_level"])[0, 1]
        assert r > 0.9, (name, r)
        assert np.allclose(measured, t[f"{name}_level"], rtol=0.25, atol=60), name
    cytoplasm = np.where(field.nuclei > 0, 0, field.cells)
    image = field.channels["OCN"].astype(float)
    inner_cytoplasm = ndi.grey_erosion(cytoplasm, size=5)
    measured = np.asarray(ndi.mean(image, inner_cytoplasm, idx)) - np.median(image[background])
    assert np.corrcoef(measured, t["OCN_level"])[0, 1] > 0.8


def test_differentiation_grows_cells_and_raises_markers():
    low = if_field(size=(256, 256), n_cells=15, differentiation=0.0, seed=1).truth
    high = if_field(size=(256, 256), n_cells=15, differentiation=1.0, seed=1).truth
    assert high["area_px"].mean() > 1.3 * low["area_px"].mean()
    for marker in ("RUNX2", "OSX", "OCN"):
        assert high[f"{marker}_level"].mean() > 3 * low[f"{marker}_level"].mean()
    assert high["Ki67_positive"].mean() < low["Ki67_positive"].mean()


def test_deterministic_by_seed():
    a = if_field(size=(128, 128), n_cells=8, seed=4)
    b = if_field(size=(128, 128), n_cells=8, seed=4)
    c = if_field(size=(128, 128), n_cells=8, seed=5)
    for name in IF_CHANNELS:
        assert np.array_equal(a.channels[name], b.channels[name])
    assert np.array_equal(a.cells, b.cells)
    assert a.truth.equals(b.truth)
    assert not np.array_equal(a.channels["DAPI"], c.channels["DAPI"])


def test_single_cell_and_bad_arguments():
    one = if_field(size=(96, 96), n_cells=1, seed=0)
    assert len(one.truth) == 1 and one.cells.max() == 1
    with pytest.raises(BadInputError, match="n_cells"):
        if_field(n_cells=0)
    with pytest.raises(BadInputError, match="differentiation"):
        if_field(differentiation=1.5)
    with pytest.raises(BadInputError, match="pixel_size_um"):
        if_field(pixel_size_um=0)
    with pytest.raises(BadInputError, match="too small|fewer cells"):
        if_field(size=(32, 32), n_cells=400)
