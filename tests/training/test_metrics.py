"""Metrics against hand-computed values and scikit-learn."""

from types import SimpleNamespace

import numpy as np
import pytest
from sklearn import metrics as skm

from napari_msc_morph.models import get_task
from napari_msc_morph.training import bootstrap as B
from napari_msc_morph.training import metrics as M


def _random_probs(n, k, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, k)) * 2
    p = np.exp(logits)
    return p / p.sum(1, keepdims=True), rng.integers(0, k, n)


def _task(k, ordinal=True):
    return SimpleNamespace(class_names=tuple(f"P{i + 1}" for i in range(k)), ordinal=ordinal,
                           positive_class=None)


def test_hand_computed_small_case():
    p = np.array([
        [0.7, 0.2, 0.1, 0.0],   # true 0: top1 yes
        [0.1, 0.5, 0.4, 0.0],   # true 2: top1 no, top2 yes
        [0.0, 0.1, 0.2, 0.7],   # true 1: top1 no, top2 no, top3 yes
        [0.3, 0.3, 0.2, 0.2],   # true 3: tie 0/1 -> predicted 0; top2 no; top3 {0, 1, 2}: no
    ])
    y = np.array([0, 2, 1, 3])
    out = M.task_metrics(_task(4), y, p, n_boot=0)
    assert out["accuracy"] == 0.25
    assert out["top2_accuracy"] == 0.5
    assert out["top3_accuracy"] == 0.75  # sklearn's top_k_accuracy_score breaks the tie: 1.0
    assert M.top_k_hits(y, p, 3).tolist() == [1, 1, 1, 0]
    # Eq. 2, m = 3: interval sums per row -> starts [0, 0, 1, 0] (ties to lowest)
    # row0 [0,2] contains 0; row1 [0,2] contains 2; row2 [1,3] contains 1; row3 [0,2] lacks 3
    assert out["within3_accuracy"] == 0.75
    assert out["confusion_matrix"] == [[1, 0, 0, 0], [0, 0, 0, 1], [0, 1, 0, 0], [1, 0, 0, 0]]


def test_against_sklearn_multiclass():
    p, y = _random_probs(200, 5, 0)
    pred = p.argmax(1)
    out = M.task_metrics(_task(5, ordinal=False), y, p, n_boot=0)
    assert out["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    for k in (2, 3):
        expected = skm.top_k_accuracy_score(y, p, k=k, labels=range(5))
        assert out[f"top{k}_accuracy"] == pytest.approx(expected)
    assert out["macro_f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    np.testing.assert_array_equal(out["confusion_matrix"],
                                  skm.confusion_matrix(y, pred, labels=range(5)))


def test_macro_f1_with_absent_class_matches_sklearn():
    y = np.array([0, 0, 1, 1, 2])
    pred = np.array([0, 1, 1, 1, 0])
    assert B.weighted_macro_f1(np.ones(5), y, pred, 4)[0] == pytest.approx(
        skm.f1_score(y, pred, average="macro", zero_division=0))


def test_auc_roc_against_sklearn_with_ties():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.random(300) * 0.5 + 0.3 * y, 1)  # heavy ties
    p = np.c_[1 - s, s]
    out = M.task_metrics(get_task("osteogenic"), y, p, n_boot=0)
    assert out["auc"] == pytest.approx(skm.roc_auc_score(y, s))
    assert np.isnan(M.task_metrics(get_task("osteogenic"), np.array([1, 1]),
                                   np.array([[0.8, 0.2], [0.6, 0.4]]), n_boot=0)["auc"])


def _auc_ci(y, s, n_boot=1000, seed=0, groups=None):
    """The AUC's interval as task_metrics computes it (images, or whole groups, resampled)."""
    y, s = np.asarray(y), np.asarray(s, dtype=float)
    found = B.bootstrap_intervals({"auc": lambda W: B.weighted_auc(W, y, s)}, groups, y.size,
                                  n_boot, seed)
    return found["auc"]


def test_auc_hand_computed_and_bootstrap_ci():
    # positives 0.8, 0.4; negatives 0.5, 0.1: pairs (0.8>0.5, 0.8>0.1, 0.4<0.5, 0.4>0.1) -> 3/4
    assert B.weighted_auc(np.ones(4), [1, 1, 0, 0], [0.8, 0.4, 0.5, 0.1])[0] == 0.75
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 400)
    s = rng.random(400) + 0.6 * y
    auc = skm.roc_auc_score(y, s)
    low, high = _auc_ci(y, s, n_boot=500, seed=0)
    assert low < auc < high and high - low < 0.15
    assert (low, high) == _auc_ci(y, s, n_boot=500, seed=0)
    groups = np.arange(400) // 20
    g_low, g_high = _auc_ci(y, s, n_boot=300, seed=0, groups=groups)
    assert g_low < auc < g_high
    assert np.isnan(_auc_ci([1, 1], [0.2, 0.4])).all()


def test_sensitivity_specificity_against_sklearn():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 100)
    s = rng.random(100)
    out = M.task_metrics(get_task("osteogenic"), y, np.c_[1 - s, s], threshold=0.4, n_boot=0)
    tn, fp, fn, tp = skm.confusion_matrix(y, s >= 0.4).ravel()
    assert out["sensitivity"] == pytest.approx(tp / (tp + fn))
    assert out["specificity"] == pytest.approx(tn / (tn + fp))


def test_ece_hand_computed_and_reliability_bins():
    p = np.array([[0.9, 0.1], [0.8, 0.2], [0.35, 0.65], [0.4, 0.6]])
    y = np.array([0, 1, 1, 0])
    # confidences 0.9, 0.8, 0.65, 0.6; correct 1, 0, 1, 0
    # bins of width 0.5: (0.5, 1.0] holds all four: acc 0.5, conf 0.7375 -> ECE 0.2375
    assert M.expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.2375)
    # 10 bins: 0.9 -> bin (0.8,0.9], 0.8 -> (0.7,0.8], 0.65 -> (0.6,0.7], 0.6 -> (0.5,0.6]
    # each bin |acc - conf|: |1-.9|, |0-.8|, |1-.65|, |0-.6| -> mean = (0.1+0.8+0.35+0.6)/4
    assert M.expected_calibration_error(y, p, n_bins=10) == pytest.approx(0.4625)
    table = M.reliability_table(y, p, n_bins=10)
    assert table["count"].tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 1, 0]


def test_task_metrics_keys_for_each_kind_of_task():
    p, y = _random_probs(60, 10, 4)
    passage = M.task_metrics(get_task("passage"), y, p, n_boot=0)
    assert {"accuracy", "top2_accuracy", "top3_accuracy", "within3_accuracy", "within5_accuracy",
            "macro_f1", "ece", "confusion_matrix", "mean_abs_class_error"} <= set(passage)
    p2, y2 = _random_probs(80, 2, 5)
    days = np.repeat([0, 5], 40)
    osteo = M.task_metrics(get_task("osteogenic"), y2, p2, days=days, n_boot=200)
    assert osteo["auc"] == pytest.approx(skm.roc_auc_score(y2, p2[:, 1]))
    assert osteo["auc_day_0"] == pytest.approx(skm.roc_auc_score(y2[:40], p2[:40, 1]))
    assert osteo["auc_day_5"] == pytest.approx(skm.roc_auc_score(y2[40:], p2[40:, 1]))
    assert osteo["auc_ci95_low"] <= osteo["auc"] <= osteo["auc_ci95_high"]
    assert "within3_accuracy" not in osteo


def test_empty_split_gives_nan_metrics_and_an_empty_matrix():
    out = M.task_metrics(get_task("osteogenic"), np.array([], int), np.zeros((0, 2)), n_boot=0)
    assert np.isnan(out["accuracy"]) and np.isnan(out["auc"]) and np.isnan(out["ece"])
    assert out["confusion_matrix"] == [[0, 0], [0, 0]]
