"""Phase-contrast optics: from optical thickness to an 8-bit camera image.

A high-pass of the optical thickness ``T`` gives a dark cell with a bright halo::

    signal = -halo * (T - G_sigma * T) - absorb * T - mineral * A + bright * B

The signal is normalised to zero mean and unit sd before the donor's background and
contrast are applied, so the class can only be read from morphology.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from scipy.special import ndtri

from ._common import BRIGHTFIELD_PIXEL_SIZE_UM, DonorStyle
from ._shapes import Canvas

#: standard deviation of a normalised field in 8-bit grey levels at contrast 1
BASE_STD_GREY = 26.0
#: width of the bright halo (µm), scale of the cytoplasmic texture (µm), absorption per unit thickness
HALO_SIGMA_UM = 2.5
TEXTURE_UM = 3.0
ABSORB = 0.25


def upsample2(image: np.ndarray) -> np.ndarray:
    """Bilinear 2x upsampling with pixel-centre alignment (``(h, w) -> (2h, 2w)``)."""
    a = np.asarray(image, np.float32)
    h, w = a.shape
    quarter = a * np.float32(0.25)
    three = a - quarter
    rows = np.empty((2 * h, w), np.float32)
    rows[0::2] = three
    rows[1::2] = three
    rows[2::2] += quarter[:-1]
    rows[0] += quarter[0]
    rows[1:-1:2] += quarter[1:]
    rows[-1] += quarter[-1]
    quarter = rows * np.float32(0.25)
    three = rows - quarter
    out = np.empty((2 * h, w, 2), np.float32)  # last axis: even/odd columns
    out[:, :, 0] = three
    out[:, :, 1] = three
    out[:, 1:, 0] += quarter[:, :-1]
    out[:, 0, 0] += quarter[:, 0]
    out[:, :-1, 1] += quarter[:, 1:]
    out[:, -1, 1] += quarter[:, -1]
    return out.reshape(2 * h, 2 * w)


def smooth_noise(rng: np.random.Generator, shape, cell_px: float) -> np.ndarray:
    """Zero-mean, unit-sd noise varying over about ``cell_px`` pixels (drawn coarse, upsampled)."""
    h, w = shape
    k = max(int(np.floor(np.log2(max(cell_px, 1.0)))), 0)
    step = 2**k
    coarse = rng.standard_normal((-(-h // step) + 2, -(-w // step) + 2), dtype=np.float32)
    coarse = ndi.gaussian_filter(coarse, max(cell_px / (2.0 * step), 0.5), mode="wrap")
    for _ in range(k):
        coarse = upsample2(coarse)
    fine = coarse[step : step + h, step : step + w]
    return (fine - fine.mean()) * np.float32(1.0 / (fine.std() + 1e-6))


def smooth_noise_at(rng: np.random.Generator, shape, cell_px: float, ys, xs) -> np.ndarray:
    """Values of a smooth unit-sd noise field (scale ``cell_px``) at points only."""
    h, w = shape
    step = max(cell_px / 2.0, 1.0)
    coarse = rng.standard_normal((int(h / step) + 4, int(w / step) + 4))
    coarse = ndi.gaussian_filter(coarse, 1.0, mode="wrap")
    coarse /= coarse.std() + 1e-9
    coords = np.stack([np.asarray(ys, float) / step + 2, np.asarray(xs, float) / step + 2])
    return ndi.map_coordinates(coarse, coords, order=1, mode="nearest")


# 256 equal-probability quantiles of a standard normal: indexing this with
# random bytes is a fast Gaussian noise generator, plenty for an 8-bit image.
_GAUSS_LUT = np.asarray(ndtri((np.arange(256) + 0.5) / 256.0), np.float32)


def render_phase(
    canvas: Canvas,
    donor: DonorStyle,
    rng: np.random.Generator,
    out_shape: tuple[int, int],
    render_step: int,
    texture: float,
    rgb: bool = False,
    absorption: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Turn a canvas into the final uint8 image (``out_shape``, or ``+(3,)``) and int32 labels.

    ``texture`` is the relative amplitude of the cytoplasmic texture; ``absorption`` the
    opaque material (mineral) at canvas resolution.
    """
    render_px = BRIGHTFIELD_PIXEL_SIZE_UM * render_step
    t = canvas.thickness
    t *= 1.0 + texture * smooth_noise(rng, canvas.shape, TEXTURE_UM / render_px)
    halo = ndi.gaussian_filter(t, HALO_SIGMA_UM / render_px, mode="nearest", truncate=3.0)
    signal = (t - halo) * np.float32(-3.0 * donor.halo_strength)
    signal -= np.float32(ABSORB) * t
    if absorption is not None:
        signal -= absorption
    signal += canvas.bright
    height, width = out_shape
    if render_step == 2:
        signal = upsample2(signal)
    elif render_step != 1:
        signal = ndi.zoom(signal, render_step, order=1)
    signal = signal[:height, :width]
    # normalise at the final resolution (fine texture loses variance when
    # upsampled): class must not be encoded in global brightness or contrast
    sample = signal[::2, ::2]
    mean = float(sample.mean(dtype=np.float64))
    std = float(sample.std(dtype=np.float64))
    background = donor.background * rng.uniform(0.96, 1.04)
    contrast = BASE_STD_GREY * donor.contrast * rng.uniform(0.93, 1.07)
    gain = np.float32(contrast / max(std, 1e-3))
    image = signal * gain
    image += np.float32(background - mean * gain)

    # uneven illumination: a linear ramp plus vignetting (separable in y and x)
    ys = (np.arange(height, dtype=np.float64) - height / 2) / max(height, width)
    xs = (np.arange(width, dtype=np.float64) - width / 2) / max(height, width)
    extent = max(height, width) / 2592.0  # gradients scale with the field of view
    slope = donor.illumination_gradient * extent
    vignette = 0.72 * donor.illumination_gradient * extent**2
    along_y = 1.0 + slope * np.sin(donor.illumination_angle) * ys - vignette * ys**2
    along_x = slope * np.cos(donor.illumination_angle) * xs - vignette * xs**2
    image *= along_y.astype(np.float32)[:, None] + along_x.astype(np.float32)[None, :]

    # camera noise, + 0.5 so that the truncating cast to uint8 rounds
    noise_lut = _GAUSS_LUT * np.float32(donor.noise_sigma) + np.float32(0.5)
    image += noise_lut[rng.integers(0, 256, (height, width), dtype=np.uint8)]
    if rgb:
        image = image[..., None] * np.asarray(donor.tint, np.float32)
    np.clip(image, 0, 255, out=image)
    labels = canvas.owner
    if render_step != 1:  # nearest-neighbour upsampling
        labels = np.repeat(np.repeat(labels, render_step, axis=0), render_step, axis=1)
    return image.astype(np.uint8), np.ascontiguousarray(labels[:height, :width], dtype=np.int32)
