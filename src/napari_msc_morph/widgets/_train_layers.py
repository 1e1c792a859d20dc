"""Training images from open layers: every plane of a stack is one image.

A plane's default label is its layer's class-like metadata (``condition``: control /
induced) when it is one of the task's classes, else its ``day`` / ``passage`` axis value,
which also fills that manifest column (the report's AUC per day).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import MscMorphError
from ..io import read_image, write_tiff
from ..training.data import plane_problem
from ._layers import layer_pixel_size
from .sample_loading import AXIS_KEY

__all__ = ["LayerImage", "layer_images", "manifest_from_layers"]

#: Manifest columns a stack axis of that name fills (see :mod:`~..training.data`).
REPORTED_AXES = ("day", "passage")
#: Layer metadata keys whose value may be a class of the task (the samples set them:
#: ``condition`` control/induced, ``source`` umbilical_cord/bone_marrow, ``fate``).
CLASS_KEYS = ("label", "condition", "source", "fate")


@dataclass(frozen=True)
class LayerImage:
    """One training image taken from a layer: the whole layer or one plane of a stack."""

    layer: object
    index: tuple[int, ...]  # the plane's indices on the leading axes; () for a single plane
    name: str  # the table's row name: the layer's, plus the plane for a stack
    label: str  # the default label (the user edits it in the table)
    donor: str
    columns: dict = field(default_factory=dict)  # day / passage / condition for the manifest


def _plane_ndim(layer) -> int:
    return 3 if getattr(layer, "rgb", False) else 2


def _axis_values(layer, n: int) -> tuple[str | None, list, str]:
    """The leading axis's name, its values (as many as planes) and a label prefix."""
    meta = layer.metadata or {}
    axis = meta.get(AXIS_KEY) or {}
    values = list(axis.get("values") or [])
    if axis.get("axis") and len(values) == n:
        return str(axis["axis"]), values, str(axis.get("prefix") or "")
    labels = getattr(layer, "axis_labels", None) or ()
    name = str(labels[0]) if labels else None
    if name is not None and name.lstrip("-").isdigit():  # napari's default names: -3, -2, ...
        name = None
    return name, list(range(n)), ""


def _default_label(meta: dict, axis: str | None, value, prefix: str, classes) -> str:
    for key in CLASS_KEYS:
        named = meta.get(key)
        if isinstance(named, str) and named.strip() in classes:
            return named.strip()
    if isinstance(meta.get("label"), str) and meta["label"].strip():
        return meta["label"].strip()
    if axis is not None and axis in REPORTED_AXES:
        return f"{prefix}{value}" if prefix else f"{axis}{value}"
    return ""


def layer_images(layers, classes=()) -> list[LayerImage]:
    """One :class:`LayerImage` per plane of each image layer (one for a single plane).

    Parameters
    ----------
    layers : list of napari Image layers
    classes : sequence of str
        The task's class names: a layer condition among them is the label.
    """
    classes = {str(c) for c in classes}
    images = []
    for layer in layers:
        meta = layer.metadata or {}
        donor = str(meta.get("donor", "") or "").strip()
        condition = str(meta.get("condition", "") or "").strip()
        base = {"condition": condition} if condition else {}
        shape = tuple(layer.data.shape)
        lead = shape[:max(len(shape) - _plane_ndim(layer), 0)]
        if not lead or int(np.prod(lead)) == 1:
            label = _default_label(meta, None, None, "", classes)
            images.append(LayerImage(layer, (0,) * len(lead), layer.name, label, donor, base))
            continue
        indices = list(np.ndindex(*lead))
        axis, values, prefix = _axis_values(layer, len(indices)) if len(lead) == 1 else (
            None, indices, "")
        for index, value in zip(indices, values):
            shown = f"{axis} {prefix}{value}" if axis else ",".join(map(str, index))
            columns = dict(base)
            if axis in REPORTED_AXES:
                columns[axis] = value
            images.append(LayerImage(layer, tuple(int(i) for i in index),
                                     f"{layer.name} [{shown}]",
                                     _default_label(meta, axis, value, prefix, classes),
                                     donor, columns))
    return images


def _source_file(image: LayerImage) -> Path | None:
    """The layer's own file when it holds exactly this plane (not a channel or a plane of
    a bigger file, which training would refuse); None: write the plane."""
    source = getattr(getattr(image.layer, "source", None), "path", None)
    lead = image.layer.data.shape[:image.layer.data.ndim - _plane_ndim(image.layer)]
    if int(np.prod(lead)) != 1 or not source or not Path(source).is_file():
        return None
    try:
        loaded = read_image(source, lazy=True)
    except (MscMorphError, OSError, ValueError):
        return None
    shape = tuple(loaded.data.shape)
    layer_shape = tuple(n for n in image.layer.data.shape if n > 1)
    if plane_problem(shape, loaded.axes) is not None or tuple(n for n in shape if n > 1) != \
            layer_shape:
        return None
    return Path(source)


def manifest_from_layers(layers, labels: dict, donors: dict, folder, classes=()):
    """A manifest for image layers: one row per plane, their files or TIFFs in ``folder``.

    Parameters
    ----------
    layers : list of napari Image layers
    labels, donors : dict
        Image name (:attr:`LayerImage.name`) -> class label / donor.
    folder : path
        Where planes without a file of their own are written (with their pixel size).
    classes : sequence of str
        The task's classes (see :func:`layer_images`).
    """
    rows = []
    folder = Path(folder)
    for image in layer_images(layers, classes):
        path = _source_file(image)
        if path is None:
            safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in image.name)
            data = image.layer.data[image.index] if image.index else image.layer.data
            path = write_tiff(np.asarray(data), folder / f"{safe}.tif",
                              pixel_size_um=layer_pixel_size(image.layer))
        rows.append({"path": str(path), "label": str(labels.get(image.name, image.label)).strip(),
                     "donor": str(donors.get(image.name, image.donor)).strip(),
                     **image.columns, "layer": image.name})
    return pd.DataFrame(rows)
