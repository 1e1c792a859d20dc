"""A heat map over its image as an RGB picture: the quick look ``msc-morph explain`` writes.

The image is scaled as the network saw it; each pixel mixes image and colour map in
proportion to the heat, so cold regions show the image as it is.
"""

from __future__ import annotations

import numpy as np

from ..errors import BadInputError
from .preprocess import intensity_range

__all__ = ["heatmap_overlay"]


def heatmap_overlay(image, heatmap, *, rgb: bool | None = None, alpha: float = 0.6,
                    colormap: str = "inferno", max_side: int | None = 2048) -> np.ndarray:
    """``heatmap`` (H, W) in [0, 1] over ``image`` (H, W) or (H, W, 3), as uint8 RGB.

    ``alpha`` is the hottest pixels' opacity; fields longer than ``max_side`` are
    subsampled (a quick look, not the data).
    """
    from matplotlib import colormaps

    image = np.asarray(image)
    heat = np.asarray(heatmap, dtype=np.float32)
    if rgb is None:
        rgb = image.ndim == 3 and image.shape[-1] == 3
    if image.shape[:2] != heat.shape or heat.ndim != 2:
        raise BadInputError(f"the heat map's shape {heat.shape} does not match the image "
                            f"plane's {image.shape[:2]}.")
    step = 1
    if max_side and max(heat.shape) > max_side:
        step = int(np.ceil(max(heat.shape) / max_side))
    image, heat = image[::step, ::step], np.nan_to_num(heat[::step, ::step])
    lo, hi, fill = intensity_range(image, "auto")
    gray = np.nan_to_num(image.astype(np.float32), nan=fill, posinf=fill, neginf=fill)
    gray = np.clip((gray - lo) / (hi - lo), 0.0, 1.0)
    base = gray if rgb else np.repeat(gray[..., None], 3, axis=-1)
    colour = colormaps[colormap](np.clip(heat, 0.0, 1.0))[..., :3].astype(np.float32)
    weight = (float(alpha) * np.clip(heat, 0.0, 1.0))[..., None]
    mixed = base * (1.0 - weight) + colour * weight
    return np.round(mixed * 255.0).astype(np.uint8)
