"""Temperature scaling: fitted on validation, stored in the bundle, applied at prediction."""

import json
import shutil

import numpy as np
import pytest
import torch

from napari_msc_morph.inference.predict import Predictor
from napari_msc_morph.models import BundleConfig, create_backbone, load_bundle, save_bundle
from napari_msc_morph.models.bundle import MODEL_JSON
from napari_msc_morph.models.calibration import apply_temperature, bundle_temperature
from napari_msc_morph.training.calibration import _nll, _padded, fit_temperature, tile_logits


def make_bundle(path, **kw):
    config = BundleConfig(task="passage", backbone="test_resnet", input_size=64, **kw)
    torch.manual_seed(0)
    return save_bundle(create_backbone("test_resnet", num_classes=config.num_classes), config, path)


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _labels(probs, rng):
    cum = probs.cumsum(1)
    return (rng.random((len(probs), 1)) > cum).sum(1).clip(0, probs.shape[1] - 1)


@pytest.mark.parametrize("true_t", [2.0, 0.5])
def test_recovers_a_known_temperature_and_lowers_nll(true_t):
    rng = np.random.default_rng(0)
    z = rng.normal(0, 3, (6000, 4))
    y = _labels(_softmax(z / true_t), rng)
    fit = fit_temperature(z, y)
    assert fit.temperature == pytest.approx(true_t, rel=0.06)
    assert fit.nll_after < fit.nll_before and fit.n == 6000 and not fit.at_bound
    # the optimum: nudging T either way costs likelihood
    zz, mask = _padded(z)
    for factor in (0.9, 1.1):
        assert _nll(zz, mask, y, fit.temperature * factor) > fit.nll_after


def test_fits_the_tile_averaged_probabilities_prediction_uses():
    rng = np.random.default_rng(1)
    tiles = [rng.normal(0, 3, (6, 3)) + rng.normal(0, 3, (1, 3)) for _ in range(1500)]
    averaged = np.array([_softmax(t / 1.7).mean(0) for t in tiles])
    y = _labels(averaged, rng)
    assert fit_temperature(tiles, y).temperature == pytest.approx(1.7, rel=0.1)
    # log-probabilities are logits up to a constant per tile: same fit
    from_probs = fit_temperature(tile_logits([_softmax(t) for t in tiles]), y)
    assert from_probs.temperature == pytest.approx(fit_temperature(tiles, y).temperature, rel=1e-4)


def test_perfectly_separated_validation_hits_the_bound_and_says_so():
    z = np.array([[5.0, 0.0], [0.0, 5.0], [4.0, 0.0]])
    fit = fit_temperature(z, [0, 1, 0])
    assert fit.at_bound and fit.temperature == pytest.approx(0.05, rel=1e-3)


def test_apply_temperature_is_softmax_of_logits_over_t():
    z = np.random.default_rng(2).normal(0, 4, (20, 5))
    np.testing.assert_allclose(apply_temperature(_softmax(z), 2.5), _softmax(z / 2.5), atol=1e-12)
    np.testing.assert_array_equal(apply_temperature(_softmax(z), 1.0), _softmax(z))


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    root = tmp_path_factory.mktemp("calibrated")
    plain = make_bundle(root / "plain", class_names=["P1", "P5", "P10"])
    calibrated = make_bundle(root / "calibrated", class_names=["P1", "P5", "P10"],
                             calibration={"temperature": 2.5, "fitted_on": "validation", "n": 9})
    return plain, calibrated


def test_bundle_temperature_changes_probabilities_exactly_as_softmax_of_logits_over_t(bundles):
    plain, calibrated = bundles
    x = np.random.default_rng(3).normal(0, 1, (4, 3, 64, 64)).astype(np.float32)
    old, new = load_bundle(plain, device="cpu"), load_bundle(calibrated, device="cpu")
    assert bundle_temperature(old.config) == 1.0 and bundle_temperature(new.config) == 2.5
    assert json.loads((calibrated / MODEL_JSON).read_text())["calibration"]["temperature"] == 2.5
    with torch.no_grad():
        logits = old.model.eval()(torch.from_numpy(x)).double()
    got_plain = Predictor(old, device="cpu", precision="fp32").run_batch(x)
    got_t = Predictor(new, device="cpu", precision="fp32").run_batch(x)
    np.testing.assert_allclose(got_plain, torch.softmax(logits, 1).numpy(), atol=1e-6)
    np.testing.assert_allclose(got_t, torch.softmax(logits / 2.5, 1).numpy(), atol=1e-6)
    assert (got_t.argmax(1) == got_plain.argmax(1)).all()
    assert got_t.max(1).max() < got_plain.max(1).max()  # T > 1 softens


def test_bundle_without_the_key_predicts_unchanged_and_a_bare_temperature_is_read(
        bundles, tmp_path):
    plain, _ = bundles
    old = shutil.copytree(plain, tmp_path / "old")
    data = json.loads((old / MODEL_JSON).read_text())
    data.pop("calibration")  # a bundle written before calibration existed
    data.pop("output_sha256")  # (and before output fingerprints)
    (old / MODEL_JSON).write_text(json.dumps(data))
    image = np.random.default_rng(4).integers(0, 255, (90, 100), dtype=np.uint8)
    before = Predictor(load_bundle(plain, device="cpu"), device="cpu", precision="fp32")
    after = Predictor(load_bundle(old, device="cpu"), device="cpu", precision="fp32")
    np.testing.assert_array_equal(before.predict(image).probabilities,
                                  after.predict(image).probabilities)
    data["temperature"] = 1.5  # the older optional top-level key
    (old / MODEL_JSON).write_text(json.dumps(data))
    assert bundle_temperature(load_bundle(old, device="cpu").config) == 1.5
