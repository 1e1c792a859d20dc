"""How fields become network inputs, shared by training and evaluation.

Training feeds the network what prediction feeds it, so everything defers to
:mod:`napari_msc_morph.inference` and only adapts it to in-memory fields and crops.
"""

from __future__ import annotations

import numpy as np

from ..jobs import CancelToken, ProgressFn, check_cancelled, report

__all__ = ["prepare_training_field", "jittered_input", "predict_fields"]


def prepare_training_field(data: np.ndarray, config, name: str = "image"):
    """``(field, normalizer)``: the prediction engine's :class:`CropNormalizer` fitted on the
    whole field; NaN/Inf become its fill value (crops interpolate cleanly)."""
    from ..inference.preprocess import CropNormalizer, image_layout, intensity_range

    layout = image_layout(np.shape(data), name=name)  # one plane or RGB: data.load_field
    lo, hi, fill = intensity_range(data, config.intensity)
    normalizer = CropNormalizer(lo=lo, hi=hi, fill=fill, mean=tuple(config.mean),
                                std=tuple(config.std), source_rgb=layout.rgb)
    data = np.asarray(data)
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        data = np.where(np.isfinite(data), data, normalizer.fill).astype(data.dtype)
    return data, normalizer


def jittered_input(crop: np.ndarray, normalizer, jitter=None) -> np.ndarray:
    """A raw crop -> network input ``(C, S, S)``; ``jitter`` acts on the [0, 1] scaled crop.

    The jittered crop is mapped back to raw values so that the prediction engine's
    normalizer does the rest exactly as at prediction.
    """
    crop = np.asarray(crop, dtype=np.float32)
    if jitter is not None:
        span = np.float32(normalizer.hi - normalizer.lo)
        unit = (crop - np.float32(normalizer.lo)) / span
        crop = jitter(unit) * span + np.float32(normalizer.lo)
    return normalizer(crop[None])[0]


def predict_fields(model, config, fields, device: str = "cpu", tiling: str | None = None,
                   precision: str | None = None, *,
                   total: int = 0, progress: ProgressFn | None = None,
                   cancel: CancelToken | None = None, tiles: bool = False):
    """Probabilities ``(n_fields, n_classes)`` of raw fields, tiled as at prediction.

    ``model`` may be a network being trained: its training mode and memory format are
    restored afterwards, so validation never changes the next epoch. ``fields`` may be a
    generator (one image in memory). ``precision`` is float32 on a CPU by default, so
    validation numbers do not depend on bfloat16. With ``tiles=True`` also returns each
    field's ``(n_tiles, n_classes)`` tile probabilities.
    """
    import torch

    from ..inference.predict import Predictor
    from ..models import ModelBundle

    if precision is None:
        precision = "fp32" if str(device).split(":")[0] == "cpu" else "auto"
    # the predictor switches the network to channels-last; a contiguous one is switched back
    convolutions = [p for p in model.parameters() if p.dim() == 4]
    restore_contiguous = bool(convolutions) and all(p.is_contiguous() for p in convolutions)
    was_training = model.training
    model.eval()
    predictor = Predictor(ModelBundle(model=model, config=config), device=device,
                          precision=precision)
    try:
        out, per_tile = [], []
        for k, data in enumerate(fields):  # may be a generator: images are read one by one
            check_cancelled(cancel, "Cancelled while predicting images.")
            prediction = predictor.predict(data, tiling=tiling)
            out.append(prediction.probabilities)
            per_tile.append(prediction.tile_probabilities)
            report(progress, k + 1, total, f"predicting image {k + 1}/{total or '?'}")
    finally:
        if restore_contiguous:
            model.to(memory_format=torch.contiguous_format)
        model.train(was_training)
    probs = np.asarray(out, dtype=np.float64).reshape(len(out), config.num_classes)
    return (probs, per_tile) if tiles else probs
