"""Phase-contrast optics: from optical thickness to an 8-bit camera image.

A positive phase-contrast microscope shows a cell as darker than the medium,
with a bright halo just outside its edge. A cheap model that reproduces both
is a high-pass of the optical thickness ``T``::

    signal = -halo * (T - G_sigma * T) - absorb * T - mineral * A + bright * B

where ``G_sigma`` is a Gaussian blur of a few µm: outside an edge ``T = 0``
but its blur is positive, so the halo is bright; inside a thick cell ``T``
exceeds its blur, so the cell is dark; a flat, spread cell's plateau is grey.

The signal is then **normalised to zero mean and unit standard deviation**
and mapped to the donor's background and contrast, so that the class
(passage, day, source, fate) cannot be read from global brightness or
contrast; only from morphology.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ._common import DonorStyle

#: standard deviation of a normalised field in 8-bit grey levels at contrast 1
BASE_STD_GREY = 26.0


def upsample2(image: np.ndarray) -> np.ndarray:
    """Bilinear 2x upsampling with pixel-centre alignment (``(h, w) -> (2h, 2w)``)."""
    image = np.asarray(image, np.float32)
    out = _upsample_axis(image, 0)
    return _upsample_axis(out, 1)


def _upsample_axis(a: np.ndarray, axis: int) -> np.ndarray:
    a = np.moveaxis(a, axis, 0)
    prev = np.concatenate([a[:1], a[:-1]], axis=0)
    nxt = np.concatenate([a[1:], a[-1:]], axis=0)
    out = np.empty((2 * a.shape[0],) + a.shape[1:], np.float32)
    out[0::2] = 0.75 * a + 0.25 * prev
    out[1::2] = 0.75 * a + 0.25 * nxt
    return np.moveaxis(out, 0, axis)


def smooth_noise(rng: np.random.Generator, shape, cell_px: float) -> np.ndarray:
    """Zero-mean, unit-sd noise varying over about ``cell_px`` pixels (cheap: drawn coarse)."""
    h, w = shape
    step = max(int(cell_px // 2), 1)
    coarse = rng.standard_normal((h // step + 3, w // step + 3), dtype=np.float32)
    coarse = ndi.gaussian_filter(coarse, 1.0)
    fine = ndi.zoom(coarse, step, order=1, prefilter=False)[:h, :w]
    return (fine - fine.mean()) / (fine.std() + 1e-6)


def render_phase(
    thickness: np.ndarray,
    donor: DonorStyle,
    rng: np.random.Generator,
    out_shape: tuple[int, int],
    render_step: int,
    halo_sigma_px: float,
    absorption: np.ndarray | None = None,
    bright: np.ndarray | None = None,
    rgb: bool = False,
    absorb: float = 0.35,
) -> np.ndarray:
    """Turn canvas maps into the final uint8 image (``out_shape``, or ``+(3,)``).

    Parameters
    ----------
    thickness, absorption, bright : numpy.ndarray
        Canvas maps at render resolution (``render_step`` times coarser).
    donor : DonorStyle
        Background, contrast, halo, illumination and noise of the session.
    halo_sigma_px : float
        Halo width in render pixels.
    """
    t = thickness
    halo = ndi.gaussian_filter(t, halo_sigma_px, mode="nearest", truncate=3.0)
    signal = (t - halo) * np.float32(-1.6 * donor.halo_strength)
    signal -= np.float32(absorb) * t
    if absorption is not None:
        signal -= absorption
    if bright is not None:
        signal += bright
    # normalise: class must not be encoded in global brightness or contrast
    mean = float(signal.mean())
    std = float(signal.std())
    signal -= np.float32(mean)
    signal *= np.float32(1.0 / max(std, 1e-3))

    background = donor.background * rng.uniform(0.96, 1.04)
    contrast = BASE_STD_GREY * donor.contrast * rng.uniform(0.93, 1.07)
    image = np.float32(background) + np.float32(contrast) * signal

    # uneven illumination: a linear ramp plus vignetting, at render resolution
    h, w = signal.shape
    ys = (np.arange(h, dtype=np.float32) - h / 2) / max(h, w)
    xs = (np.arange(w, dtype=np.float32) - w / 2) / max(h, w)
    extent = max(h, w) * render_step / 2592.0  # gradients scale with field of view
    ramp_y = np.float32(np.sin(donor.illumination_angle) * donor.illumination_gradient * extent) * ys
    ramp_x = np.float32(np.cos(donor.illumination_angle) * donor.illumination_gradient * extent) * xs
    vignette = np.float32(0.18 * donor.illumination_gradient * extent**2)
    illumination = (1.0 + ramp_y[:, None] + ramp_x[None, :]) - vignette * (
        ys[:, None] ** 2 + xs[None, :] ** 2
    ) * 4
    image *= illumination

    if render_step == 2:
        image = upsample2(image)
    elif render_step != 1:
        image = ndi.zoom(image, render_step, order=1)
    height, width = out_shape
    image = image[:height, :width]
    noise = rng.standard_normal((height, width), dtype=np.float32)
    noise *= np.float32(donor.noise_sigma)
    image += noise
    if rgb:
        tint = np.asarray(donor.tint, np.float32)
        image = image[..., None] * tint
    np.clip(image + np.float32(0.5), 0, 255, out=image)
    return image.astype(np.uint8)


def upsample_labels(labels: np.ndarray, render_step: int, out_shape) -> np.ndarray:
    """Nearest-neighbour upsampling of a render-resolution label image."""
    if render_step != 1:
        labels = np.repeat(np.repeat(labels, render_step, axis=0), render_step, axis=1)
    height, width = out_shape
    return np.ascontiguousarray(labels[:height, :width], dtype=np.int32)
