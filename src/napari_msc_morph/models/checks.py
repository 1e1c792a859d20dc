"""Numbers checked at the door: weights, normalisation, pixel sizes, probabilities.

A diverged or damaged network still "predicts" a confident class; these checks
name the tensor, field or image so nothing non-finite reaches a table.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import BadInputError

__all__ = [
    "PROBABILITY_TOLERANCE",
    "check_finite_tensors",
    "check_probabilities",
    "positive_number",
]

#: How far a row of class probabilities may sum from 1.
PROBABILITY_TOLERANCE = 1e-4


def positive_number(value, name: str, *, allow_none: bool = False) -> float | None:
    """``value`` as a finite float > 0, else a BadInputError naming ``name``."""
    if value is None and allow_none:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not (math.isfinite(number) and number > 0):
        null = " or null" if allow_none else ""
        raise BadInputError(f"{name} must be a positive number{null} (finite, > 0), got {value!r}.")
    return number


def check_finite_tensors(state: dict, source: str) -> None:
    """Refuse a state dict with NaN/Inf in any floating tensor, naming the first ones."""
    import torch

    bad = []
    for key, tensor in state.items():
        if not torch.is_floating_point(tensor) and not torch.is_complex(tensor):
            continue
        finite = torch.isfinite(tensor)
        if bool(finite.all()):
            continue
        n_nan = int(torch.isnan(tensor).sum())
        n_inf = int((~finite).sum()) - n_nan
        bad.append(f"{key} ({n_nan} NaN, {n_inf} Inf of {tensor.numel()})")
    if bad:
        more = f" and {len(bad) - 3} more tensor(s)" if len(bad) > 3 else ""
        raise BadInputError(
            f"{source}: weight tensor {', '.join(bad[:3])}{more} hold non-finite values; "
            "the network cannot give meaningful predictions (training diverged or the file "
            "was damaged). Use another bundle, or retrain with a lower learning rate."
        )


def check_probabilities(probs, image: str, model: str) -> np.ndarray:
    """``probs`` (n_tiles, n_classes), refused when non-finite or rows do not sum to 1;
    ``image`` and ``model`` are named in the message."""
    probs = np.asarray(probs, dtype=np.float64)
    finite = np.isfinite(probs).all(axis=-1)
    if not finite.all():
        raise BadInputError(
            f"{image}: the network of {model} gave non-finite class probabilities (NaN/Inf) "
            f"for {int((~finite).sum())} of {len(finite)} tile(s); its weights overflow on this "
            "image. Try --precision fp32, check the image's intensities, or use another bundle."
        )
    sums = probs.sum(axis=-1)
    off = np.abs(sums - 1.0) > PROBABILITY_TOLERANCE
    if off.any() or (probs < -PROBABILITY_TOLERANCE).any():
        worst = float(sums[np.argmax(np.abs(sums - 1.0))])
        raise BadInputError(
            f"{image}: the class probabilities of {model} do not sum to 1 (a tile sums to "
            f"{worst:.6g}); the network's output is not a probability distribution. "
            "Use another bundle."
        )
    return probs
