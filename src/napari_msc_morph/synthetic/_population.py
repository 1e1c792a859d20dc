"""Drawing a population of MSCs (spindles, flattened polygons, mitotic cells) with per-cell truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import beta as beta_function

from . import _shapes
from ._common import mean_or_nan
from ._phase import smooth_noise_at


@dataclass
class Population:
    """Morphology of one culture (all sizes in µm / µm²)."""

    mean_area_um2: float
    area_log_sd: float = 0.3
    flat_fraction: float = 0.05  # large, flattened, polygonal cells
    spindle_aspect: float = 8.0  # length / width of spindles
    spindle_taper: float = 1.2  # > 1: thin tails and a thick middle
    flat_aspect: tuple[float, float] = (1.0, 1.8)
    coverage: float = 0.5  # summed cell area / field area
    alignment: float = 0.6  # 0: random orientations, 1: follow the orientation field
    orientation: str = "domains"  # "domains", "parallel" or "whorl"
    orientation_scale_um: float = 350.0
    round_fraction: float = 0.02  # mitotic, rounded-up cells
    granularity: float = 0.0  # perinuclear granules, stress fibres, big nuclei (senescence)
    processes: float = 0.8  # mean thin protrusions per spindle
    spindle_thickness: float = 1.0
    flat_thickness: float = 0.32
    cluster_centres: np.ndarray | None = None  # (k, 2) µm: cells crowd near these (nodules)
    cluster_fraction: float = 0.0


def _orientation_field(rng, pop: Population, shape, px_um):
    """A function (ys, xs) -> preferred angle in radians (render pixels)."""
    h, w = shape
    scale_px = pop.orientation_scale_um / px_um
    if pop.orientation == "parallel":
        theta0 = rng.uniform(0, np.pi)
        return lambda ys, xs: theta0 + 0.15 * smooth_noise_at(rng, shape, scale_px, ys, xs)
    if pop.orientation == "whorl":
        n_centres = max(1, int(round(h * w * px_um**2 / 1.2e6)))
        centres = rng.uniform([0, 0], [h, w], size=(n_centres, 2))
        spiral = rng.uniform(-0.5, 0.5, n_centres)

        def whorl(ys, xs):
            d2 = (ys[:, None] - centres[None, :, 0]) ** 2 + (xs[:, None] - centres[None, :, 1]) ** 2
            nearest = np.argmin(d2, axis=1)
            cy, cx = centres[nearest, 0], centres[nearest, 1]
            return np.arctan2(ys - cy, xs - cx) + np.pi / 2 + spiral[nearest]

        return whorl
    return lambda ys, xs: np.pi * smooth_noise_at(rng, shape, scale_px, ys, xs)


def scatter_centres(rng, n, lo, hi, clusters_um=None, cluster_fraction=0.0, px_um=1.0):
    """Jittered-grid centres (even but not regular), some crowded near ``clusters_um`` (µm)."""
    size = hi - lo
    n_cluster = 0
    if clusters_um is not None and len(clusters_um):
        n_cluster = int(round(cluster_fraction * n))
    n_grid = max(n - n_cluster, 0)
    spacing = np.sqrt(size[0] * size[1] / max(n_grid, 1))
    ny = max(int(np.ceil(size[0] / spacing)), 1)
    nx = max(int(np.ceil(size[1] / spacing)), 1)
    gy, gx = np.meshgrid((np.arange(ny) + 0.5) * size[0] / ny, (np.arange(nx) + 0.5) * size[1] / nx,
                         indexing="ij")
    grid = np.stack([gy.ravel(), gx.ravel()], axis=1)
    pick = rng.permutation(len(grid))[: min(n_grid, len(grid))]
    points = grid[pick] + lo + rng.uniform(-0.6, 0.6, (len(pick), 2)) * spacing
    if n_cluster:
        which = rng.integers(0, len(clusters_um), n_cluster)
        spread = rng.normal(0, 1, (n_cluster, 2)) * (120.0 / px_um)
        points = np.vstack([points, clusters_um[which] / px_um + spread])
    return points


def _protrusion(canvas, label, sy, sx, angle, length, half_width, thickness, bend=0.0, taper=1.0):
    """A thin process of ``length`` leaving ``(sy, sx)`` along ``angle``."""
    proc = _shapes.spindle(sy + 0.5 * length * np.sin(angle), sx + 0.5 * length * np.cos(angle),
                           length / 2, length / 2, half_width, angle, bend=bend, taper=taper)
    canvas.paint(proc, np.float32(thickness) * np.sqrt(proc.s), label)


def draw_population(canvas: _shapes.Canvas, rng: np.random.Generator, pop: Population, px_um: float) -> dict:
    """Place and paint the cells of ``pop`` (``px_um`` per canvas pixel); return truth for the cells seen."""
    h, w = canvas.shape
    px2 = px_um * px_um
    mean_area_px = pop.mean_area_um2 / px2
    margin = int(np.sqrt(mean_area_px) * 1.5)
    lo = np.array([-margin, -margin], float)
    hi = np.array([h + margin, w + margin], float)
    region = (hi[0] - lo[0]) * (hi[1] - lo[1])
    n = max(int(rng.poisson(max(pop.coverage * region / mean_area_px, 1.0))), 1)
    centres = scatter_centres(rng, n, lo, hi, pop.cluster_centres, pop.cluster_fraction, px_um)
    n = len(centres)
    orient = _orientation_field(rng, pop, (h, w), px_um)
    field_angle = orient(centres[:, 0], centres[:, 1])
    disorder = (1.0 - pop.alignment) * rng.uniform(-np.pi / 2, np.pi / 2, n)
    angles = field_angle + disorder + rng.normal(0, 0.08, n)
    areas = mean_area_px * np.exp(rng.normal(-0.5 * pop.area_log_sd**2, pop.area_log_sd, n))
    kind_draw = rng.uniform(size=n)
    is_flat = kind_draw < pop.flat_fraction
    is_round = (~is_flat) & (kind_draw > 1.0 - pop.round_fraction)
    true_area = np.zeros(n)
    aspect = np.zeros(n)
    um = 1.0 / px_um  # render pixels per µm
    b_q = 0.5 * float(beta_function(0.5, pop.spindle_taper + 1.0))  # ∫_0^1 (1 - x²)^q dx

    for i in range(n):
        cy, cx = centres[i]
        label = i + 1
        angle = angles[i]
        g = pop.granularity
        if is_round[i]:
            radius = rng.uniform(7.0, 10.0) * um
            patch = _shapes.star(cy, cx, np.full(_shapes.LUT_SIZE, radius, np.float32))
            canvas.paint(patch, 0.45 * np.sqrt(patch.s), label)
            canvas.paint(patch, 2.2 * patch.s**0.7, 0, target="bright")
            true_area[i] = np.count_nonzero(patch.s)
            aspect[i] = 1.0
            continue
        if is_flat[i]:
            k = int(rng.integers(4, 9))
            vertex_angles = np.linspace(0, 2 * np.pi, k, endpoint=False) + rng.uniform(0, 2 * np.pi)
            vertex_angles += rng.uniform(-0.3, 0.3, k) * (2 * np.pi / k)
            radii = rng.uniform(0.65, 1.35, k)
            lut = _shapes.polygon_lut(vertex_angles, radii)
            lut *= _shapes.harmonic_lut(rng.normal(0, 0.04, 6), rng.uniform(0, 2 * np.pi, 6))
            lut *= np.float32(np.sqrt(areas[i] / _shapes.lut_area(lut)))
            cell_aspect = rng.uniform(*pop.flat_aspect)
            patch = _shapes.star(cy, cx, lut, angle, cell_aspect)
            plateau = np.clip(patch.s * 5.0, 0.0, 1.0) ** 0.7
            fibre_period = rng.uniform(4.5, 7.0) * um
            fibres = 1.0 + (0.02 + 0.05 * g) * np.sin(patch.v * np.float32(2 * np.pi / fibre_period))
            thick = np.float32(pop.flat_thickness) * plateau * fibres.astype(np.float32)
            nuc_a = rng.uniform(8.0, 11.0) * (1.0 + 0.35 * g) * um
            nuc_b = nuc_a * rng.uniform(0.6, 0.85)
            nuc_du = rng.normal(0, 0.1) * np.sqrt(areas[i]) * 0.3
            nuc_dv = rng.normal(0, 0.1) * np.sqrt(areas[i]) * 0.3
            n_height = 0.30
            aspect[i] = cell_aspect * float(radii.max() / radii.min()) ** 0.5
        else:
            ratio = pop.spindle_aspect * np.exp(rng.normal(0, 0.2))
            half_len = np.sqrt(areas[i] * ratio / (4.0 * b_q))
            half_wid = half_len / ratio
            front = half_len * rng.uniform(0.8, 1.2)
            back = 2 * half_len - front
            patch = _shapes.spindle(
                cy, cx, front, back, half_wid, angle, bend=rng.normal(0, 0.1), taper=pop.spindle_taper
            )
            thick = np.float32(pop.spindle_thickness) * np.sqrt(patch.s) * (0.3 + 0.7 * patch.axial)
            nuc_a = min(0.3 * half_len, rng.uniform(8.0, 10.0) * um)
            nuc_b = min(0.8 * half_wid, rng.uniform(4.0, 5.5) * um)
            nuc_du = rng.normal(0, 0.08) * half_len
            nuc_dv = 0.0
            n_height = 0.25
            aspect[i] = ratio
        true_area[i] = np.count_nonzero(patch.s)
        nucleus = _shapes.ellipse_depth(patch, nuc_a, nuc_b, nuc_du, nuc_dv)
        thick = thick + np.float32(n_height) * np.sqrt(nucleus)
        canvas.paint(patch, thick, label)

        def to_canvas(u, v, cy=cy, cx=cx, angle=angle):
            return _shapes.to_canvas(u, v, cy, cx, angle)

        # nucleoli: a few dense dots inside the nucleus
        k_nucleoli = int(rng.integers(1, 4 + int(2 * g)))
        r = np.sqrt(rng.uniform(0, 0.35, k_nucleoli))
        phi = rng.uniform(0, 2 * np.pi, k_nucleoli)
        ny_, nx_ = to_canvas(nuc_du + r * np.cos(phi) * nuc_a, nuc_dv + r * np.sin(phi) * nuc_b)
        canvas.add_points(ny_, nx_, 0.7)
        # perinuclear granules (senescence)
        n_granules = int(rng.poisson(g * 2.5 * np.sqrt(true_area[i])))
        if n_granules:
            r = 1.1 + rng.exponential(0.7, n_granules)
            phi = rng.uniform(0, 2 * np.pi, n_granules)
            gy, gx = to_canvas(nuc_du + r * np.cos(phi) * nuc_a, nuc_dv + r * np.sin(phi) * nuc_b)
            canvas.add_points(gy, gx, rng.uniform(0.04, 0.14, n_granules))
        # thin protrusions
        if not is_flat[i]:
            n_proc = int(rng.poisson(pop.processes))
            for _ in range(n_proc):
                end = rng.choice([-1.0, 1.0])
                start_u = end * rng.uniform(0.2, 0.6) * half_len
                proc_angle = angle + (0.0 if end > 0 else np.pi) + rng.normal(0, 0.6)
                length = rng.uniform(15, 45) * um
                _protrusion(canvas, label, *to_canvas(start_u, 0.0), proc_angle, length,
                            rng.uniform(0.6, 1.0), 0.5 * pop.spindle_thickness,
                            bend=rng.normal(0, 0.15), taper=0.6)
        else:
            n_proc = int(rng.poisson(pop.processes * 0.5))
            for _ in range(n_proc):
                proc_angle = rng.uniform(0, 2 * np.pi)
                reach = np.sqrt(areas[i] / np.pi)
                length = rng.uniform(10, 30) * um
                _protrusion(canvas, label, cy + 0.8 * reach * np.sin(proc_angle),
                            cx + 0.8 * reach * np.cos(proc_angle), proc_angle, length,
                            rng.uniform(0.6, 1.2), pop.flat_thickness, taper=0.7)

    canvas.flush()
    # the field's cells: those with at least one visible pixel
    inside = np.bincount(canvas.owner.ravel(), minlength=n + 1)[1:] > 0
    return {
        "n_cells": int(inside.sum()),
        "mean_cell_area_um2": mean_or_nan(true_area[inside] * px2),
        "flat_fraction": mean_or_nan(is_flat[inside]),
        "mean_aspect_ratio": mean_or_nan(aspect[inside]),
    }
