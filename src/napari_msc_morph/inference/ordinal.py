"""Ordinal post-processing: interval probabilities (the passage study's Eq. 2) and
expected class values."""

from __future__ import annotations

import numpy as np

from ..models.tasks import class_numbers

__all__ = [
    "interval_probabilities",
    "predicted_interval",
    "ordinal_class_values",
    "expected_value",
    "task_score",
    "score_limits",
    "interval_columns",
]


def _as_probabilities(p) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim < 1 or p.shape[-1] < 1:
        raise ValueError(f"probabilities need a class axis (last), got shape {p.shape}.")
    if not np.all(np.isfinite(p)):
        raise ValueError("probabilities contain NaN or Inf.")
    return p


def interval_probabilities(p, m: int) -> np.ndarray:
    """Sum of ``m`` consecutive probabilities of ``p`` (..., n) for every start class:
    shape (..., n - m + 1).

    Examples
    --------
    >>> interval_probabilities([0.1, 0.2, 0.3, 0.4], 3)
    array([0.6, 0.9])
    """
    p = _as_probabilities(p)
    n = p.shape[-1]
    m = int(m)
    if not 1 <= m <= n:
        raise ValueError(f"interval width m must be between 1 and the {n} classes, got {m}.")
    csum = np.concatenate([np.zeros(p.shape[:-1] + (1,)), np.cumsum(p, axis=-1)], axis=-1)
    return csum[..., m:] - csum[..., : n - m + 1]


def predicted_interval(p, m: int) -> tuple[int, int, float]:
    """``(first, last, probability)`` of the ``m`` classes with the highest sum (lowest
    start on ties)."""
    sums = interval_probabilities(p, m)
    if sums.ndim != 1:
        raise ValueError("predicted_interval takes one probability vector.")
    start = int(np.argmax(sums))
    return start, start + int(m) - 1, float(sums[start])


def ordinal_class_values(class_names) -> np.ndarray:
    """The number ending each class name (``"P7"`` -> 7) when all increase, else 1..n."""
    numbers = class_numbers(class_names)
    if numbers is not None:
        return np.asarray(numbers, dtype=np.float64)
    return np.arange(1, len(class_names) + 1, dtype=np.float64)


def expected_value(p, values) -> np.ndarray:
    """``sum_k values_k * p_k`` along the last axis."""
    p = _as_probabilities(p)
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (p.shape[-1],):
        raise ValueError(f"{p.shape[-1]} probabilities but {values.size} class values.")
    return p @ values


def task_score(task, p) -> np.ndarray | None:
    """The task's score for probabilities ``p`` (..., n), or ``None``.

    ``expected_passage``: expected class value. ``os_score``: ``P(positive)``, or for
    ordered classes the expected position scaled to [0, 1].
    """
    if task.score is None:
        return None
    p = _as_probabilities(p)
    if task.score == "expected_passage":
        return expected_value(p, ordinal_class_values(task.class_names))
    if task.score == "os_score":
        if task.positive_class is not None:
            return p[..., list(task.class_names).index(task.positive_class)]
        n = p.shape[-1]
        return expected_value(p, np.arange(n) / (n - 1))
    raise ValueError(f"Task {task.name!r} has an unknown score {task.score!r}.")


def score_limits(task, column: str) -> tuple[float, float]:
    """The range a score or probability column can take: class values, else [0, 1]."""
    if column == "expected_passage":
        values = ordinal_class_values(task.class_names)
        return float(values.min()), float(values.max())
    return 0.0, 1.0


def interval_columns(task, p, widths=(3, 5)) -> dict:
    """Columns ``interval{m}_lo``, ``_hi`` (class values) and ``_p`` of an ordinal task."""
    if not task.ordinal:
        return {}
    values = [int(v) if v.is_integer() else float(v)
              for v in ordinal_class_values(task.class_names).tolist()]
    out: dict = {}
    for m in (m for m in widths if m <= len(values)):
        lo, hi, prob = predicted_interval(p, m)
        out.update({f"interval{m}_lo": values[lo], f"interval{m}_hi": values[hi],
                    f"interval{m}_p": prob})
    return out
