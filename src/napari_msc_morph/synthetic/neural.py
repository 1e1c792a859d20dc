"""Synthetic phase-contrast fields of neural stem cell fates: neurons, astrocytes, oligodendrocytes.

A field is dominated by one fate (85-100 % of cells), as in real differentiation cultures.
"""

from __future__ import annotations

import numpy as np

from . import _shapes
from ._common import BRIGHTFIELD_PIXEL_SIZE_UM, SyntheticField, check_choice, field_setup, mean_or_nan
from ._phase import render_phase
from ._population import scatter_centres

FATES = ("neuron", "astrocyte", "oligodendrocyte")
NSC_SIZE = (1024, 1024)
#: cells per mm² for each dominant fate (before the donor's density factor)
_DENSITY_PER_MM2 = {"neuron": 160.0, "astrocyte": 90.0, "oligodendrocyte": 130.0}


def _walk(rng, y0, x0, angle, length_px, wiggle=0.04, step=0.6):
    """A persistent random walk (a neurite), as dense points."""
    n = max(int(length_px / step), 2)
    # heading = a gentle drift plus small jitter: neurites curve, rarely loop
    drift = rng.normal(0, wiggle * 0.08) * np.arange(n) / n * 10
    angles = angle + np.cumsum(rng.normal(0, wiggle, n)) * 0.6 + drift
    ys = y0 + np.cumsum(np.sin(angles) * step)
    xs = x0 + np.cumsum(np.cos(angles) * step)
    return ys, xs, angles


def _soma(canvas, rng, cy, cx, radius, label, height, bright):
    lut = _shapes.harmonic_lut(rng.normal(0, 0.05, 4), rng.uniform(0, 2 * np.pi, 4)) * np.float32(radius)
    patch = _shapes.star(cy, cx, lut, rng.uniform(0, np.pi), rng.uniform(1.0, 1.3))
    canvas.paint(patch, np.float32(height) * np.sqrt(patch.s), label)
    if bright:
        canvas.paint(patch, np.float32(bright) * patch.s**0.8, 0, target="bright")
    return patch.s.size


def _neuron(canvas, rng, cy, cx, label, um):
    area = _soma(canvas, rng, cy, cx, rng.uniform(6.0, 9.0) * um, label, 0.7, 1.6)
    lengths = []
    n_branch = 0
    for _ in range(int(rng.integers(2, 5))):
        angle = rng.uniform(0, 2 * np.pi)
        length = rng.uniform(50, 200) * um
        ys, xs, angles = _walk(rng, cy, cx, angle, length)
        width = np.linspace(2.2, 1.0, len(ys))
        canvas.splat_polyline(ys, xs, width, 0.45, label)
        lengths.append(length)
        # a few branches from the main neurite
        for _ in range(int(rng.poisson(0.8))):
            at = int(rng.integers(len(ys) // 4, len(ys)))
            side = rng.choice([-1.0, 1.0])
            b_len = rng.uniform(20, 80) * um
            by, bx, b_ang = _walk(rng, ys[at], xs[at], angles[at] + side * rng.uniform(0.4, 1.0), b_len)
            canvas.splat_polyline(by, bx, 1.0, 0.45, label)
            lengths.append(b_len)
            n_branch += 1
        # growth cone
        cone = _shapes.star(ys[-1], xs[-1], np.full(_shapes.LUT_SIZE, rng.uniform(1.5, 3.0) * um, np.float32),
                            angles[-1], 1.8)
        canvas.paint(cone, 0.35 * np.sqrt(cone.s), label)
    return area, float(np.sum(lengths)), n_branch


def _astrocyte(canvas, rng, cy, cx, label, um):
    k = int(rng.integers(4, 9))
    arm_angles = np.linspace(0, 2 * np.pi, k, endpoint=False) + rng.uniform(0, 2 * np.pi)
    arm_angles += rng.uniform(-0.25, 0.25, k)
    base = rng.uniform(9.0, 14.0) * um
    lut = _shapes.spikes_lut(base, arm_angles, rng.uniform(15, 45, k) * um, rng.uniform(0.25, 0.45, k), 2.0)
    patch = _shapes.star(cy, cx, lut)
    plateau = np.clip(patch.s * 6.0, 0, 1) ** 0.7
    nucleus = _shapes.ellipse_depth(patch, rng.uniform(6, 8) * um, rng.uniform(4.5, 6) * um)
    canvas.paint(patch, np.float32(0.35) * plateau + np.float32(0.3) * np.sqrt(nucleus), label)
    # a few fine filopodia at the arm tips
    tip_index = ((arm_angles % (2 * np.pi)) / (2 * np.pi) * _shapes.LUT_SIZE).astype(int) % _shapes.LUT_SIZE
    for angle, length in zip(arm_angles, lut[tip_index]):
        if rng.uniform() < 0.4:
            ys, xs, _ = _walk(rng, cy + length * np.sin(angle), cx + length * np.cos(angle), angle,
                              rng.uniform(5, 15) * um)
            canvas.splat_polyline(ys, xs, 1.0, 0.25, label)
    return patch.s.size, 0.0, 0


def _oligodendrocyte(canvas, rng, cy, cx, label, um):
    area = _soma(canvas, rng, cy, cx, rng.uniform(4.0, 6.0) * um, label, 0.6, 1.3)
    total = 0.0
    n_branch = 0
    stack = [(cy, cx, a, rng.uniform(12, 25) * um, 0) for a in
             np.linspace(0, 2 * np.pi, int(rng.integers(4, 8)), endpoint=False) + rng.uniform(0, 2 * np.pi)]
    all_y, all_x, all_w, all_v = [], [], [], []
    while stack:
        y0, x0, angle, length, depth = stack.pop()
        ys, xs, angles = _walk(rng, y0, x0, angle, length, wiggle=0.09)
        all_y.append(ys)
        all_x.append(xs)
        all_w.append(np.full(len(ys), 1.3 if depth == 0 else 1.0))
        all_v.append(np.full(len(ys), 0.4 - 0.07 * depth))
        total += length
        if depth < 3:
            for side in (-1.0, 1.0):
                if rng.uniform() < 0.85:
                    stack.append((ys[-1], xs[-1], angles[-1] + side * rng.uniform(0.3, 0.8),
                                  length * rng.uniform(0.55, 0.85), depth + 1))
                    n_branch += 1
    # one splat for the whole arbor
    canvas.splat_polyline(np.concatenate(all_y), np.concatenate(all_x), np.concatenate(all_w),
                          np.concatenate(all_v), label)
    return area, total, n_branch


_DRAW = {"neuron": _neuron, "astrocyte": _astrocyte, "oligodendrocyte": _oligodendrocyte}


def nsc_field(fate: str, donor=None, size=NSC_SIZE, rgb: bool = False, seed: int = 0) -> SyntheticField:
    """A phase-contrast field of neural stem cells differentiated to ``fate``.

    Parameters
    ----------
    fate : str
        ``"neuron"``, ``"astrocyte"`` or ``"oligodendrocyte"`` (:data:`FATES`).
    donor, size, rgb, seed
        As for :func:`~.brightfield.passage_field` (default size 1024x1024).

    Returns
    -------
    SyntheticField
        ``truth`` holds ``fate``, ``fate_fraction``, ``n_cells``, ``mean_cell_area_um2``,
        ``mean_neurite_length_um``, ``n_branch_points``.

    Examples
    --------
    >>> nsc_field("astrocyte", size=(256, 256)).truth["fate"]
    'astrocyte'
    """
    fate = check_choice(fate, "fate", FATES)
    donor, (height, width), rng = field_setup("nsc", donor, size, seed, fate)
    px_um = BRIGHTFIELD_PIXEL_SIZE_UM
    um = 1.0 / px_um
    canvas = _shapes.Canvas((height, width))
    area_mm2 = height * width * px_um**2 / 1e6
    margin = 60 * um
    region_mm2 = (height + 2 * margin) * (width + 2 * margin) * px_um**2 / 1e6
    n = max(int(rng.poisson(_DENSITY_PER_MM2[fate] * donor.density * region_mm2)), 1)
    centres = scatter_centres(rng, n, np.array([-margin, -margin]), np.array([height, width]) + margin)
    dominant = rng.uniform(0.85, 1.0)
    others = [f for f in FATES if f != fate]
    fates = np.where(rng.uniform(size=len(centres)) < dominant, fate,
                     np.array(others)[rng.integers(0, 2, len(centres))])
    # per cell: area (px), neurite length (px), branch points
    areas, lengths, branches = np.array([_DRAW[str(cell_fate)](canvas, rng, cy, cx, i + 1, um)
                                         for i, ((cy, cx), cell_fate) in enumerate(zip(centres, fates))]).T
    canvas.flush()
    # the field's cells: those with at least one visible pixel
    inside = np.bincount(canvas.owner.ravel(), minlength=len(centres) + 1)[1:] > 0
    image, labels = render_phase(canvas, donor, rng, (height, width), 1, 0.12, rgb)
    truth = {
        "kind": "nsc",
        "fate": fate,
        "fate_fraction": mean_or_nan(fates[inside] == fate),
        "n_cells": int(inside.sum()),
        "mean_cell_area_um2": mean_or_nan(areas[inside]) * px_um**2,
        "mean_neurite_length_um": mean_or_nan(lengths[inside]) * px_um,
        "n_branch_points": int(branches[inside].sum()),
        "field_area_mm2": area_mm2,
        "donor": donor.donor_id,
    }
    return SyntheticField(image=image, pixel_size_um=px_um, truth=truth, labels=labels)
