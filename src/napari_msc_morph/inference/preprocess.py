"""From raw pixels to network input, crop by crop.

Nothing converts a whole image to float (limits come from a subsample), so a
mosaic costs one batch of float crops; training uses the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import BadInputError
from ..models.intensity import INTENSITY_MODES

__all__ = [
    "ImageLayout",
    "image_layout",
    "intensity_range",
    "CropNormalizer",
    "pad_to_crop",
    "downscale_blocks",
    "resample_factor",
    "resample_plane",
    "resampled_shape",
]

# Subsample at most this many pixels to estimate intensity limits.
_MAX_SAMPLE_PIXELS = 1 << 22
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class ImageLayout:
    """How an array splits into stack axes, ``(H, W)`` planes and a colour axis."""

    leading_shape: tuple[int, ...]
    plane_shape: tuple[int, int]
    rgb: bool

    def plane_indices(self):
        return list(np.ndindex(*self.leading_shape)) if self.leading_shape else [()]


def image_layout(shape, rgb: bool | None = None, name: str = "image") -> ImageLayout:
    """Split ``shape`` into stack axes, a 2D plane and a colour axis (``rgb`` guessed as
    napari does when ``None``); ``name`` is named in errors."""
    shape = tuple(int(s) for s in shape)
    if rgb is None:
        rgb = len(shape) >= 3 and shape[-1] in (3, 4)
    if rgb:
        if len(shape) < 3:
            raise BadInputError(f"{name}: an RGB image needs (H, W, 3) axes, got shape {shape}.")
        if shape[-1] == 4:
            raise BadInputError(
                f"{name} has 4 channels (RGBA or a 4-channel stack); bright-field models take "
                "grayscale or RGB. Drop the alpha channel or choose one channel, e.g. "
                "data[..., :3]."
            )
        if shape[-1] != 3:
            raise BadInputError(
                f"{name}: RGB images need 3 channels on the last axis, got {shape[-1]}."
            )
        plane, leading = shape[-3:-1], shape[:-3]
    else:
        if len(shape) < 2:
            raise BadInputError(f"{name} must be at least 2D (H, W), got shape {shape}.")
        plane, leading = shape[-2:], shape[:-2]
    if min(plane) < 1:
        raise BadInputError(f"{name} is empty (shape {shape}).")
    return ImageLayout(leading_shape=leading, plane_shape=(plane[0], plane[1]), rgb=bool(rgb))


def _subsample(image) -> np.ndarray:
    """A strided view of at most ~4 M pixels."""
    h, w = image.shape[0], image.shape[1]
    step = max(1, int(np.ceil(np.sqrt(h * w / _MAX_SAMPLE_PIXELS))))
    return np.asarray(image[::step, ::step])


def intensity_range(image, mode: str = "auto") -> tuple[float, float, float]:
    """``(lo, hi, fill)``: limits that map a plane to [0, 1] by ``mode``
    (one of :data:`~napari_msc_morph.models.intensity.INTENSITY_MODES`), and the finite
    sample's median for NaN/Inf."""
    limits = INTENSITY_MODES.get(mode)
    dtype = np.dtype(image.dtype)
    if dtype.kind not in "biuf":
        raise BadInputError(f"images must be numeric, got dtype {dtype}.")
    sample = _subsample(image)
    if dtype.kind == "f":
        values = sample[np.isfinite(sample)]
        if values.size == 0:
            raise BadInputError("the image holds no finite pixel values (all NaN/Inf).")
    else:
        values = sample.ravel()
    fill = float(np.median(values))
    lo, hi = limits(dtype, values)
    return lo, hi, fill


def pad_to_crop(plane: np.ndarray, crop_size: int) -> np.ndarray:
    """Reflect-pad a plane (bottom/right) up to ``crop_size``."""
    h, w = plane.shape[0], plane.shape[1]
    pad_y, pad_x = max(0, crop_size - h), max(0, crop_size - w)
    if not (pad_y or pad_x):
        return plane
    widths = [(0, pad_y), (0, pad_x)] + [(0, 0)] * (plane.ndim - 2)
    return np.pad(np.asarray(plane), widths, mode="reflect")


@dataclass
class CropNormalizer:
    """Turns a batch of raw crops into the network's input.

    ``lo``-``hi`` is scaled to [0, 1] and clipped, NaN/Inf become ``fill`` (counted in
    ``nonfinite_pixels``), then the model's per-channel ``mean``/``std`` apply.
    """

    lo: float
    hi: float
    fill: float
    mean: tuple
    std: tuple
    source_rgb: bool
    nonfinite_pixels: int = field(default=0, init=False)

    @property
    def in_chans(self) -> int:
        return len(self.mean)

    def __call__(self, crops: np.ndarray) -> np.ndarray:
        """``crops``: (B, h, w) or (B, h, w, 3) raw -> float32 (B, C, h, w)."""
        x = np.asarray(crops, dtype=np.float32)
        if np.dtype(crops.dtype).kind == "f":
            bad = ~np.isfinite(x)
            count = int(bad.sum())
            if count:
                self.nonfinite_pixels += count
                x[bad] = self.fill
        x -= np.float32(self.lo)
        x *= np.float32(1.0 / (self.hi - self.lo))
        np.clip(x, 0.0, 1.0, out=x)
        if self.source_rgb:
            if self.in_chans == 1:
                x = (x @ _LUMA)[:, None]
            else:
                x = np.moveaxis(x, -1, 1)
        else:
            x = np.repeat(x[:, None], self.in_chans, axis=1) if self.in_chans > 1 else x[:, None]
        mean = np.asarray(self.mean, dtype=np.float32)[None, :, None, None]
        std = np.asarray(self.std, dtype=np.float32)[None, :, None, None]
        return np.ascontiguousarray((x - mean) / std, dtype=np.float32)


def downscale_blocks(data: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor`` x ``factor`` blocks (as training does); integers stay integers."""
    factor = int(factor)
    data = np.asarray(data)
    if factor == 1:
        return data
    if factor < 1:
        raise BadInputError(f"downscale factor must be a positive integer, got {factor}.")
    h, w = data.shape[:2]
    h2, w2 = (h // factor) * factor, (w // factor) * factor
    if h2 == 0 or w2 == 0:
        raise BadInputError(f"image of {h}x{w} px is smaller than the downscale factor {factor}.")
    cropped = data[:h2, :w2].astype(np.float32)
    shape = (h2 // factor, factor, w2 // factor, factor) + cropped.shape[2:]
    out = cropped.reshape(shape).mean(axis=(1, 3))
    if np.issubdtype(data.dtype, np.integer):
        return np.rint(out).astype(data.dtype)
    return out.astype(data.dtype) if data.dtype in (np.float32, np.float64) else out


#: Pixel sizes within this relative difference are treated as equal.
PIXEL_SIZE_TOLERANCE = 0.1


def resample_factor(image_pixel_size_um: float | None, model_pixel_size_um: float | None) -> float:
    """Image pixels per model pixel (1.0 when either is unknown or they agree within 10%)."""
    if not image_pixel_size_um or not model_pixel_size_um:
        return 1.0
    factor = float(model_pixel_size_um) / float(image_pixel_size_um)
    if abs(factor - 1.0) <= PIXEL_SIZE_TOLERANCE:
        return 1.0
    nearest = round(factor)
    if nearest >= 2 and abs(factor / nearest - 1.0) <= 0.02:
        return float(nearest)  # an integer downscale: exact block averages, as in training
    return factor


def resampled_shape(plane_shape, factor: float) -> tuple[int, int]:
    """``(H, W)`` of a plane after :func:`resample_plane` with ``factor``."""
    h, w = int(plane_shape[0]), int(plane_shape[1])
    if factor == 1.0:
        return h, w
    if float(factor).is_integer():
        return h // int(factor), w // int(factor)
    return max(1, round(h / factor)), max(1, round(w / factor))


def resample_plane(plane: np.ndarray, factor: float) -> np.ndarray:
    """Resample a plane so one output pixel spans ``factor`` input pixels."""
    if factor == 1.0:
        return plane
    plane = np.asarray(plane)
    if float(factor).is_integer():
        return downscale_blocks(plane, int(factor))
    from skimage.transform import resize

    out_shape = resampled_shape(plane.shape, factor) + plane.shape[2:]
    data = plane.astype(np.float32) if plane.dtype.kind != "f" else plane
    resized = resize(data, out_shape, order=1, anti_aliasing=factor > 1, preserve_range=True)
    return resized.astype(np.float32)
