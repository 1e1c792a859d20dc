"""Temperature scaling fitted on the validation split after training (Guo et al. 2017).

``T`` minimises the validation images' NLL with probabilities computed as prediction
computes them (``softmax(z / T)`` per tile, then the tile mean); it is written to the
bundle's ``model.json`` under ``calibration``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace

import numpy as np

from ..jobs import CancelToken

__all__ = ["TemperatureFit", "fit_temperature", "tile_logits", "calibrate_bundle",
           "TEMPERATURE_BOUNDS"]

logger = logging.getLogger(__name__)

#: The search range of ``T``: beyond it a validation split is too small or too separable.
TEMPERATURE_BOUNDS = (0.05, 20.0)


@dataclass
class TemperatureFit:
    """Result of :func:`fit_temperature`."""

    temperature: float
    nll_before: float
    nll_after: float
    n: int
    at_bound: bool = False


def tile_logits(tile_probabilities) -> list[np.ndarray]:
    """Logits (up to a constant per tile, which softmax ignores) from ``T = 1`` tile probabilities."""
    tiny = np.finfo(np.float64).tiny
    return [np.log(np.maximum(np.asarray(p, dtype=np.float64), tiny)) for p in tile_probabilities]


def _padded(tiles) -> tuple[np.ndarray, np.ndarray]:
    """``(n_images, max_tiles, n_classes)`` logits and the ``(n_images, max_tiles)`` mask."""
    tiles = [np.atleast_2d(np.asarray(t, dtype=np.float64)) for t in tiles]
    counts = np.array([len(t) for t in tiles])
    mask = np.arange(counts.max()) < counts[:, None]
    z = np.zeros((*mask.shape, tiles[0].shape[1]))
    z[mask] = np.concatenate(tiles)  # row-major: each image's tiles in order
    return z, mask


def _nll(z: np.ndarray, mask: np.ndarray, targets: np.ndarray, temperature: float) -> float:
    """Mean NLL of ``targets`` under the tile-averaged ``softmax(z / T)``."""
    from scipy.special import log_softmax, logsumexp

    log_p = log_softmax(z / temperature, axis=2)
    at_target = np.take_along_axis(log_p, targets[:, None, None], axis=2)[..., 0]
    at_target = np.where(mask, at_target, -np.inf)
    per_image = logsumexp(at_target, axis=1) - np.log(mask.sum(1))
    return float(-per_image.mean())


def fit_temperature(logits, targets, bounds=TEMPERATURE_BOUNDS) -> TemperatureFit:
    """The temperature ``T`` that minimises the NLL of ``targets``.

    A grid over ``log T`` finds the basin, then Brent's method
    (:func:`scipy.optimize.minimize_scalar`) refines it to ~1e-6.

    Parameters
    ----------
    logits : ndarray (n_images, n_classes) or list of ndarray (n_tiles_i, n_classes)
        One row per image, or each image's tiles (tempered softmax averaged as at prediction).
    targets : array_like of int
        True class index per image.
    bounds : (float, float)
        Search range of ``T``.

    Returns
    -------
    TemperatureFit
        ``T``, the NLL at 1 and at ``T``, ``n``, and whether ``T`` ended on a bound.
    """
    from scipy.optimize import minimize_scalar

    z, mask = _padded(logits)
    y = np.asarray(targets, dtype=np.int64).ravel()
    if y.size != z.shape[0] or y.size == 0:
        raise ValueError(f"{y.size} targets for {z.shape[0]} images.")
    lo, hi = math.log(bounds[0]), math.log(bounds[1])
    grid = np.linspace(lo, hi, 81)
    values = [_nll(z, mask, y, math.exp(g)) for g in grid]
    best = int(np.argmin(values))
    at_bound = best in (0, grid.size - 1)  # the likelihood keeps improving past the range
    log_t = float(grid[best])
    if not at_bound:
        found = minimize_scalar(lambda g: _nll(z, mask, y, math.exp(g)),
                                bounds=(grid[best - 1], grid[best + 1]), method="bounded",
                                options={"xatol": 1e-6})
        log_t = float(found.x) if found.fun <= values[best] else log_t
    temperature = math.exp(log_t)
    return TemperatureFit(temperature=temperature, nll_before=_nll(z, mask, y, 1.0),
                          nll_after=_nll(z, mask, y, temperature), n=int(y.size),
                          at_bound=at_bound)


def calibrate_bundle(bundle_path, split_file, *, device: str = "auto", downscale: int = 1,
                     cancel: CancelToken | None = None) -> dict | None:
    """Fit ``T`` on the validation rows of ``split_file`` and store it in the bundle.

    Returns the ``calibration`` dict written, or ``None`` with fewer than two validation images.
    """
    from ..models import load_bundle, resolve_device, save_bundle
    from ..models.calibration import apply_temperature
    from ._inputs import predict_fields
    from .data import load_field, load_manifest
    from .metrics import expected_calibration_error

    device = resolve_device(device)
    table = load_manifest(split_file)
    val = table[table["split"] == "val"].reset_index(drop=True)
    if len(val) < 2:
        logger.info("calibration: %d validation image(s); predictions stay uncalibrated (T = 1)",
                    len(val))
        return None
    bundle = load_bundle(bundle_path, device=device)
    config = bundle.config
    plain = replace(config, calibration=None)  # tile probabilities at T = 1
    images = (load_field(path, downscale).data for path in val["path"])
    _, tiles = predict_fields(bundle.model, plain, images, device=device, total=len(val),
                              cancel=cancel, tiles=True)
    index = {c: i for i, c in enumerate(config.class_names)}
    targets = np.array([index[c] for c in val["label"]], dtype=np.int64)
    fit = fit_temperature(tile_logits(tiles), targets)
    before = np.array([t.mean(0) for t in tiles])
    after = np.array([apply_temperature(t, fit.temperature).mean(0) for t in tiles])
    calibration = {
        "temperature": 1.0 if fit.at_bound else fit.temperature,
        "fitted_on": "validation",
        "n": fit.n,
        "nll_before": fit.nll_before,
        "nll_after": fit.nll_after,
        "ece_before": expected_calibration_error(targets, before),
        "ece_after": expected_calibration_error(targets, after),
    }
    if "donor" in val.columns:
        calibration["n_donors"] = int(val["donor"].nunique())
    if fit.at_bound:  # a limit, not an estimate: applying it would make prediction extreme
        calibration["fitted_temperature"] = fit.temperature
        calibration["ece_after"] = calibration["ece_before"]
        calibration["nll_after"] = calibration["nll_before"]
        calibration["note"] = (
            f"not applied (T = 1): the fit ran to the bound T = {fit.temperature:g}, so the "
            f"{fit.n} validation images are too few or perfectly separated to estimate it; "
            "add validation donors")
        logger.warning("warning: calibration %s", calibration["note"])
    config.calibration = calibration
    save_bundle(bundle.model, config, bundle_path)
    logger.info("calibration: T = %.3f on %d validation images (NLL %.3f -> %.3f)",
                calibration["temperature"], fit.n, fit.nll_before, calibration["nll_after"])
    return calibration
