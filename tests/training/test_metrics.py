"""Metrics against hand-computed values and scikit-learn."""

import numpy as np
import pytest
from sklearn import metrics as skm

from napari_msc_morph.models import get_task
from napari_msc_morph.training import metrics as M


def _random_probs(n, k, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, k)) * 2
    p = np.exp(logits)
    return p / p.sum(1, keepdims=True), rng.integers(0, k, n)


def test_hand_computed_small_case():
    p = np.array([
        [0.7, 0.2, 0.1, 0.0],   # true 0: top1 yes
        [0.1, 0.5, 0.4, 0.0],   # true 2: top1 no, top2 yes
        [0.0, 0.1, 0.2, 0.7],   # true 1: top1 no, top2 no, top3 yes
        [0.3, 0.3, 0.2, 0.2],   # true 3: tie 0/1 -> predicted 0; top2 no
    ])
    y = np.array([0, 2, 1, 3])
    assert M.accuracy(y, p.argmax(1)) == 0.25
    assert M.top_k_accuracy(y, p, 2) == 0.5
    assert M.top_k_accuracy(y, p, 3) == 0.75
    # Eq. 2, m = 3: interval sums per row -> starts [0, 0, 1, 0] (ties to lowest)
    # row0 [0,2] contains 0; row1 [0,2] contains 2; row2 [1,3] contains 1; row3 [0,2] lacks 3
    assert M.within_interval_accuracy(y, p, 3) == 0.75
    cm = M.confusion_matrix(y, p.argmax(1), 4)
    assert cm.tolist() == [[1, 0, 0, 0], [0, 0, 0, 1], [0, 1, 0, 0], [1, 0, 0, 0]]


def test_against_sklearn_multiclass():
    p, y = _random_probs(200, 5, 0)
    pred = p.argmax(1)
    assert M.accuracy(y, pred) == pytest.approx(skm.accuracy_score(y, pred))
    for k in (2, 3):
        expected = skm.top_k_accuracy_score(y, p, k=k, labels=range(5))
        assert M.top_k_accuracy(y, p, k) == pytest.approx(expected)
    assert M.macro_f1(y, pred, 5) == pytest.approx(skm.f1_score(y, pred, average="macro"))
    np.testing.assert_array_equal(M.confusion_matrix(y, pred, 5),
                                  skm.confusion_matrix(y, pred, labels=range(5)))


def test_macro_f1_with_absent_class_matches_sklearn():
    y = np.array([0, 0, 1, 1, 2])
    pred = np.array([0, 1, 1, 1, 0])
    assert M.macro_f1(y, pred, 4) == pytest.approx(skm.f1_score(y, pred, average="macro", zero_division=0))


def test_auc_roc_against_sklearn_with_ties():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.random(300) * 0.5 + 0.3 * y, 1)  # heavy ties
    assert M.roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s))
    fpr, tpr, thr = M.roc_curve(y, s)
    sk_fpr, sk_tpr, _ = skm.roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    assert np.isnan(M.roc_auc([1, 1], [0.2, 0.4]))


def test_auc_hand_computed_and_bootstrap_ci():
    # positives 0.8, 0.4; negatives 0.5, 0.1: pairs (0.8>0.5, 0.8>0.1, 0.4<0.5, 0.4>0.1) -> 3/4
    assert M.roc_auc([1, 1, 0, 0], [0.8, 0.4, 0.5, 0.1]) == 0.75
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 400)
    s = rng.random(400) + 0.6 * y
    auc = M.roc_auc(y, s)
    low, high = M.bootstrap_auc_ci(y, s, n_boot=500, seed=0)
    assert low < auc < high and high - low < 0.15
    assert (low, high) == M.bootstrap_auc_ci(y, s, n_boot=500, seed=0)
    groups = np.arange(400) // 20
    g_low, g_high = M.bootstrap_auc_ci(y, s, n_boot=300, seed=0, groups=groups)
    assert g_low < auc < g_high


def test_sensitivity_specificity_against_sklearn():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 100)
    s = rng.random(100)
    sens, spec = M.sensitivity_specificity(y, s, 0.4)
    tn, fp, fn, tp = skm.confusion_matrix(y, s >= 0.4).ravel()
    assert sens == pytest.approx(tp / (tp + fn))
    assert spec == pytest.approx(tn / (tn + fp))


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
