"""Per-object size, shape and intensity measurements as one table.

Each feature family (:mod:`.features`) is one vectorised pass over a whole
label plane, never a loop over region objects; columns, units and dtypes come
from :data:`.columns.COLUMNS` (docs/morphometry.md, "The columns" and "Speed").
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import BadInputError
from ..jobs import CancelToken, ProgressFn, check_cancelled, report
from ._checks import (
    check_channel,
    check_channel_name,
    check_labels,
    check_nuclei_in_cells,
    check_pixel_size,
)
from ._geometry import compact_labels
from .columns import COLUMNS, output_columns
from .features import FEATURE_FAMILIES, Plane

__all__ = [
    "MeasureInputs",
    "check_measure_inputs",
    "measure_cells",
    "LENGTH_FEATURES",
    "AREA_FEATURES",
]

logger = logging.getLogger(__name__)

#: Features with a length unit: ``<name>_px`` always, ``<name>_um`` with a pixel size.
LENGTH_FEATURES = tuple(n for n in COLUMNS if COLUMNS.get(n).unit == "length")
#: Features with an area unit: ``<name>_px`` always, ``<name>_um2`` with a pixel size.
AREA_FEATURES = tuple(n for n in COLUMNS if COLUMNS.get(n).unit == "area")

NO_PIXEL_SIZE = (
    "no pixel size was given (argument, layer scale or file metadata), so the µm "
    "columns (area_um2, perimeter_um, ...) are left out and only pixel units are "
    "reported. Pass pixel_size_um to get them."
)


@dataclass
class MeasureInputs:
    """Checked inputs of one measurement (see :func:`check_measure_inputs`)."""

    labels: np.ndarray
    channels: dict = field(default_factory=dict)
    nuclei: np.ndarray | None = None
    pixel_size_um: float | None = None
    #: What the checks changed or doubt (masks split into objects, nuclei that do not fit).
    warnings: list = field(default_factory=list)


def check_measure_inputs(labels, channels=None, nuclei=None, pixel_size_um=None, *,
                         input_names: Mapping[str, str] | None = None,
                         field_checks: bool = True) -> MeasureInputs:
    """Check every input of a measurement; raise one precise BadInputError.

    Parameters
    ----------
    labels, channels, nuclei, pixel_size_um
        As :func:`measure_cells` (``channels`` is its ``intensities``).
    input_names : mapping of str to str, optional
        How messages call the inputs (keys ``"labels"``, ``"nuclei"``, channel
        names), e.g. ``{"labels": "cells.tif"}``.
    field_checks : bool
        Split masks into objects and check that the nuclei fit the cells.

    Returns
    -------
    MeasureInputs

    Examples
    --------
    >>> inputs = check_measure_inputs(np.ones((4, 4), np.uint8), np.zeros((4, 4)))
    >>> list(inputs.channels)
    ['intensity']
    """
    names = dict(input_names or {})
    notes: list[str] = []
    labels = check_labels(labels, names.get("labels", "labels"), notes, split=field_checks)
    shape = labels.shape
    if isinstance(channels, Mapping):
        items = [(str(k), v) for k, v in channels.items()]
    elif channels is None:
        items = []
    else:
        items = [("intensity", channels)]
    checked = {}
    for name, image in items:
        check_channel_name(name)
        checked[name] = check_channel(image, name, shape, described=names.get(name))
    if nuclei is not None:
        nuclei = check_labels(nuclei, names.get("nuclei", "nuclei"), notes, split=field_checks)
        if nuclei.shape != shape:
            where = f" ({names['nuclei']})" if "nuclei" in names else ""
            raise BadInputError(
                f"nuclei labels{where} have shape {nuclei.shape} but the labels have shape "
                f"{shape}; use nuclei segmented from the same field."
            )
        fit = field_checks and check_nuclei_in_cells(labels, nuclei, names.get("labels", "labels"),
                                                     names.get("nuclei", "nuclei"))
        if fit:
            logger.warning("%s", fit)
            notes.append(fit)
    return MeasureInputs(labels, checked, nuclei, check_pixel_size(pixel_size_um), notes)


def measure_cells(
    labels,
    intensities=None,
    nuclei=None,
    pixel_size_um=None,
    *,
    convex: bool = True,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> pd.DataFrame:
    """Measure size, shape and marker intensities of every labelled object.

    Parameters
    ----------
    labels : ndarray of int, shape (..., Y, X)
        Label image (0 background), measured as given, as ``regionprops`` does
        (:func:`~napari_msc_morph.morphology.measure_field` first splits masks).
        Leading axes are measured plane by plane and numbered in a ``frame`` column.
    intensities : ndarray or mapping of str to ndarray, optional
        Channels with the shape of ``labels``, by name; a single array is ``intensity``.
    nuclei : ndarray of int, optional
        Nuclei labels of the same shape: adds the nucleus linkage and the
        nuclear/cytoplasmic means.
    pixel_size_um : float, optional
        Square pixel size in µm; without it the µm columns are left out (warned).
    convex : bool
        Compute the convex hull family, the slowest.
    progress, cancel
        The package's progress callback and cancel token.

    Returns
    -------
    pandas.DataFrame
        One row per object, the columns of
        :data:`~napari_msc_morph.morphology.columns.COLUMNS` (docs/morphometry.md,
        "The columns"); ``attrs`` holds ``pixel_size_um`` and ``image_shape``.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.zeros((32, 32), np.uint16)
    >>> labels[4:10, 4:14] = 7
    >>> table = measure_cells(labels, pixel_size_um=0.5)
    >>> table[["label", "area_px", "area_um2"]].to_dict("records")
    [{'label': 7, 'area_px': 60, 'area_um2': 15.0}]
    """
    inputs = check_measure_inputs(labels, intensities, nuclei, pixel_size_um, field_checks=False)
    if inputs.pixel_size_um is None:
        warnings.warn(f"measure_cells: {NO_PIXEL_SIZE}", UserWarning, stacklevel=2)
    return measure_table(inputs, convex=convex, progress=progress, cancel=cancel)


def measure_table(inputs: MeasureInputs, *, convex: bool = True,
                  progress: ProgressFn | None = None,
                  cancel: CancelToken | None = None) -> pd.DataFrame:
    """The per-cell table of checked inputs, with progress and cancel between steps."""
    labels, channels, nuclei = inputs.labels, inputs.channels, inputs.nuclei
    shape = labels.shape
    lead = shape[:-2]
    frames = list(np.ndindex(*lead)) if lead else [()]
    calls = _family_calls(list(channels), nuclei is not None)
    total = len(calls) * len(frames)
    tables = []
    for f, index in enumerate(frames):
        prefix = f"frame {f + 1}/{len(frames)}: " if lead else ""
        plane = Plane(*compact_labels(labels[index]),
                      None if nuclei is None else nuclei[index], convex)
        for k, (family, channel) in enumerate(calls):
            what = f"{family} features" if channel is None else f"{family}: {channel}"
            check_cancelled(cancel, "Measurement cancelled.")
            report(progress, f * len(calls) + k, total, f"{prefix}{what} of {plane.n} objects")
            compute = FEATURE_FAMILIES.get(family)
            if FEATURE_FAMILIES.entry(family).extra.get("input") != "labels":
                plane.release_geometry()  # the run tables are no longer needed
            if channel is None:
                plane.values.update(compute(plane))
            else:
                plane.values.update(compute(plane, channel, channels[channel][index]))
        table = _plane_table(plane, list(channels), nuclei is not None, inputs.pixel_size_um)
        if lead:
            table.insert(0, "frame", np.full(len(table), f, dtype=np.int64))
        tables.append(table)
    result = pd.concat([t for t in tables if len(t)] or tables[:1], ignore_index=True)
    result.attrs = {"pixel_size_um": inputs.pixel_size_um, "image_shape": tuple(shape[-2:]),
                    "lead_shape": tuple(lead)}
    logger.debug("measured %d objects in %d plane(s)", len(result), len(frames))
    check_cancelled(cancel, "Measurement cancelled.")
    report(progress, total, total, "done")
    return result


def _family_calls(channel_names, with_nuclei: bool) -> list[tuple[str, str | None]]:
    """(family, channel or None) in run order: once, once per channel, or with nuclei."""
    calls: list[tuple[str, str | None]] = []
    for family in FEATURE_FAMILIES:
        needs = FEATURE_FAMILIES.entry(family).extra.get("input", "labels")
        if needs == "channel":
            calls += [(family, name) for name in channel_names]
        elif needs != "nuclei" or with_nuclei:
            calls.append((family, None))
    return calls


def _plane_table(plane: Plane, channel_names, with_nuclei: bool,
                 pixel_size: float | None) -> pd.DataFrame:
    """The columns :data:`.columns.COLUMNS` declares, in order, unit-scaled and typed."""
    data: dict[str, np.ndarray] = {}
    for column in output_columns(channel_names, with_nuclei=with_nuclei,
                                 with_pixel_size=pixel_size is not None):
        values = plane.values[column.key]
        if column.area_power:
            values = values * pixel_size**column.area_power
        if column.dtype != "labels":
            values = np.asarray(values).astype(column.dtype, copy=False)
        data[column.name] = values
    table = pd.DataFrame(data)
    ids = plane.ids
    table["label"] = table["label"].astype(ids.dtype if ids.dtype.kind in "iu" else np.int64)
    return table
