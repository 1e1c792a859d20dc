"""How well a label image matches hand-drawn truth: objects paired one-to-one by IoU.

The Hungarian pairing that maximises the summed IoU, and the scores of the
nucleus segmentation literature (Caicedo et al. 2019; Schmidt et al. 2018).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MatchScores", "iou_matrix", "match_labels"]


@dataclass(frozen=True)
class MatchScores:
    """Counts and scores of one truth/prediction pairing at one IoU threshold."""

    iou_threshold: float
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        total = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / total if total else 1.0

    @property
    def ap(self) -> float:
        """TP / (TP + FP + FN), the "average precision" of the DSB 2018 / StarDist papers."""
        total = self.tp + self.fp + self.fn
        return self.tp / total if total else 1.0


def iou_matrix(truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """IoU of every true object (rows, labels 1..) with every predicted one (columns); absent
    labels give empty rows/columns."""
    truth = np.asarray(truth).ravel().astype(np.int64)
    pred = np.asarray(pred).ravel().astype(np.int64)
    if truth.shape != pred.shape:
        raise ValueError(f"truth and prediction differ in size: {truth.size} vs {pred.size}")
    n_true, n_pred = int(truth.max(initial=0)) + 1, int(pred.max(initial=0)) + 1
    overlap = np.bincount(truth * n_pred + pred, minlength=n_true * n_pred)
    overlap = overlap.reshape(n_true, n_pred)
    area_true = overlap.sum(axis=1, keepdims=True)
    area_pred = overlap.sum(axis=0, keepdims=True)
    union = area_true + area_pred - overlap
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, overlap / union, 0.0)
    return iou[1:, 1:]


def match_labels(truth: np.ndarray, pred: np.ndarray,
                 thresholds=(0.5,)) -> list[MatchScores]:
    """Pair the objects of ``truth`` and ``pred`` one-to-one and score each IoU threshold
    (a pair with IoU >= threshold is a true positive); one MatchScores per threshold.

    Examples
    --------
    >>> a = np.array([[1, 1, 0, 2, 2, 2]])
    >>> b = np.array([[1, 1, 0, 0, 0, 3]])
    >>> s = match_labels(a, b)[0]
    >>> (s.tp, s.fp, s.fn)
    (1, 1, 1)
    """
    from scipy.optimize import linear_sum_assignment

    iou = iou_matrix(truth, pred)
    present_true = np.bincount(np.asarray(truth).ravel().astype(np.int64))[1:] > 0
    present_pred = np.bincount(np.asarray(pred).ravel().astype(np.int64))[1:] > 0
    iou = iou[present_true][:, present_pred]
    n_true, n_pred = iou.shape
    rows, cols = linear_sum_assignment(iou, maximize=True)  # empty when either side is
    paired = iou[rows, cols]
    scores = []
    for threshold in thresholds:
        tp = int(np.count_nonzero(paired >= threshold))
        scores.append(MatchScores(float(threshold), tp, n_pred - tp, n_true - tp))
    return scores
