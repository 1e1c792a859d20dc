"""Synthetic immunofluorescence fields with exact per-cell ground truth.

The truth table is computed from the final label images, so areas match
``np.bincount`` exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import ndimage as ndi

from ..errors import BadInputError
from . import _shapes
from ._common import _name_key, check_size

#: channel -> (napari colormap, the label image its level is added in)
_CHANNEL_SPECS = {
    "DAPI": ("blue", "nucleus"),
    "actin": ("magenta", "cell"),
    "RUNX2": ("green", "nucleus"),
    "OSX": ("yellow", "nucleus"),
    "OCN": ("red", "cytoplasm"),
    "Ki67": ("cyan", "nucleus"),
}
IF_CHANNELS = tuple(_CHANNEL_SPECS)
#: napari colormap name for each channel.
IF_COLORMAPS = {name: colormap for name, (colormap, _) in _CHANNEL_SPECS.items()}
IF_PIXEL_SIZE_UM = 0.325


@dataclass
class IFField:
    """A multichannel immunofluorescence field with its ground truth."""

    channels: dict[str, np.ndarray]  #: ordered ``DAPI, actin, RUNX2, OSX, OCN, Ki67``; each (H, W) uint16
    nuclei: np.ndarray  #: ``(H, W)`` int32 nucleus labels; nucleus ``i`` belongs to cell ``i``
    cells: np.ndarray  #: ``(H, W)`` int32 cell labels; each cell contains its whole nucleus
    truth: pd.DataFrame  #: one row per cell (see :func:`if_field`)
    pixel_size_um: float = IF_PIXEL_SIZE_UM
    channel_colormaps: dict[str, str] = field(default_factory=lambda: dict(IF_COLORMAPS))  #: napari names

    @property
    def channel_names(self) -> list[str]:
        return list(self.channels)

    def stack(self) -> np.ndarray:
        """The channels as one ``(C, H, W)`` uint16 array, in :attr:`channel_names` order."""
        return np.stack([self.channels[name] for name in self.channels], axis=0)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


#: closest allowed nucleus centres (px): nuclei keep semi-axes of at least ~2.3 px
_MIN_NUCLEUS_DISTANCE = 5.0


def _place_nuclei(rng, n, height, width, min_dist, margin):
    """Dart-throwing with a shrinking exclusion distance.

    Returns ``(n, 2)`` centres and the final distance.
    """
    centres = np.empty((0, 2))
    dist = float(min_dist)
    lo = np.array([margin, margin], float)
    hi = np.array([height - margin, width - margin], float)
    if np.any(hi <= lo):
        raise BadInputError(
            f"size {height}x{width} is too small for cells of this size; use a larger size or fewer cells"
        )
    for _ in range(60):
        candidates = rng.uniform(lo, hi, size=(max(8 * n, 64), 2))
        for point in candidates:
            if len(centres) >= n:
                break
            if len(centres) == 0 or np.min(np.sum((centres - point) ** 2, axis=1)) >= dist * dist:
                centres = np.vstack([centres, point])
        if len(centres) >= n:
            return centres, dist
        if dist <= _MIN_NUCLEUS_DISTANCE:
            break
        dist = max(dist * 0.9, _MIN_NUCLEUS_DISTANCE)
    raise BadInputError(
        f"could not place {n} non-overlapping nuclei in a {height}x{width} field; "
        "use a larger size or fewer cells"
    )


def _centred_texture(texture: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """Subtract each label's mean texture so a compartment's mean gain is exactly 1."""
    flat = labels.ravel()
    counts = np.bincount(flat, minlength=n + 1).astype(float)
    sums = np.bincount(flat, weights=texture.ravel().astype(float), minlength=n + 1)
    means = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    out = texture - means[labels].astype(np.float32)
    out[labels == 0] = 0
    return out


def _smooth_noise(rng, shape, sigma):
    noise = rng.standard_normal(shape, dtype=np.float32)
    noise = ndi.gaussian_filter(noise, sigma)
    return noise / (noise.std() + 1e-6)


def if_field(
    size=(512, 512),
    n_cells: int = 40,
    pixel_size_um: float = IF_PIXEL_SIZE_UM,
    differentiation: float = 0.5,
    seed: int = 0,
) -> IFField:
    """A synthetic immunofluorescence field of MSCs at a given osteogenic state.

    Parameters
    ----------
    size : (int, int)
        ``(height, width)`` in pixels.
    n_cells : int
        Number of cells (each with one nucleus, fully inside the field).
    pixel_size_um : float
        Pixel size in µm (the cells keep their size in *pixels*).
    differentiation : float
        Osteogenic state in ``[0, 1]``: larger cells, RUNX2 then OSX then OCN, fewer Ki67+.
    seed : int
        Random seed; the same arguments give identical arrays.

    Returns
    -------
    IFField
        ``truth`` has one row per cell: labels, areas, centroid, ``cell_differentiation``,
        ``<channel>_level`` (counts added before blur and noise) and ``Ki67_positive``.

    Examples
    --------
    >>> f = if_field(size=(256, 256), n_cells=12, seed=1)
    >>> f.channels["DAPI"].dtype, int(f.cells.max())
    (dtype('uint16'), 12)
    """
    height, width = check_size(size)
    n_cells = int(n_cells)
    if n_cells < 1:
        raise BadInputError(f"n_cells must be at least 1, got {n_cells}")
    if not np.isfinite(pixel_size_um) or pixel_size_um <= 0:
        raise BadInputError(f"pixel_size_um must be a positive number, got {pixel_size_um!r}")
    differentiation = float(differentiation)
    if not 0.0 <= differentiation <= 1.0:
        raise BadInputError(f"differentiation must be in [0, 1], got {differentiation}")
    d = differentiation
    rng = np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, _name_key("if")]))

    # --- geometry -----------------------------------------------------------
    coverage = 0.40 + 0.35 * d
    mean_cell_area = coverage * height * width / n_cells
    cell_radius = np.sqrt(mean_cell_area / np.pi)
    nucleus_radius = max(0.36 * cell_radius * (1.0 - 0.15 * d), 3.0)
    centres, dist = _place_nuclei(
        rng, n_cells, height, width, min_dist=1.25 * cell_radius, margin=1.4 * nucleus_radius + 2
    )
    # nuclei never overlap: each fits inside a disc of radius < dist / 2
    max_axis = min(0.47 * dist, 1.5 * nucleus_radius)
    cell_angle = rng.uniform(0, np.pi, n_cells)
    nuc_a = np.minimum(nucleus_radius * rng.uniform(1.0, 1.35, n_cells), max_axis)
    nuc_b = nuc_a * rng.uniform(0.6, 0.9, n_cells)
    cell_scale = np.exp(rng.normal(0.0, 0.22, n_cells)) * (1.0 + 0.25 * d)
    cell_aspect = rng.uniform(1.1, 2.4 - 0.8 * d, n_cells)
    harmonics = rng.normal(0, 0.09, (n_cells, 5))
    phases = rng.uniform(0, 2 * np.pi, (n_cells, 5))
    offset = rng.normal(0, 0.15 * cell_radius, (n_cells, 2))

    nuclei = np.zeros((height, width), np.int32)
    canvas = _shapes.Canvas((height, width))
    for i in range(n_cells):
        label = i + 1
        cy, cx = centres[i]
        lut = _shapes.harmonic_lut(harmonics[i], phases[i])
        lut *= np.float32(cell_radius * cell_scale[i] / np.sqrt(_shapes.lut_area(lut) / np.pi))
        patch = _shapes.star(cy + offset[i, 0], cx + offset[i, 1], lut, cell_angle[i], cell_aspect[i])
        canvas.paint(patch, 0.0, label)
        # radius sqrt(ab) stretched by a/b gives semi-axes a (along the cell) and b
        radius = np.full(_shapes.LUT_SIZE, np.sqrt(nuc_a[i] * nuc_b[i]), np.float32)
        npatch = _shapes.star(cy, cx, radius, cell_angle[i], nuc_a[i] / nuc_b[i])
        nuclei[npatch.rr, npatch.cc] = label  # centres keep nuclei inside the field
    cells = canvas.owner
    # every nucleus lies in its own cell, and each cell is one piece
    has_nucleus = nuclei > 0
    cells[has_nucleus] = nuclei[has_nucleus]
    cells = _keep_nucleus_component(cells, nuclei, n_cells)

    # --- truth geometry from the final label images ---------------------------
    area_px = np.bincount(cells.ravel(), minlength=n_cells + 1)[1:]
    nucleus_area_px = np.bincount(nuclei.ravel(), minlength=n_cells + 1)[1:]
    yy, xx = np.indices((height, width), dtype=np.float64)
    cy_sum = np.bincount(cells.ravel(), weights=yy.ravel(), minlength=n_cells + 1)[1:]
    cx_sum = np.bincount(cells.ravel(), weights=xx.ravel(), minlength=n_cells + 1)[1:]

    # --- marker levels --------------------------------------------------------
    cell_d = np.clip(d + rng.normal(0, 0.12, n_cells), 0.0, 1.0)
    levels = {
        "DAPI": rng.uniform(1800, 3200, n_cells),
        "actin": rng.uniform(500, 1100, n_cells) * (1.0 + 0.3 * cell_d),
        "RUNX2": 120 + 1700 * _sigmoid((cell_d - 0.15) / 0.07) * rng.uniform(0.7, 1.3, n_cells),
        "OSX": 80 + 1500 * _sigmoid((cell_d - 0.40) / 0.07) * rng.uniform(0.7, 1.3, n_cells),
        "OCN": 60 + 1600 * _sigmoid((cell_d - 0.65) / 0.07) * rng.uniform(0.7, 1.3, n_cells),
    }
    ki67_fraction = float(np.clip(0.55 - 0.45 * d, 0.05, 0.95))
    ki67_positive = np.zeros(n_cells, bool)
    if n_cells >= 2:
        n_pos = int(np.clip(round(ki67_fraction * n_cells), 1, n_cells - 1))
    else:
        n_pos = int(rng.uniform() < ki67_fraction)
    ki67_positive[rng.permutation(n_cells)[:n_pos]] = True
    levels["Ki67"] = np.where(ki67_positive, rng.uniform(1200, 2600, n_cells), 0.0)
    # proliferating nuclei carry more DNA on average (S/G2)
    levels["DAPI"] = levels["DAPI"] * np.where(ki67_positive, 1.15, 1.0)

    cytoplasm = np.where(nuclei > 0, 0, cells).astype(np.int32)
    compartments = {"nucleus": nuclei, "cell": cells, "cytoplasm": cytoplasm}

    # --- textures: zero mean per compartment, so the added mean is the level --
    chromatin = _smooth_noise(rng, (height, width), 1.2)
    speckles = _smooth_noise(rng, (height, width), 0.8)
    vesicles = _smooth_noise(rng, (height, width), 1.0)
    yy32 = yy.astype(np.float32)
    xx32 = xx.astype(np.float32)
    angle_map = np.concatenate([[0.0], cell_angle]).astype(np.float32)[cells]
    fibre_phase = np.concatenate([[0.0], rng.uniform(0, 2 * np.pi, n_cells)]).astype(np.float32)[cells]
    along = xx32 * np.cos(angle_map) + yy32 * np.sin(angle_map)
    fibres = np.sin(along * np.float32(2 * np.pi / 5.0) + fibre_phase)
    fibres *= np.clip(0.6 + 0.5 * _smooth_noise(rng, (height, width), 4.0), 0, 1.2)
    edge = (cells != ndi.grey_erosion(cells, size=3)).astype(np.float32)
    textures = {
        "DAPI": np.clip(0.8 * chromatin, -2, 2) * 0.25,
        "actin": np.clip(0.45 * fibres + 0.5 * edge, -1, 1.5) * 0.6,
        "RUNX2": np.clip(0.3 * speckles, -1, 1) * 0.3,
        "OSX": np.clip(0.3 * chromatin, -1, 1) * 0.3,
        "OCN": np.clip(np.maximum(vesicles, 0) * 0.8, 0, 2.0) * 0.4,
        "Ki67": np.clip(speckles, -1.5, 2.0) * 0.4,
    }

    coarse = _smooth_noise(rng, (max(height // 16, 2), max(width // 16, 2)), 1.5)
    background_gradient = ndi.zoom(coarse, (height / coarse.shape[0], width / coarse.shape[1]), order=1)
    background_gradient = background_gradient[:height, :width]
    channels: dict[str, np.ndarray] = {}
    for name in IF_CHANNELS:
        lab = compartments[_CHANNEL_SPECS[name][1]]
        level_map = np.concatenate([[0.0], levels[name]]).astype(np.float32)[lab]
        gain = 1.0 + _centred_texture(textures[name], lab, n_cells)
        signal = level_map * gain
        offset_level = rng.uniform(90, 140)
        signal = signal + np.float32(offset_level) + np.float32(12) * background_gradient
        signal = ndi.gaussian_filter(signal, 1.0)
        noise_sd = np.sqrt(np.maximum(signal, 0) * 1.5) + 6.0
        signal = signal + noise_sd * rng.standard_normal((height, width), dtype=np.float32)
        channels[name] = np.clip(np.rint(signal), 0, 65535).astype(np.uint16)

    px2_to_um2 = float(pixel_size_um) ** 2
    truth = pd.DataFrame(
        {
            "label": np.arange(1, n_cells + 1, dtype=np.int32),
            "nucleus_label": np.arange(1, n_cells + 1, dtype=np.int32),
            "area_px": area_px.astype(np.int64),
            "area_um2": area_px * px2_to_um2,
            "nucleus_area_px": nucleus_area_px.astype(np.int64),
            "nucleus_area_um2": nucleus_area_px * px2_to_um2,
            "centroid_y_px": cy_sum / np.maximum(area_px, 1),
            "centroid_x_px": cx_sum / np.maximum(area_px, 1),
            "cell_differentiation": cell_d,
        }
    )
    for name in IF_CHANNELS:
        truth[f"{name}_level"] = levels[name]
    truth["Ki67_positive"] = ki67_positive
    return IFField(channels, nuclei, cells, truth, float(pixel_size_um))


def _keep_nucleus_component(cells, nuclei, n):
    """Drop pieces of a cell cut off from its nucleus by a neighbour."""
    out = cells.copy()
    for label, sl in enumerate(ndi.find_objects(cells, max_label=n), start=1):
        if sl is None:
            continue
        mask = cells[sl] == label
        pieces, count = ndi.label(mask)
        if count <= 1:
            continue
        owners = pieces[(nuclei[sl] == label) & mask]
        keep = np.bincount(owners).argmax() if owners.size else 0
        drop = mask & (pieces != keep)
        out[sl][drop] = 0
    return out
