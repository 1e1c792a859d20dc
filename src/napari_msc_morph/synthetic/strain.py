"""Synthetic MSC strains for strain identification (the passage study's third model).

A strain keeps its own morphology at every passage; the microscope session is drawn per
image, so only morphology tells strains apart.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ._common import DonorStyle, SyntheticField, check_choice, field_rng, field_setup, make_donor
from ._population import Population
from .brightfield import PASSAGES, _canvas, _population_field, passage_population

__all__ = ["make_strain", "strain_field", "strain_population"]

_ORIENTATIONS = ("domains", "parallel", "whorl")


def make_strain(strain_id: str | int, seed: int = 0) -> DonorStyle:
    """A strain's style: ``make_donor``'s multipliers; an integer ``n`` becomes ``"S{n}"``."""
    return make_donor(strain_id, seed=seed, prefix="S")


def strain_population(passage: int, strain: DonorStyle) -> Population:
    """The culture morphology of ``strain`` at ``passage``: the passage's, with the strain's traits."""
    traits = field_rng("strain-traits", strain, strain.seed)
    pop = passage_population(passage, strain)
    return replace(
        pop,
        # strains of one tissue differ by tens of percent in spread area and density
        mean_area_um2=pop.mean_area_um2 * float(traits.uniform(0.5, 2.0)),
        coverage=float(np.clip(pop.coverage * traits.uniform(0.6, 1.5), 0.15, 0.95)),
        spindle_aspect=pop.spindle_aspect * float(traits.uniform(0.7, 1.4)),
        orientation=_ORIENTATIONS[int(traits.integers(len(_ORIENTATIONS)))],
        alignment=float(np.clip(pop.alignment + traits.uniform(-0.3, 0.3), 0.05, 0.95)),
        processes=pop.processes * float(traits.uniform(0.5, 1.6)),
        spindle_taper=pop.spindle_taper * float(traits.uniform(0.8, 1.25)),
        orientation_scale_um=float(traits.uniform(200.0, 500.0)),
    )


def strain_field(passage: int, strain=None, size=(1944, 2592), rgb: bool = False,
                 seed: int = 0) -> SyntheticField:
    """A phase-contrast field of ``strain`` (:func:`make_strain`) at culture passage ``passage`` (1–10).

    ``size``, ``rgb`` and ``seed`` are as for :func:`~.brightfield.passage_field`; ``truth``
    holds ``strain``, ``passage``, ``n_cells``, ``mean_cell_area_um2`` …
    """
    passage = check_choice(passage, "passage", PASSAGES)
    strain, size, rng = field_setup("strain", strain, size, seed, passage)
    session = replace(  # this image's microscope session, independent of the strain
        strain,
        background=float(rng.uniform(95.0, 165.0)),
        contrast=float(rng.uniform(0.6, 1.4)),
        noise_sigma=float(rng.uniform(2.0, 7.0)),
        illumination_gradient=float(rng.uniform(0.0, 0.35)),
        illumination_angle=float(rng.uniform(0, 2 * np.pi)),
        halo_strength=float(rng.uniform(0.7, 1.3)),
    )
    return _population_field(_canvas(size), rng, strain_population(passage, strain), session,
                             size, rgb, {"kind": "strain", "strain": strain.donor_id,
                                         "passage": passage})
