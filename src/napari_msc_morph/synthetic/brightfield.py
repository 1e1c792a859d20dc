"""Synthetic bright-field / phase-contrast MSC fields of known passage, osteogenic day or source.

Fields are rendered at 1.3 µm (a 10x phase objective's resolution) and upsampled, so a
full 2592x1944 field costs under a second.
"""

from __future__ import annotations

import numpy as np

from ..errors import BadInputError
from . import _shapes
from ._common import (
    BRIGHTFIELD_PIXEL_SIZE_UM,
    BRIGHTFIELD_SIZE,
    SyntheticField,
    check_choice,
    check_donor,
    field_setup,
)
from ._phase import render_phase, smooth_noise
from ._population import Population, draw_population

PASSAGES = tuple(range(1, 11))
OSTEO_DAYS = (0, 1, 3, 5, 7, 14, 21)
SOURCES = ("umbilical_cord", "bone_marrow")

RENDER_STEP = 2


def _canvas(size):
    height, width = size
    return _shapes.Canvas((-(-height // RENDER_STEP), -(-width // RENDER_STEP)))


def _population_field(canvas, rng, pop, donor, size, rgb, head: dict, absorption=None) -> SyntheticField:
    """Draw ``pop`` on ``canvas`` and render it; ``head`` leads the truth."""
    truth = draw_population(canvas, rng, pop, BRIGHTFIELD_PIXEL_SIZE_UM * RENDER_STEP)
    image, labels = render_phase(canvas, donor, rng, size, RENDER_STEP, 0.1, rgb, absorption)
    truth = {**head, **truth, "donor": donor.donor_id}
    return SyntheticField(image=image, pixel_size_um=BRIGHTFIELD_PIXEL_SIZE_UM, truth=truth, labels=labels)


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


def passage_field(
    passage: int, donor=None, size=BRIGHTFIELD_SIZE, rgb: bool = False, seed: int = 0
) -> SyntheticField:
    """A phase-contrast field of MSCs at culture passage ``passage`` (1–10).

    Parameters
    ----------
    passage : int
        Passage number, 1–10 (:data:`PASSAGES`).
    donor : DonorStyle, optional
        Donor and session style (:func:`make_donor`); ``None`` for a neutral one.
    size : (int, int)
        ``(height, width)`` in pixels at 0.65 µm; default 1944x2592.
    rgb : bool
        Return an ``(H, W, 3)`` colour image instead of grayscale.
    seed : int
        Random seed; the same arguments give identical bytes.

    Returns
    -------
    SyntheticField
        ``truth`` holds ``passage``, ``n_cells``, ``mean_cell_area_um2``, ``flat_fraction``,
        ``mean_aspect_ratio``, ``donor``.

    Examples
    --------
    >>> f = passage_field(3, size=(256, 256), seed=0)
    >>> f.image.shape, f.image.dtype, f.pixel_size_um
    ((256, 256), dtype('uint8'), 0.65)
    """
    passage = check_choice(passage, "passage", PASSAGES)
    donor, size, rng = field_setup("passage", donor, size, seed, passage)
    return _population_field(_canvas(size), rng, passage_population(passage, donor), donor, size, rgb,
                             {"kind": "passage", "passage": passage})


# --- osteogenic induction ----------------------------------------------------


def osteo_differentiation(day: float, induced: bool, donor=None) -> float:
    """Ground-truth osteogenic differentiation (0–1) on ``day``: spreading to day 7, mineral to day 21."""
    donor = check_donor(donor)
    day = float(day)
    if day < 0:
        raise BadInputError(f"day must be >= 0, got {day}")
    if not induced:
        return 0.01 * min(day / 21.0, 1.0)
    early = 0.45 * min(day / 7.0, 1.0)
    late = 0.55 * float(np.clip((day - 7.0) / 14.0, 0.0, 1.0))
    return float(donor.osteo_response * (early + late))


def osteo_field(
    day: int, induced: bool, donor=None, size=BRIGHTFIELD_SIZE, rgb: bool = False, seed: int = 0
) -> SyntheticField:
    """A phase-contrast field on ``day`` of osteogenic induction (or its control).

    Parameters
    ----------
    day : int
        Day of culture, one of :data:`OSTEO_DAYS`.
    induced : bool
        ``True`` for osteogenic medium, ``False`` for the growth-medium control.
    donor, size, rgb, seed
        As for :func:`passage_field`.

    Returns
    -------
    SyntheticField
        ``truth`` holds ``day``, ``induced``, ``condition``, ``differentiation``,
        ``mineral_area_fraction``, ``n_cells``, ``mean_cell_area_um2`` …

    Examples
    --------
    >>> f = osteo_field(14, induced=True, size=(256, 256))
    >>> 0 < f.truth["differentiation"] <= 1
    True
    """
    day = check_choice(day, "day", OSTEO_DAYS)
    if not isinstance(induced, (bool, np.bool_)):
        raise BadInputError(f"induced must be True or False, got {induced!r}")
    induced = bool(induced)
    donor, size, rng = field_setup("osteo", donor, size, seed, day, int(induced))
    d = osteo_differentiation(day, induced, donor)
    spread = float(np.clip(d / 0.4, 0.0, 1.0))  # cells spread and grow first ...
    mineral = float(np.clip((d - 0.45) / 0.5, 0.0, 1.0))  # ... then mineralise
    canvas = _canvas(size)
    render_px = BRIGHTFIELD_PIXEL_SIZE_UM * RENDER_STEP
    h, w = canvas.shape
    growth = min(day / 7.0, 1.0)  # both conditions proliferate towards confluence

    # mineralised nodules: dark, opaque, granular aggregates
    nodule_centres = np.zeros((0, 2))
    absorption = np.zeros(canvas.shape, np.float32)
    if mineral > 0:
        area_mm2 = h * w * render_px**2 / 1e6
        n_nodules = max(int(rng.poisson(mineral * 4.0 * area_mm2)), 1)
        nodule_centres = rng.uniform([0, 0], [h, w], size=(n_nodules, 2)) * render_px
        nodule_canvas = _shapes.Canvas(canvas.shape)
        for cy, cx in nodule_centres / render_px:
            radius = rng.uniform(35, 120) * (0.5 + 0.5 * mineral) / render_px
            # an aggregate of overlapping lobes, denser in the middle
            for _ in range(int(rng.integers(3, 8))):
                lobe_r = radius * rng.uniform(0.35, 0.7)
                off = rng.normal(0, 0.35 * radius, 2)
                lut = _shapes.harmonic_lut(rng.normal(0, 0.05, 4), rng.uniform(0, 2 * np.pi, 4))
                patch = _shapes.star(cy + off[0], cx + off[1], lut * np.float32(lobe_r),
                                     rng.uniform(0, np.pi), rng.uniform(1.0, 1.5))
                nodule_canvas.paint(patch, np.float32(0.9) * np.clip(patch.s * 2.5, 0, 1))
            # scattered mineral crystals around the nodule
            n_dots = int(rng.poisson(radius * 8 * mineral))
            rr = radius * (0.5 + rng.exponential(0.6, n_dots))
            phi = rng.uniform(0, 2 * np.pi, n_dots)
            nodule_canvas.add_points(cy + rr * np.sin(phi), cx + rr * np.cos(phi),
                                     rng.uniform(0.4, 1.5, n_dots))
        nodule_canvas.flush()
        grain = 1.0 + 0.45 * smooth_noise(rng, canvas.shape, 2.5 / render_px)
        # opaque mineral saturates: dark, but not so dark that it swamps the cells' contrast
        absorption = np.float32(1.8) * np.tanh(nodule_canvas.thickness * np.clip(grain, 0.2, None))

    pop = Population(
        mean_area_um2=2200.0 * (1.0 + 1.4 * spread) * donor.cell_size_scale**2,
        area_log_sd=0.3 + 0.1 * spread,
        flat_fraction=0.08 + 0.6 * spread,
        spindle_aspect=(7.5 - 3.0 * spread) * donor.elongation,
        spindle_taper=1.2 - 0.4 * spread,
        coverage=float(np.clip((0.4 + 0.35 * growth + 0.1 * mineral) * donor.density, 0.15, 1.1)),
        alignment=0.7 - 0.35 * spread + 0.15 * growth,
        round_fraction=0.04 * (1.0 - spread),
        granularity=0.15 * spread + 0.35 * mineral,
        processes=0.6 + 0.8 * spread,
        cluster_centres=nodule_centres,
        cluster_fraction=0.3 * mineral,
    )
    head = {"kind": "osteo", "day": day, "induced": induced, "condition": "induced" if induced else "control",
            "differentiation": d, "mineral_area_fraction": float(np.mean(absorption > 0.5))}
    return _population_field(canvas, rng, pop, donor, size, rgb, head, absorption)


# --- tissue source -----------------------------------------------------------


def source_population(source: str, donor, rng) -> Population:
    if source == "umbilical_cord":
        return Population(
            mean_area_um2=1900.0 * donor.cell_size_scale**2,
            area_log_sd=0.25,
            flat_fraction=0.02,
            spindle_aspect=13.0 * donor.elongation,
            spindle_taper=1.0,
            coverage=float(np.clip(0.85 * donor.density, 0.6, 1.3)),
            alignment=0.95,
            orientation="parallel" if rng.uniform() < 0.5 else "whorl",
            round_fraction=0.01,
            granularity=0.05,
            processes=0.2,
        )
    return Population(
        mean_area_um2=2300.0 * donor.cell_size_scale**2,
        area_log_sd=0.3,
        flat_fraction=0.06,
        spindle_aspect=5.5 * donor.elongation,
        spindle_taper=2.2,
        spindle_thickness=1.25,
        coverage=float(np.clip(0.45 * donor.density, 0.2, 0.8)),
        alignment=0.35,
        round_fraction=0.02,
        granularity=0.1,
        processes=0.25,
    )


def source_field(
    source: str, donor=None, size=BRIGHTFIELD_SIZE, rgb: bool = False, seed: int = 0
) -> SyntheticField:
    """A phase-contrast field of umbilical-cord or bone-marrow MSCs.

    Parameters
    ----------
    source : str
        ``"umbilical_cord"`` or ``"bone_marrow"`` (:data:`SOURCES`).
    donor, size, rgb, seed
        As for :func:`passage_field`.

    Returns
    -------
    SyntheticField
        ``truth`` holds ``source``, ``arrangement``, ``n_cells``, ``mean_cell_area_um2`` …

    Examples
    --------
    >>> source_field("bone_marrow", size=(256, 256)).truth["source"]
    'bone_marrow'
    """
    source = check_choice(source, "source", SOURCES)
    donor, size, rng = field_setup("source", donor, size, seed, source)
    pop = source_population(source, donor, rng)
    return _population_field(_canvas(size), rng, pop, donor, size, rgb,
                             {"kind": "source", "source": source, "arrangement": pop.orientation})
