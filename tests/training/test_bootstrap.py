"""The cluster bootstrap resamples donors, is seeded, and its weighted metrics are the metrics."""

import numpy as np
import pytest
import sklearn.metrics as skm

from napari_msc_morph.errors import BadInputError
from napari_msc_morph.models import get_task
from napari_msc_morph.training import bootstrap as B
from napari_msc_morph.training import metrics as M


def _two_donors(n_each=50):
    """Donor A: every image right; donor B: every image wrong."""
    y = np.zeros(2 * n_each, dtype=int)
    p = np.zeros((2 * n_each, 2))
    p[:n_each, 0] = 0.9  # A: class 0 predicted, true
    p[:n_each, 1] = 0.1
    p[n_each:, 0] = 0.2  # B: class 1 predicted, false
    p[n_each:, 1] = 0.8
    donors = np.array(["A"] * n_each + ["B"] * n_each)
    return y, p, donors


def test_interval_spans_donors_not_image_count():
    y, p, donors = _two_donors()
    task = get_task("source")
    by_donor = M.task_metrics(task, y, p, groups=donors, n_boot=500, seed=0)
    by_image = M.task_metrics(task, y, p, groups=None, n_boot=500, seed=0)
    assert by_donor["accuracy"] == by_image["accuracy"] == 0.5
    # two donors: a resample is AA (1.0), AB (0.5) or BB (0.0), whatever the image count
    assert (by_donor["accuracy_ci95_low"], by_donor["accuracy_ci95_high"]) == (0.0, 1.0)
    # resampling 100 "independent" images pretends to know it within about +-0.1
    assert by_image["accuracy_ci95_high"] - by_image["accuracy_ci95_low"] < 0.3
    values = B.weighted_mean(B.donor_weights(donors, n_boot=300, seed=1), (p.argmax(1) == y))
    assert set(np.round(values, 6).tolist()) <= {0.0, 0.5, 1.0}


def test_each_resample_draws_as_many_donors_as_there_are():
    donors = np.repeat(["D1", "D2", "D3", "D4"], [1, 5, 2, 7])
    counts, inverse = B.cluster_draws(donors, donors.size, n_boot=200, seed=0)
    assert counts.shape == (200, 4) and (counts.sum(1) == 4).all()
    W = B.donor_weights(donors, n_boot=200, seed=0)
    # an image weighs what its donor was drawn: all images of a donor move together
    for d in np.unique(inverse):
        cols = W[:, inverse == d]
        assert (cols == cols[:, :1]).all()


def test_seeded_and_deterministic():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 120)
    s = rng.random(120) + 0.5 * y
    donors = np.arange(120) // 10
    p = np.c_[1 - s / 2, s / 2]
    task = get_task("osteogenic")
    first = M.task_metrics(task, y, p, groups=donors, n_boot=300, seed=7)
    again = M.task_metrics(task, y, p, groups=donors, n_boot=300, seed=7)
    other = M.task_metrics(task, y, p, groups=donors, n_boot=300, seed=8)
    ci_keys = [k for k in first if k.endswith(("_ci95_low", "_ci95_high"))]
    assert len(ci_keys) >= 10
    assert all(first[k] == again[k] for k in ci_keys)
    assert any(first[k] != other[k] for k in ci_keys)


def test_weighted_metrics_equal_the_metrics_on_repeated_images():
    """Weights are multiplicities: the weighted metric is the metric of the repeated images."""
    rng = np.random.default_rng(0)
    n, k = 60, 4
    y = rng.integers(0, k, n)
    logits = rng.normal(0, 1.5, (n, k)) + 2 * np.eye(k)[y]
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    p = np.round(p, 2)
    p /= p.sum(1, keepdims=True)  # rounding: tied scores for the AUC
    w = rng.integers(0, 4, n).astype(float)
    rep = np.repeat(np.arange(n), w.astype(int))
    pred = p.argmax(1)
    yb, sb = (y == 1).astype(int), p[:, 1]
    assert B.weighted_mean(w, pred == y)[0] == pytest.approx(skm.accuracy_score(y[rep], pred[rep]))
    assert B.weighted_auc(w, yb, sb)[0] == pytest.approx(skm.roc_auc_score(yb[rep], sb[rep]))
    assert B.weighted_macro_f1(w, y, pred, k)[0] == pytest.approx(
        skm.f1_score(y[rep], pred[rep], average="macro"))
    assert B.weighted_ece(w, y, p, 15)[0] == pytest.approx(
        M.expected_calibration_error(y[rep], p[rep], 15))
    assert B.weighted_mean(w, B.interval_hits(y, p, 3))[0] == pytest.approx(
        B.interval_hits(y[rep], p[rep], 3).mean())
    # unit weights: the point estimates themselves
    ones = np.ones(n)
    assert B.weighted_auc(ones, yb, sb)[0] == pytest.approx(skm.roc_auc_score(yb, sb))


def test_every_metric_and_every_day_gets_an_interval():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 80)
    s = np.clip(rng.random(80) * 0.6 + 0.4 * y, 0, 1)
    p = np.c_[1 - s, s]
    days = np.repeat([0, 5], 40)
    donors = np.tile(np.repeat(["a", "b", "c", "d"], 10), 2)
    out = M.task_metrics(get_task("osteogenic"), y, p, days=days, groups=donors, n_boot=200)
    for key in ("accuracy", "macro_f1", "auc", "auc_day_0", "auc_day_5", "sensitivity",
                "specificity", "ece"):
        low, high = out[f"{key}_ci95_low"], out[f"{key}_ci95_high"]
        assert np.isfinite(low) and np.isfinite(high) and low <= high, key
        if key != "ece":  # ECE is biased upwards under resampling; the others bracket
            assert low <= out[key] <= high, key
    passage = M.task_metrics(get_task("passage"), rng.integers(0, 10, 50),
                             rng.dirichlet(np.ones(10), 50), groups=np.arange(50) // 10,
                             n_boot=100)
    for key in ("within3_accuracy", "within5_accuracy", "mean_abs_class_error", "top3_accuracy"):
        assert np.isfinite(passage[f"{key}_ci95_low"]), key


def test_no_resamples_means_no_interval_and_bad_counts_are_refused():
    y, p, donors = _two_donors(5)
    out = M.task_metrics(get_task("source"), y, p, groups=donors, n_boot=0)
    assert np.isnan(out["accuracy_ci95_low"]) and out["bootstrap_resamples"] == 0
    for bad in (-1, 2.5, True, "100"):
        with pytest.raises(BadInputError, match="--n-boot"):
            B.check_n_boot(bad)


def test_large_resample_counts_are_chunked_without_changing_the_result(monkeypatch):
    y, p, donors = _two_donors(20)
    stats = {"acc": lambda W: B.weighted_mean(W, p.argmax(1) == y)}
    whole = B.bootstrap_intervals(stats, donors, y.size, 400, seed=2)
    monkeypatch.setattr(B, "_CHUNK_ENTRIES", 1000)  # 25 resamples per chunk
    assert B.bootstrap_intervals(stats, donors, y.size, 400, seed=2) == whole
