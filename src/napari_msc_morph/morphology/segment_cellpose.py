"""Nuclei and whole cells with cellpose (Stringer et al. 2021; Pachitariu et al. 2025).

The model follows the installed version (Cellpose-SAM in 4, ``nuclei``/``cyto3``
in 3); cells are paired one-to-one with the nuclei so cell ``k`` holds nucleus
``k``. Weights are never shipped: cellpose downloads them on first use
(docs/morphometry.md, "Cellpose: when to prefer it").
"""

from __future__ import annotations

import inspect
from functools import lru_cache

import numpy as np

from ..errors import BadInputError, MissingDependencyError

__all__ = [
    "cellpose_cells",
    "cellpose_device",
    "cellpose_model",
    "cellpose_nuclei",
    "cellpose_version",
    "match_cells_to_nuclei",
    "model_name",
    "typical_cell_diameter",
]


def _cellpose_models():
    try:
        from cellpose import models
    except ImportError:
        raise MissingDependencyError("cellpose", "cellpose", purpose="backend='cellpose'") \
            from None
    return models


def cellpose_version() -> int:
    """Major version of the installed cellpose (3 or 4, ...)."""
    from importlib.metadata import version

    _cellpose_models()
    return int(version("cellpose").split(".")[0])


def model_name(kind: str) -> str:
    """The cellpose model for ``kind`` (``"nuclei"`` or ``"cells"``) in this version."""
    if cellpose_version() >= 4:
        models = _cellpose_models()
        return inspect.signature(models.CellposeModel).parameters["pretrained_model"].default
    return {"nuclei": "nuclei", "cells": "cyto3"}[kind]


def cellpose_device(device: str = "auto") -> str:
    """The torch device string for a :data:`~napari_msc_morph.models.backbones.DEVICES`
    name; BadInputError naming the available ones when it is not available here."""
    from ..models.backbones import DEVICES, resolve_device

    try:
        return resolve_device(device)
    except BadInputError:
        available = [name for name in DEVICES
                     if name == "auto" or DEVICES.get(name)(name) is not None]
        raise BadInputError(
            f"device {device!r} is not available on this machine for cellpose; available here: "
            f"{', '.join(available)} (--device, or the Segment dock's Device)."
        ) from None


@lru_cache(maxsize=4)
def cellpose_model(kind: str, device: str = "auto"):
    """A loaded ``cellpose.models.CellposeModel`` for ``kind`` on ``device`` (a
    :data:`~napari_msc_morph.models.backbones.DEVICES` name), kept for the next field."""
    import torch

    models = _cellpose_models()
    name = model_name(kind)
    where = torch.device(cellpose_device(device))
    on_gpu = where.type != "cpu"
    try:
        if cellpose_version() >= 4:
            return models.CellposeModel(gpu=on_gpu, device=where, pretrained_model=name)
        return models.CellposeModel(gpu=on_gpu, device=where, model_type=name)
    except (OSError, RuntimeError) as err:  # urllib's URLError is an OSError
        raise BadInputError(
            f"cellpose could not load its {name!r} weights ({err}). Cellpose downloads them "
            f"once, on first use, into {models.MODEL_DIR}: run once with internet access, or "
            f"copy the file {name!r} into that folder (or set CELLPOSE_LOCAL_MODELS_PATH to a "
            "folder holding it); or use backend 'classic', which needs no weights."
        ) from None


def _masks(model, image: np.ndarray, diameter: float, two_channel: bool) -> np.ndarray:
    options = {"diameter": float(diameter)}
    if two_channel:
        options["channel_axis"] = -1
        if cellpose_version() < 4:  # Cellpose 3: cytoplasm is channel 1, nuclei channel 2
            options["channels"] = [1, 2]
    elif cellpose_version() < 4:
        options["channels"] = [0, 0]
    return np.asarray(model.eval(image, **options)[0]).astype(np.int64)


def cellpose_nuclei(image: np.ndarray, low: float, high: float, *, typical: float,
                    device: str = "auto", **_classic) -> np.ndarray:
    """Nuclei by cellpose at the typical diameter on ``device`` (the classic options do
    not apply)."""
    return _masks(cellpose_model("nuclei", device), image, typical, two_channel=False)


def typical_cell_diameter(cytoplasm: np.ndarray, nuclei_labels: np.ndarray,
                          typical_nucleus: float) -> float:
    """Diameter of a disc with the stained cytoplasm area shared equally among the
    nuclei (Li's threshold, as the classic cells), never below the nucleus."""
    from skimage.filters import gaussian, threshold_li

    smooth = gaussian(np.asarray(cytoplasm, np.float32), sigma=2, preserve_range=True)
    cutoff = threshold_li(smooth) if np.ptp(smooth) else smooth.flat[0]
    area = np.count_nonzero((smooth > cutoff) | (np.asarray(nuclei_labels) > 0))
    n = int(np.count_nonzero(np.bincount(np.asarray(nuclei_labels).ravel())[1:]))
    if not n:
        return float(typical_nucleus)
    return float(max(typical_nucleus, np.sqrt(4 * area / (np.pi * n))))


def match_cells_to_nuclei(cells: np.ndarray, nuclei: np.ndarray) -> np.ndarray:
    """Relabel ``cells`` so cell ``k`` holds nucleus ``k`` (Hungarian pairing by shared
    pixels); a cell without a nucleus is dropped, and each nucleus' pixels join its cell."""
    from scipy.optimize import linear_sum_assignment

    cells = np.asarray(cells).astype(np.int64)
    nuclei = np.asarray(nuclei).astype(np.int64)
    n_nuc, n_cell = int(nuclei.max(initial=0)) + 1, int(cells.max(initial=0)) + 1
    overlap = np.bincount(nuclei.ravel() * n_cell + cells.ravel(),
                          minlength=n_nuc * n_cell).reshape(n_nuc, n_cell)[1:, 1:]
    lookup = np.zeros(n_cell, np.int64)
    matched = np.zeros(n_nuc, bool)
    rows, cols = linear_sum_assignment(overlap, maximize=True)  # empty without cells or nuclei
    shared = overlap[rows, cols] > 0
    lookup[cols[shared] + 1] = rows[shared] + 1
    matched[rows[shared] + 1] = True
    out = lookup[cells]
    own = matched[nuclei]
    out[own] = nuclei[own]
    return out.astype(np.int32)


def cellpose_cells(cytoplasm: np.ndarray, nuclei_image: np.ndarray, nuclei_labels: np.ndarray,
                   *, typical: float, device: str = "auto") -> np.ndarray:
    """Whole cells by cellpose on (cytoplasm, nuclei) on ``device``, cell ``k`` holding
    nucleus ``k``."""
    diameter = typical_cell_diameter(cytoplasm, nuclei_labels, typical)
    stack = np.stack([np.asarray(cytoplasm, np.float32), np.asarray(nuclei_image, np.float32)],
                     axis=-1)
    return match_cells_to_nuclei(_masks(cellpose_model("cells", device), stack, diameter,
                                        two_channel=True), nuclei_labels)
