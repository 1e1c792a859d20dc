"""Feature families: each a short function from one label plane to named value arrays.

:data:`FEATURE_FAMILIES` runs in order (later families read earlier values, e.g.
``shape`` reads ``size``'s perimeter); each returns ``{feature: n values}`` keyed
as in :data:`~napari_msc_morph.morphology.columns.COLUMNS`, in pixel units.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..registry import Registry
from ._geometry import Geometry, compact_labels
from ._hull import hull_features
from ._order import (
    SegmentLayout,
    pixels_by_object,
    segment_layout,
    segment_order_stats,
    segment_sum_std,
)
from .edge import edge_weights_from_boxes

__all__ = ["FEATURE_FAMILIES", "Plane"]

FeatureFn = Callable[..., dict]


@dataclass
class Plane:
    """One 2D label plane, what the families share about it, and their ``values``."""

    ids: np.ndarray                 # label ids in ascending order
    compact: np.ndarray             # int32 image of 0..n
    nuclei: np.ndarray | None = None
    convex: bool = True
    values: dict = field(default_factory=dict)
    _geometry: Geometry | None = None
    _runs: tuple | None = None
    _by_object: np.ndarray | None = None
    _layout: SegmentLayout | None = None

    @property
    def n(self) -> int:
        return int(self.ids.size)

    @property
    def geometry(self) -> Geometry:
        if self._geometry is None:
            self._geometry = Geometry(self.compact, self.n)
        return self._geometry

    def release_geometry(self) -> None:
        """Free the run tables once the geometric families are done, keeping the runs
        grouped by object (small) for :meth:`pixels_by_object`."""
        if self._geometry is not None and self._runs is None:
            self._runs = self._geometry.object_runs()
        self._geometry = None

    def pixels_by_object(self) -> np.ndarray:
        """Flat indices of the foreground pixels grouped by object, shared by every channel."""
        if self._by_object is None:
            if self._runs is None:
                self._runs = self.geometry.object_runs()
            self._by_object = pixels_by_object(*self._runs)
        return self._by_object

    def segment_layout(self) -> SegmentLayout:
        """Where each object's pixels go for the per-object sorts (shared by channels)."""
        if self._layout is None:
            self._layout = segment_layout(self.values["area"])
        return self._layout


FEATURE_FAMILIES: Registry[FeatureFn] = Registry("feature family")


@FEATURE_FAMILIES.register("size", help="area, perimeter, equivalent diameter, centroid, "
                           "bounding box, edge-correction weight", input="labels")
def size_features(plane: Plane) -> dict:
    geometry = plane.geometry
    area, cy, cx, mu_yy, mu_xx, mu_yx = geometry.moments()
    plane.values["_moments"] = (mu_yy, mu_xx, mu_yx)
    bbox = np.column_stack(
        [geometry.row_min, geometry.col_min, geometry.row_max + 1, geometry.col_max + 1]
    ).astype(np.int64).reshape(plane.n, 4)
    return {
        "label": plane.ids,
        "area": area,
        "perimeter": geometry.perimeter(plane.compact),
        "equivalent_diameter": np.sqrt(4 * area / np.pi),
        "centroid_y": cy,
        "centroid_x": cx,
        "bbox_min_y_px": bbox[:, 0],
        "bbox_min_x_px": bbox[:, 1],
        "bbox_max_y_px": bbox[:, 2],
        "bbox_max_x_px": bbox[:, 3],
        "edge_weight": edge_weights_from_boxes(*bbox.T, plane.compact.shape),
    }


@FEATURE_FAMILIES.register("shape", help="inertia-tensor axes, aspect ratio, eccentricity, "
                           "orientation, extent, circularity, compactness", input="labels")
def shape_features(plane: Plane) -> dict:
    values = plane.values
    area, perimeter = values["area"], values["perimeter"]
    mu_yy, mu_xx, mu_yx = values["_moments"]
    # Inertia tensor as scikit-image: [[mu_xx, -mu_yx], [-mu_yx, mu_yy]] / area.
    a, b, c = mu_xx, -mu_yx, mu_yy
    half_trace = (a + c) / 2
    root = np.sqrt(((a - c) / 2) ** 2 + b**2)
    l1 = half_trace + root
    l2 = np.clip(half_trace - root, 0, None)
    major = 4 * np.sqrt(l1)
    minor = 4 * np.sqrt(l2)
    bbox_area = ((values["bbox_max_y_px"] - values["bbox_min_y_px"])
                 * (values["bbox_max_x_px"] - values["bbox_min_x_px"]))
    with np.errstate(divide="ignore", invalid="ignore"):
        eccentricity = np.where(
            l1 > 0, np.sqrt(np.clip(1 - l2 / np.where(l1 > 0, l1, 1), 0, 1)), 0.0
        )
        orientation = np.where(
            a - c == 0,
            np.where(b < 0, np.pi / 4, -np.pi / 4),
            0.5 * np.arctan2(-2 * b, c - a),
        )
        return {
            "major_axis": major,
            "minor_axis": minor,
            "aspect_ratio": np.where(minor > 0, major / np.where(minor > 0, minor, 1), np.nan),
            "eccentricity": eccentricity,
            "orientation_deg": np.degrees(orientation),
            "extent": area / np.maximum(bbox_area, 1),
            "circularity": np.where(perimeter > 0, 4 * np.pi * area / perimeter**2, np.nan),
            "compactness": 2 * np.pi * (mu_yy + mu_xx) / np.maximum(area, 1),
        }


@FEATURE_FAMILIES.register("convex", help="convex area, solidity, Feret diameters (the "
                           "slowest family; measure_cells(convex=False) skips it)",
                           input="labels")
def convex_features(plane: Plane) -> dict:
    if plane.convex and plane.n:
        convex_area, feret_max, feret_min = hull_features(
            plane.n, *plane.geometry.row_extremes()
        )
    else:
        convex_area = feret_max = feret_min = np.full(plane.n, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        solidity = plane.values["area"] / convex_area
    return {"convex_area": convex_area, "feret_max": feret_max, "feret_min": feret_min,
            "solidity": solidity}


@FEATURE_FAMILIES.register("intensity", help="per channel: mean, median, min, max, std, "
                           "integrated; with nuclei the nuclear and cytoplasmic means",
                           input="channel")
def intensity_features(plane: Plane, name: str, channel: np.ndarray) -> dict:
    area = plane.values["area"]
    values = channel.ravel()[plane.pixels_by_object()]   # native dtype, grouped by object
    sums, std = segment_sum_std(values, area)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = sums / area
    minimum, maximum, median = segment_order_stats(values, plane.segment_layout())
    out = {f"{name}_mean": mean, f"{name}_median": median, f"{name}_min": minimum,
           f"{name}_max": maximum, f"{name}_std": std, f"{name}_integrated": sums}
    if plane.nuclei is not None:
        out.update(_compartment_means(plane, name, values, sums))
    return out


def _compartment_means(plane: Plane, name: str, vals: np.ndarray, sums: np.ndarray) -> dict:
    """Means over the nuclear and the non-nuclear pixels of each object (``vals`` grouped
    by object)."""
    n, area = plane.n, plane.values["area"]
    in_nucleus = plane.nuclei.ravel()[plane.pixels_by_object()] > 0
    lab = np.repeat(np.arange(n), area)[in_nucleus]
    with np.errstate(divide="ignore", invalid="ignore"):
        nuc_area = np.bincount(lab, minlength=n)
        nuc_sum = np.bincount(lab, weights=vals[in_nucleus].astype(np.float64), minlength=n)
        cyto_sum = sums - nuc_sum
        cyto_area = area - nuc_area
        nuc_mean = np.where(nuc_area > 0, nuc_sum / nuc_area, np.nan)
        cyto_mean = np.where(cyto_area > 0, cyto_sum / cyto_area, np.nan)
        return {f"{name}_nuc_mean": nuc_mean, f"{name}_cyto_mean": cyto_mean,
                f"{name}_nuc_cyto_ratio": nuc_mean / cyto_mean}


@FEATURE_FAMILIES.register("linkage", help="nuclei per object: nucleus label, count, "
                           "summed nucleus area, N/C ratio", input="nuclei")
def linkage_features(plane: Plane) -> dict:
    """Assign each nucleus to the object holding most of its pixels."""
    n = plane.n
    flat = plane.compact.ravel()
    fg = np.flatnonzero(flat)
    lab = flat[fg]
    nuc_ids, nuc_compact = compact_labels(plane.nuclei)
    m = nuc_ids.size
    nucleus_label = np.zeros(n, dtype=np.int64)
    n_nuclei = np.zeros(n, dtype=np.int64)
    nucleus_area = np.zeros(n, dtype=np.int64)
    if m and n:
        nuc_area = np.bincount(nuc_compact.ravel(), minlength=m + 1)[1:]
        nuc_fg = nuc_compact.ravel()[fg]
        inside = nuc_fg > 0
        pair = lab[inside].astype(np.int64) * (m + 1) + nuc_fg[inside]
        keys, counts = np.unique(pair, return_counts=True)
        cell = keys // (m + 1)
        nuc = keys % (m + 1)
        # For every nucleus keep the pair with the largest overlap (ties: lowest cell id).
        order = np.lexsort((-cell, counts, nuc))
        last = np.r_[nuc[order][1:] != nuc[order][:-1], True]
        best = order[last]
        owner_cell = cell[best] - 1
        owner_nuc = nuc[best] - 1
        np.add.at(n_nuclei, owner_cell, 1)
        np.add.at(nucleus_area, owner_cell, nuc_area[owner_nuc])
        # Largest nucleus per object: sort by area, the last write wins.
        by_size = np.lexsort((owner_nuc, nuc_area[owner_nuc]))
        nucleus_label[owner_cell[by_size]] = nuc_ids[owner_nuc[by_size]].astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        nc_ratio = nucleus_area / plane.values["area"]
    return {"nucleus_label": nucleus_label, "n_nuclei": n_nuclei,
            "nucleus_area": nucleus_area, "nc_ratio": nc_ratio}
