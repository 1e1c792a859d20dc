"""Bright-field and neural synthetic fields: determinism, shapes, classes by morphology."""

import hashlib

import numpy as np
import pytest
from scipy.stats import spearmanr

from napari_msc_morph.errors import BadInputError
from napari_msc_morph.synthetic import (
    FATES,
    OSTEO_DAYS,
    PASSAGES,
    SOURCES,
    DonorStyle,
    SyntheticField,
    make_donor,
    nsc_field,
    osteo_differentiation,
    osteo_field,
    passage_field,
    source_field,
)

SMALL = (256, 256)

MAKERS = {
    "passage": lambda **kw: passage_field(4, **kw),
    "osteo": lambda **kw: osteo_field(14, True, **kw),
    "source": lambda **kw: source_field("umbilical_cord", **kw),
    "nsc": lambda **kw: nsc_field("neuron", **kw),
}


def _digest(array):
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


@pytest.mark.parametrize("kind", list(MAKERS))
def test_same_seed_same_bytes_different_seed_different(kind):
    donor = make_donor("D1", seed=3)
    a = MAKERS[kind](donor=donor, size=SMALL, seed=5)
    b = MAKERS[kind](donor=donor, size=SMALL, seed=5)
    c = MAKERS[kind](donor=donor, size=SMALL, seed=6)
    assert _digest(a.image) == _digest(b.image)
    assert _digest(a.labels) == _digest(b.labels)
    assert a.truth == b.truth
    assert _digest(a.image) != _digest(c.image)


@pytest.mark.parametrize("kind", list(MAKERS))
@pytest.mark.parametrize("rgb", [False, True])
def test_shapes_dtypes_and_pixel_size(kind, rgb):
    field = MAKERS[kind](size=(200, 240), rgb=rgb, seed=1)
    assert isinstance(field, SyntheticField)
    assert field.image.dtype == np.uint8
    assert field.image.shape == ((200, 240, 3) if rgb else (200, 240))
    assert field.labels.shape == (200, 240) and field.labels.dtype == np.int32
    assert field.pixel_size_um == pytest.approx(0.65)
    assert field.truth["donor"] == "reference"
    assert field.image.std() > 3  # not a blank image


def test_default_size_passage_field_smoke():
    field = passage_field(5, seed=0)
    assert field.image.shape == (1944, 2592)
    assert field.image.dtype == np.uint8
    assert field.truth["n_cells"] > 20
    assert field.labels.max() > 0


def test_make_donor_deterministic_and_varied():
    assert make_donor("D1", seed=0) == make_donor("D1", seed=0)
    assert make_donor(2).donor_id == "D2"
    donors = [make_donor(i, seed=0) for i in range(1, 9)]
    assert all(isinstance(d, DonorStyle) for d in donors)
    # donor variation is large enough to matter
    assert np.ptp([d.density for d in donors]) > 0.3
    assert np.ptp([d.background for d in donors]) > 20
    assert np.ptp([d.cell_size_scale for d in donors]) > 0.1
    assert make_donor("D1", seed=0) != make_donor("D1", seed=1)
    with pytest.raises(BadInputError, match="donor_id"):
        make_donor("")


def test_mean_intensity_does_not_encode_passage():
    """Brightness and contrast come from the donor, not the passage."""
    passages, means, stds = [], [], []
    for d in range(1, 5):
        donor = make_donor(d, seed=11)
        for passage in (1, 4, 7, 10):
            image = passage_field(passage, donor=donor, size=SMALL, seed=d).image.astype(float)
            passages.append(passage)
            means.append(image.mean())
            stds.append(image.std())
    passages, means, stds = map(np.asarray, (passages, means, stds))
    rho_mean = spearmanr(passages, means)[0]
    rho_std = spearmanr(passages, stds)[0]
    assert abs(rho_mean) < 0.5, rho_mean
    assert abs(rho_std) < 0.6, rho_std
    # P1 and P10 mean intensities overlap across donors
    p1, p10 = means[passages == 1], means[passages == 10]
    assert max(p1.min(), p10.min()) < min(p1.max(), p10.max())


def test_cell_area_grows_and_shape_flattens_with_passage():
    area = {}
    flat = {}
    for passage in (1, 4, 7, 10):
        truths = [passage_field(passage, size=(384, 384), seed=s).truth for s in range(3)]
        area[passage] = np.mean([t["mean_cell_area_um2"] for t in truths])
        flat[passage] = np.mean([t["flat_fraction"] for t in truths])
    assert area[1] < area[4] < area[7] < area[10]
    assert area[10] > 4 * area[1]
    assert flat[1] < 0.2 < 0.6 < flat[10]


def test_labels_grow_with_passage():
    """Labelled cell area (from the label image, not the truth dict) grows too."""
    def mean_label_area(passage):
        labels = passage_field(passage, size=(384, 384), seed=2).labels
        counts = np.bincount(labels.ravel())[1:]
        return counts[counts > 0].mean()

    assert mean_label_area(1) < mean_label_area(10)


def test_osteo_differentiation_monotone_in_day():
    for d in range(1, 4):
        donor = make_donor(d)
        induced = [osteo_differentiation(day, True, donor) for day in OSTEO_DAYS]
        control = [osteo_differentiation(day, False, donor) for day in OSTEO_DAYS]
        assert induced[0] == 0.0
        assert all(b > a for a, b in zip(induced, induced[1:]))
        assert 0.0 <= min(induced) and max(induced) <= 1.0
        assert max(control) <= 0.02
    # the field reports the same truth
    donor = make_donor(1)
    fields = [osteo_field(day, True, donor=donor, size=(128, 128)) for day in OSTEO_DAYS]
    truth = [f.truth["differentiation"] for f in fields]
    assert truth == sorted(truth) and len(set(truth)) == len(truth)
    assert fields[-1].truth["mineral_area_fraction"] > 0
    assert fields[0].truth["mineral_area_fraction"] == 0
    control = osteo_field(21, False, donor=donor, size=(128, 128))
    assert control.truth["condition"] == "control"
    assert control.truth["differentiation"] < 0.02


def test_osteo_cells_spread_early():
    def area(day, s):
        return osteo_field(day, True, size=(384, 384), seed=s).truth["mean_cell_area_um2"]

    early = np.mean([area(0, s) for s in range(3)])
    day7 = np.mean([area(7, s) for s in range(3)])
    assert day7 > 1.5 * early


def test_source_fields_differ_in_shape():
    uc = [source_field("umbilical_cord", size=SMALL, seed=s).truth for s in range(3)]
    bm = [source_field("bone_marrow", size=SMALL, seed=s).truth for s in range(3)]
    assert {t["source"] for t in uc} == {"umbilical_cord"}
    assert {t["arrangement"] for t in uc} <= {"parallel", "whorl"}
    assert np.mean([t["mean_aspect_ratio"] for t in uc]) > 1.5 * np.mean([t["mean_aspect_ratio"] for t in bm])
    assert np.mean([t["n_cells"] for t in uc]) > np.mean([t["n_cells"] for t in bm])


@pytest.mark.parametrize("fate", FATES)
def test_nsc_field_truth(fate):
    field = nsc_field(fate, size=SMALL, seed=0)
    assert field.truth["fate"] == fate
    assert field.truth["fate_fraction"] >= 0.5
    assert field.labels.max() > 0


def test_neurons_have_longer_processes_than_astrocytes():
    neuron = nsc_field("neuron", size=SMALL, seed=1).truth["mean_neurite_length_um"]
    astro = nsc_field("astrocyte", size=SMALL, seed=1).truth["mean_neurite_length_um"]
    assert neuron > 2 * astro


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: passage_field(0, size=SMALL), "passage"),
        (lambda: passage_field(11, size=SMALL), "passage"),
        (lambda: passage_field(2.5, size=SMALL), "passage"),
        (lambda: osteo_field(2, True, size=SMALL), "day"),
        (lambda: osteo_field(7, "yes", size=SMALL), "induced"),
        (lambda: source_field("adipose", size=SMALL), "source"),
        (lambda: nsc_field("microglia", size=SMALL), "fate"),
        (lambda: passage_field(1, size=(8, 8)), "size"),
        (lambda: passage_field(1, size="big"), "size"),
        (lambda: passage_field(1, donor="D1", size=SMALL), "DonorStyle"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises(BadInputError, match=message):
        call()


def test_choices_accept_equal_numbers_and_return_the_member():
    field = passage_field(np.int64(3), size=SMALL)
    assert field.truth["passage"] == 3 and type(field.truth["passage"]) is int
    assert osteo_field(7.0, False, size=SMALL).truth["day"] == 7
    with pytest.raises(BadInputError, match="day must be >= 0"):
        osteo_differentiation(-1, True)
    with pytest.raises(BadInputError, match="donor_id"):
        make_donor(True)


def test_constants():
    assert PASSAGES == tuple(range(1, 11))
    assert OSTEO_DAYS == (0, 1, 3, 5, 7, 14, 21)
    assert SOURCES == ("umbilical_cord", "bone_marrow")
