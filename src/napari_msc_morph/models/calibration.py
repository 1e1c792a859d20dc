"""Temperature scaling at prediction: ``softmax(logits / T)`` with the bundle's ``T``.

``T`` (Guo et al. 2017) is fitted on the validation split after training
(:mod:`napari_msc_morph.training.calibration`); bundles without one use ``T = 1``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["bundle_temperature", "calibrated_softmax", "apply_temperature"]


def bundle_temperature(config) -> float:
    """The bundle's temperature ``T`` (``1.0`` when it records no calibration)."""
    calibration = getattr(config, "calibration", None) or {}
    return float(calibration.get("temperature", 1.0))


def calibrated_softmax(logits, config) -> np.ndarray:
    """``softmax(logits / T)`` of a torch logits batch, as float64 numpy."""
    import torch

    logits = logits.float()
    temperature = bundle_temperature(config)
    if temperature != 1.0:
        logits = logits / temperature
    return torch.softmax(logits, dim=1).cpu().numpy().astype(np.float64)


def apply_temperature(probs, temperature: float) -> np.ndarray:
    """Probabilities of ``T = 1`` turned into those of temperature ``T`` (last axis: classes).

    ``log p`` is the logits up to a per-row constant, which softmax ignores.
    """
    from scipy.special import softmax

    p = np.asarray(probs, dtype=np.float64)
    if float(temperature) == 1.0:
        return p
    with np.errstate(divide="ignore"):
        return softmax(np.log(p) / float(temperature), axis=-1)
