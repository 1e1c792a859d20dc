"""Temperature scaling at prediction: ``softmax(logits / T)`` with the bundle's ``T``.

A network trained with cross-entropy is usually over-confident: its top-class
probability is higher than its accuracy. Temperature scaling (Guo et al.
2017) divides the logits by one scalar ``T`` fitted on the validation split
after training (:mod:`napari_msc_morph.training.calibration`), which keeps the
predicted class of every tile and makes the probabilities honest. The bundle
stores it in ``model.json`` as ``"calibration": {"temperature": T, ...}``;
bundles without the key predict with ``T = 1`` (unchanged).

>>> import numpy as np
>>> p = np.array([[0.7, 0.2, 0.1]])
>>> np.round(apply_temperature(p, 1.0), 3).tolist()
[[0.7, 0.2, 0.1]]
>>> bool(apply_temperature(p, 2.0)[0, 0] < 0.7)   # T > 1 softens
True
"""

from __future__ import annotations

import numpy as np

__all__ = ["bundle_temperature", "calibrated_softmax", "apply_temperature"]


def bundle_temperature(config) -> float:
    """The bundle's temperature ``T`` (``1.0`` when it records no calibration)."""
    calibration = getattr(config, "calibration", None) or {}
    return float(calibration.get("temperature", 1.0))


def calibrated_softmax(logits, config) -> np.ndarray:
    """Class probabilities ``softmax(logits / T)`` of a torch logits batch, as float64 numpy.

    The one place where prediction turns logits into probabilities.
    """
    import torch

    logits = logits.float()
    temperature = bundle_temperature(config)
    if temperature != 1.0:
        logits = logits / temperature
    return torch.softmax(logits, dim=1).cpu().numpy().astype(np.float64)


def apply_temperature(probs, temperature: float) -> np.ndarray:
    """Probabilities of ``T = 1`` turned into those of temperature ``T`` (last axis: classes).

    ``log p`` equals the logits up to a constant per row, and softmax ignores
    that constant, so ``softmax(log p / T) == softmax(logits / T)``.
    """
    from scipy.special import softmax

    p = np.asarray(probs, dtype=np.float64)
    if float(temperature) == 1.0:
        return p
    with np.errstate(divide="ignore"):
        return softmax(np.log(p) / float(temperature), axis=-1)
