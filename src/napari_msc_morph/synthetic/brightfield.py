"""Synthetic bright-field / phase-contrast MSC fields with known class.

* :func:`passage_field` – culture passage P1–P10 (replicative senescence):
  slender spindle, fibroblast-like cells at early passage become large,
  flattened, polygonal, granular cells with big nuclei.
* :func:`osteo_field` – osteogenic induction time course: cells spread and
  grow during days 1–7, mineralised nodules appear on days 14–21.
* :func:`source_field` – umbilical cord (long, closely packed spindles in
  parallel arrays or whorls) vs bone marrow (slender cells with a thick
  middle and few protrusions).

All are rendered at half resolution (1.3 µm, about the optical resolution of
a 10x phase objective) and upsampled, so a full 2592x1944 field costs well
under a second on one core. Global brightness and contrast are normalised
per image and then set by the donor (see :mod:`._phase`), so only morphology
encodes the class.
"""

from __future__ import annotations

import numpy as np

from . import _shapes
from ._common import (
    BRIGHTFIELD_PIXEL_SIZE_UM,
    BRIGHTFIELD_SIZE,
    SyntheticField,
    check_donor,
    check_size,
    field_rng,
)
from ._phase import render_phase, smooth_noise, upsample_labels
from ._population import Population, draw_population

PASSAGES = tuple(range(1, 11))
OSTEO_DAYS = (0, 1, 3, 5, 7, 14, 21)
SOURCES = ("umbilical_cord", "bone_marrow")

RENDER_STEP = 2
HALO_SIGMA_UM = 3.0


def _render(canvas, donor, rng, size, rgb, mineral=None):
    height, width = size
    render_px = BRIGHTFIELD_PIXEL_SIZE_UM * RENDER_STEP
    # cytoplasmic texture: cells are not optically uniform
    texture = 1.0 + 0.18 * smooth_noise(rng, canvas.shape, 3.0 / render_px)
    canvas.thickness *= texture
    image = render_phase(
        canvas.thickness,
        donor,
        rng,
        (height, width),
        RENDER_STEP,
        HALO_SIGMA_UM / render_px,
        absorption=mineral,
        bright=canvas.bright,
        rgb=rgb,
    )
    labels = upsample_labels(canvas.owner, RENDER_STEP, (height, width))
    return image, labels


def _canvas(size):
    height, width = size
    return _shapes.Canvas((-(-height // RENDER_STEP), -(-width // RENDER_STEP)))


def passage_population(passage: int, donor) -> Population:
    """The culture morphology at a passage (1–10) for a donor."""
    t = (passage - 1) / 9.0
    return Population(
        mean_area_um2=1700.0 * np.exp(0.235 * (passage - 1)) * donor.cell_size_scale**2,
        area_log_sd=0.3 + 0.15 * t,
        flat_fraction=0.03 + 0.87 * t**1.2,
        spindle_aspect=(8.5 - 4.5 * t) * donor.elongation,
        spindle_taper=1.3 - 0.5 * t,
        coverage=float(np.clip(0.5 * donor.density * (1.0 - 0.25 * t), 0.15, 0.95)),
        alignment=0.75 - 0.5 * t,
        round_fraction=0.05 * (1.0 - t) ** 2,
        granularity=t**1.3,
        processes=0.6 + 1.4 * t,
    )


def passage_field(passage: int, donor=None, size=BRIGHTFIELD_SIZE, rgb: bool = False, seed: int = 0) -> SyntheticField:
    """A phase-contrast field of MSCs at culture passage ``passage`` (1–10).

    Parameters
    ----------
    passage : int
        Passage number, 1–10 (:data:`PASSAGES`).
    donor : DonorStyle, optional
        Donor and session style (:func:`make_donor`); ``None`` for a neutral one.
    size : (int, int)
        ``(height, width)`` in pixels; default 1944x2592. The pixel size is
        always 0.65 µm, so a smaller size is a smaller field of view.
    rgb : bool
        Return an ``(H, W, 3)`` colour image instead of grayscale.
    seed : int
        Random seed; the same arguments give identical bytes.

    Returns
    -------
    SyntheticField
        ``truth`` holds ``passage``, ``n_cells``, ``mean_cell_area_um2``,
        ``flat_fraction``, ``mean_aspect_ratio``, ``donor``.

    Examples
    --------
    >>> f = passage_field(3, size=(256, 256), seed=0)
    >>> f.image.shape, f.image.dtype, f.pixel_size_um
    ((256, 256), dtype('uint8'), 0.65)
    """
    passage = _check_int(passage, "passage", PASSAGES)
    donor = check_donor(donor)
    size = check_size(size)
    rng = field_rng("passage", donor, seed, passage)
    canvas = _canvas(size)
    truth = draw_population(canvas, rng, passage_population(passage, donor), BRIGHTFIELD_PIXEL_SIZE_UM * RENDER_STEP)
    image, labels = _render(canvas, donor, rng, size, rgb)
    truth = {"kind": "passage", "passage": passage, **truth, "donor": donor.donor_id}
    return SyntheticField(image=image, pixel_size_um=BRIGHTFIELD_PIXEL_SIZE_UM, truth=truth, labels=labels)


def _check_int(value, name, allowed):
    try:
        as_int = int(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}") from err
    if as_int != value or as_int not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return as_int
