"""The studies' augmentations: random crops from large fields, flips, rotation, translation, colour jitter.

One affine resampling per crop covers position, rotation and flips, so rotating shows no
empty corners. Scale is not jittered by default: cell size is the main signal of
senescence and early osteogenic differentiation. Every random choice comes from
``(seed, epoch, sample)`` (:func:`sample_rng`), whatever the number of workers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._exports import ndimage as ndi  # scipy.ndimage, imported at first use
from ..registry import Registry

__all__ = ["AugmentConfig", "CROPS", "random_crop", "color_jitter", "sample_rng"]

#: Where a training crop is cut (``--crop``): an entry returns the crop's
#: centre ``(cy, cx)`` from ``(field height, width, half the rotated crop's
#: extent, crop size, rng, config)``.
CROPS: Registry = Registry("crop")


@CROPS.register("random", help="anywhere in the field")
def _anywhere(h, w, half, size, rng, config) -> tuple[float, float]:
    cy = rng.uniform(half - 0.5, h - half - 0.5) if h > 2 * half else (h - 1) / 2
    cx = rng.uniform(half - 0.5, w - half - 0.5) if w > 2 * half else (w - 1) / 2
    return cy, cx


@CROPS.register("center", help="around the field's centre, shifted by up to `translate` of "
                               "the crop (the tissue-source study's centre crop)")
def _around_centre(h, w, half, size, rng, config) -> tuple[float, float]:
    shift = float(config.translate) * size
    cy = (h - 1) / 2 + (rng.uniform(-shift, shift) if shift else 0.0)
    cx = (w - 1) / 2 + (rng.uniform(-shift, shift) if shift else 0.0)
    return cy, cx


@dataclass
class AugmentConfig:
    """Which augmentations to draw and how strongly.

    Parameters
    ----------
    hflip, vflip : bool
        Mirror left-right / up-down with probability 1/2.
    rotation_deg : float
        Rotate by a uniform angle in ``[-rotation_deg, rotation_deg]`` (180: any angle).
    scale : float
        Zoom by ``exp(U(-log(1+scale), log(1+scale)))``; 0 (default) keeps cell size.
    brightness, contrast, saturation : float
        Multipliers drawn from ``U(1 - x, 1 + x)``; saturation only for RGB.
    channel_gain : float
        Per-channel gain ``U(1 - x, 1 + x)`` for RGB (white balance).
    translate : float
        Centre crops only: shift by up to this share of the crop side along each axis.
    """

    hflip: bool = True
    vflip: bool = True
    rotation_deg: float = 180.0
    scale: float = 0.0
    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.2
    channel_gain: float = 0.05
    translate: float = 0.0


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator for one training sample."""
    return np.random.default_rng(
        np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(epoch), int(index), 0xA06])
    )


def random_crop(
    field: np.ndarray, size: int, rng: np.random.Generator, config: AugmentConfig,
    position: str = "random",
) -> np.ndarray:
    """One ``size`` x ``size`` float32 view of ``field`` at a random place, angle and mirror.

    Bilinear resampling; ``position`` is a :data:`CROPS` name; pixels outside the field
    (only when it is smaller than the rotated crop) are mirrored in.
    """
    field = np.asarray(field)
    if field.ndim not in (2, 3):
        raise ValueError(f"field must be (H, W) or (H, W, C), got shape {field.shape}.")
    size = int(size)
    h, w = field.shape[:2]
    theta = (math.radians(rng.uniform(-config.rotation_deg, config.rotation_deg))
             if config.rotation_deg else 0.0)
    zoom = 1.0
    if config.scale:
        bound = math.log1p(config.scale)
        zoom = math.exp(rng.uniform(-bound, bound))
    fy = -1.0 if config.vflip and rng.random() < 0.5 else 1.0
    fx = -1.0 if config.hflip and rng.random() < 0.5 else 1.0
    cos, sin = math.cos(theta), math.sin(theta)
    # Half of the rotated (and zoomed) crop's bounding box in field pixels.
    half = 0.5 * size * zoom * (abs(cos) + abs(sin))
    cy, cx = CROPS.get(position)(h, w, half, size, rng, config)

    if theta == 0.0 and zoom == 1.0 and h >= size and w >= size:
        # Axis-aligned: a slice (integer position) is exact and much cheaper.
        y0 = int(round(cy - (size - 1) / 2))
        x0 = int(round(cx - (size - 1) / 2))
        y0, x0 = min(max(y0, 0), h - size), min(max(x0, 0), w - size)
        crop = field[y0:y0 + size, x0:x0 + size]
        if fy < 0:
            crop = crop[::-1]
        if fx < 0:
            crop = crop[:, ::-1]
        return np.ascontiguousarray(crop, dtype=np.float32)

    # input = matrix @ output + offset, output centred on the crop's middle.
    matrix = zoom * np.array([[cos * fy, -sin * fx], [sin * fy, cos * fx]])
    mid = (size - 1) / 2.0
    offset = np.array([cy, cx]) - matrix @ np.array([mid, mid])
    planes = field[..., None] if field.ndim == 2 else field
    out = np.empty((size, size, planes.shape[-1]), np.float32)
    for c in range(planes.shape[-1]):
        ndi.affine_transform(
            planes[..., c].astype(np.float32, copy=False), matrix, offset,
            output_shape=(size, size), output=out[..., c], order=1, mode="mirror",
        )
    return out[..., 0] if field.ndim == 2 else out


def color_jitter(crop: np.ndarray, rng: np.random.Generator, config: AugmentConfig) -> np.ndarray:
    """Brightness, contrast, saturation and channel-gain jitter on a [0, 1] crop (clipped)."""
    out = np.asarray(crop, dtype=np.float32)
    rgb = out.ndim == 3 and out.shape[-1] == 3
    if config.brightness:
        out = out * np.float32(rng.uniform(1 - config.brightness, 1 + config.brightness))
    if config.contrast:
        mean = out.mean()
        out = (out - mean) * np.float32(rng.uniform(1 - config.contrast, 1 + config.contrast)) + mean
    if rgb and config.saturation:
        gray = out.mean(-1, keepdims=True)
        out = gray + (out - gray) * np.float32(rng.uniform(1 - config.saturation, 1 + config.saturation))
    if rgb and config.channel_gain:
        gains = rng.uniform(1 - config.channel_gain, 1 + config.channel_gain, 3).astype(np.float32)
        out = out * gains
    return np.clip(out, 0.0, 1.0)

