"""The two morphometry jobs on one field: :func:`segment_field` and :func:`measure_field`.

Each follows the package's protocol for long work (:mod:`napari_msc_morph.jobs`);
its ``check_*_inputs`` twin runs only the checks, so a dock can report a bad
input before it starts a worker.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..errors import BadInputError
from ..jobs import CancelToken, ProgressFn, check_cancelled, report, scaled
from ._checks import check_pixel_size
from .measure import NO_PIXEL_SIZE, MeasureInputs, check_measure_inputs, measure_table
from .scale import NucleusScale, nucleus_scale
from .segment import (
    SEGMENTATION_BACKENDS,
    THRESHOLD_METHODS,
    _relabel,
    check_diameter_range,
    check_image,
    nuclei_at_scale,
    segmentation,
)
from .summary import SIZE_WEIGHTINGS, no_threshold_warning, summarize_cells

__all__ = [
    "MeasureResult",
    "SegmentationResult",
    "check_backend_device",
    "check_segment_inputs",
    "measure_field",
    "segment_field",
]

logger = logging.getLogger(__name__)


@dataclass
class SegmentationResult:
    """Labels of one field.

    Attributes
    ----------
    nuclei, cells : ndarray of int32
        Nuclei and cell labels (cell ``k`` holds nucleus ``k``; ``cells`` is
        ``None`` without a cytoplasm image).
    counts : dict
        Objects present: ``{"nuclei": n}`` and, with cells, ``"cells"``.
    n_border_excluded : int or None
        Nuclei (with their cells) dropped at the image border; ``None`` when kept.
    n_nuclei_without_cell : int or None
        Nuclei dropped because the cells backend gave them no cell.
    scale : NucleusScale or None
        The nucleus diameters used and where they came from.
    threshold : float or None
        The nuclear detection threshold when one was given (a study's).
    """

    nuclei: np.ndarray
    cells: np.ndarray | None = None
    counts: dict = field(default_factory=dict)
    n_border_excluded: int | None = None
    scale: NucleusScale | None = None
    threshold: float | None = None
    n_nuclei_without_cell: int | None = None

    def summary(self) -> str:
        """One line for the user: ``"12 nuclei, 12 cells, 3 touching the border excluded;
        nucleus diameter 28 px (estimated from the image; ...)"``."""
        text = ", ".join(f"{n} {what}" for what, n in self.counts.items())
        if self.n_border_excluded is None:
            text += " (border objects kept)"
        else:
            text += f", {self.n_border_excluded} touching the border excluded"
        if self.n_nuclei_without_cell:
            text += f", {self.n_nuclei_without_cell} nuclei without a cell dropped"
        if self.scale is not None:
            text += f"; {self.scale.describe()}"
        if self.threshold is not None:
            text += f"; nuclear threshold {self.threshold:.4g} (study)"
        return text


def _count(labels: np.ndarray) -> int:
    return int(np.count_nonzero(np.bincount(labels.ravel())[1:]))


def check_backend_device(backend: str, device: str = "auto") -> None:
    """Check ``backend`` and, for one that runs on a device (cellpose), ``device``."""
    check_device = SEGMENTATION_BACKENDS.entry(backend).extra.get("device")
    if check_device is not None:
        check_device(device)


def check_segment_inputs(nuclei_image, cyto_image=None, *, diameter=None,
                         pixel_size_um: float | None = None,
                         threshold_method: str = "otsu", threshold: float | None = None,
                         exclude_border: bool = True,
                         backend: str = "classic", device: str = "auto",
                         input_names: Mapping[str, str] | None = None
                         ) -> tuple[np.ndarray, np.ndarray | None, tuple[float, float]]:
    """Check every input of :func:`segment_field`; raise one precise BadInputError.

    Takes its arguments (less progress and cancel); ``input_names`` keys are
    ``"nuclei"`` and ``"cytoplasm"``. Returns the checked nuclei and cytoplasm
    images and the ``(min, max)`` diameters (``None``: from the image).
    """
    names = {"nuclei": "nuclei image", "cytoplasm": "cytoplasm image", **(input_names or {})}
    nuclei_image = check_image(nuclei_image, names["nuclei"])
    if cyto_image is not None:
        cyto_image = check_image(cyto_image, names["cytoplasm"])
        if cyto_image.shape != nuclei_image.shape:
            raise BadInputError(
                f"{names['cytoplasm']} has shape {cyto_image.shape} but {names['nuclei']} has "
                f"{nuclei_image.shape}; choose images of the same field."
            )
    diameter = None if diameter is None else check_diameter_range(diameter)
    check_pixel_size(pixel_size_um, "pixel size {value!r} µm: give a positive number or none.")
    THRESHOLD_METHODS.entry(threshold_method)
    check_backend_device(backend, device)
    if isinstance(nuclei_image, np.ndarray) and nuclei_image.size and \
            nuclei_image.min() == nuclei_image.max():
        # e.g. the empty red channel of a split RGB export of DAPI: not "0 nuclei"
        raise BadInputError(
            f"{names['nuclei']} holds no signal (every pixel is {nuclei_image.flat[0]:g}); "
            "choose the channel with the DNA stain (DAPI/Hoechst; in a split RGB export, the "
            "colour the stain was exported in)."
        )
    return nuclei_image, cyto_image, diameter


def segment_field(
    nuclei_image,
    cyto_image=None,
    *,
    diameter=None,
    pixel_size_um: float | None = None,
    threshold_method: str = "otsu",
    threshold: float | None = None,
    exclude_border: bool = True,
    backend: str = "classic",
    device: str = "auto",
    input_names: Mapping[str, str] | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> SegmentationResult:
    """Segment the nuclei of one field and, with a cytoplasm image, its cells.

    Parameters
    ----------
    nuclei_image : ndarray, shape (Y, X)
        DNA stain (DAPI/Hoechst).
    cyto_image : ndarray, shape (Y, X), optional
        Cell body stain; adds whole cells grown from the nuclei.
    diameter, pixel_size_um, threshold_method, threshold, backend, device
        As :func:`.segment.segment_nuclei` (``diameter`` is its ``diameter_range_px``);
        the backend segments the cells too.
    exclude_border : bool
        Drop nuclei and cells touching the border, and the nuclei whose cell
        touched it (a cut-off object biases size and shape low).
    input_names : mapping, optional
        How messages call the images (see :func:`check_segment_inputs`).
    progress, cancel
        The package's progress callback and cancel token.

    Returns
    -------
    SegmentationResult

    Examples
    --------
    >>> from skimage.draw import disk
    >>> img = np.zeros((64, 64), np.uint16)
    >>> img[disk((20, 20), 8)] = 1000
    >>> img[disk((44, 40), 10)] = 1200
    >>> result = segment_field(img, diameter=(8, 40))
    >>> result.counts, result.n_border_excluded
    ({'nuclei': 2}, 0)
    """
    nuclei_image, cyto_image, diameter = check_segment_inputs(
        nuclei_image, cyto_image, diameter=diameter, pixel_size_um=pixel_size_um,
        threshold_method=threshold_method, threshold=threshold, exclude_border=exclude_border,
        backend=backend, device=device, input_names=input_names)
    total = 1 if cyto_image is None else 2
    check_cancelled(cancel, "Segmentation cancelled.")
    report(progress, 0, total, "nuclei")
    scale = nucleus_scale(nuclei_image, diameter, pixel_size_um)
    nuclei = nuclei_at_scale(nuclei_image, scale, backend=backend, device=device,
                             threshold_method=threshold_method, threshold=threshold)
    n_found = _count(nuclei)
    if exclude_border:  # as segment_nuclei(exclude_border=True), counted
        nuclei = _relabel(segmentation.clear_border(nuclei))
    cells, without_cell = None, None
    if cyto_image is not None:
        check_cancelled(cancel, "Segmentation cancelled.")
        report(progress, 1, total, "cells")
        grow = SEGMENTATION_BACKENDS.entry(backend).extra["cells"]
        cells = grow(cyto_image, nuclei_image, nuclei, typical=scale.typical, device=device)
        # a nucleus the cells backend gave no cell (cellpose missed it) is not a border case
        with_cell = np.where(np.isin(nuclei, np.unique(cells)), nuclei, 0).astype(np.int32)
        without_cell = _count(nuclei) - _count(with_cell)
        nuclei = with_cell
        if exclude_border:  # cells touching the border go, and their nuclei with them
            cells = segmentation.clear_border(cells).astype(np.int32)
            nuclei = np.where(np.isin(nuclei, np.unique(cells)), nuclei, 0).astype(np.int32)
    counts = {"nuclei": _count(nuclei)}
    if cells is not None:
        counts["cells"] = _count(cells)
    excluded = n_found - counts["nuclei"] - (without_cell or 0) if exclude_border else None
    report(progress, total, total, "done")
    logger.info("segmented %s, border-excluded %s, without a cell %s", counts, excluded,
                without_cell)
    return SegmentationResult(nuclei, cells, counts, excluded, scale, threshold, without_cell)


@dataclass
class MeasureResult:
    """The per-cell table and the per-image summary of one measurement.

    ``table`` as :func:`.measure.measure_cells`, ``summary`` as
    :func:`.summary.summarize_cells`; ``threshold_sources`` says where each
    marker's threshold came from (``none``: no threshold, named in
    ``missing_thresholds``); ``warnings`` is what a face tells the user.
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    pixel_size_um: float | None = None
    markers: list = field(default_factory=list)
    threshold_sources: dict = field(default_factory=dict)
    missing_thresholds: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    marker_columns: dict = field(default_factory=dict)
    n_border_excluded: int | None = None
    pixel_size_source: str = "unknown"
    size_weighting: str = "miles-lantuejoul"
    #: What the input checks said; kept in ``warnings`` whatever the thresholds.
    input_warnings: list = field(default_factory=list)

    def with_thresholds(self, thresholds: Mapping[str, float] | None,
                        sources: Mapping[str, str] | None = None) -> MeasureResult:
        """This result summarised at the study's positive-cell ``thresholds``."""
        thresholds = dict(thresholds or {})
        summary = summarize_cells(self.table, thresholds=thresholds,
                                  marker_columns=self.marker_columns, threshold_sources=sources,
                                  n_border_excluded=self.n_border_excluded,
                                  size_weighting=self.size_weighting, warn=False)
        summary["pixel_size_um"] = self.pixel_size_um
        summary["pixel_size_source"] = self.pixel_size_source
        missing = [name for name in self.markers if thresholds.get(name) is None]
        used = {name: "none" if name in missing else (sources or {}).get(name, "given")
                for name in self.markers}
        return replace(self, summary=summary, threshold_sources=used, missing_thresholds=missing,
                       warnings=[*self.input_warnings,
                                 *([no_threshold_warning(missing)] if missing else [])])

    def summary_row(self) -> dict:
        """One row for the whole image (a stack: the mean over its frames) of counts,
        density, medians and fractions positive, as the results table shows it."""
        summary = self.summary
        if summary.empty:
            return {}
        row = summary.iloc[0] if len(summary) == 1 else \
            summary.drop(columns="frame").mean(numeric_only=True)
        values = {"n_cells": int(summary["n_cells"].sum()),
                  "pixel_size_um": summary["pixel_size_um"].iloc[0],
                  "pixel_size_source": summary["pixel_size_source"].iloc[0],
                  "size_weighting": summary["size_weighting"].iloc[0]}
        for key, value in row.items():
            if key.endswith(("_median", "_fraction_positive")) or key == "cell_density_per_mm2":
                values[key] = float(value)
        return values

    def summary_rows(self) -> list[dict]:
        """The results-table rows: :meth:`summary_row` for an image; for a stack one row
        per frame (``plane``: its flat index as text; a frame without objects too)."""
        summary = self.summary
        if summary.empty or "frame" not in summary.columns:
            return [self.summary_row()] if not summary.empty else []
        n_frames = int(np.prod(self.table.attrs.get("lead_shape") or (0,)))
        frames = range(max(n_frames, int(summary["frame"].max()) + 1))
        by_frame = {int(frame): part for frame, part in summary.groupby("frame")}
        empty = {"n_cells": 0, "pixel_size_um": self.pixel_size_um,
                 "pixel_size_source": self.pixel_size_source, "size_weighting": self.size_weighting}
        rows = []
        for frame in frames:
            part = by_frame.get(frame)
            values = empty if part is None else \
                replace(self, summary=part.drop(columns="frame")).summary_row()
            rows.append({"plane": str(frame), **values})
        return rows


def measure_field(
    labels,
    channels=None,
    nuclei=None,
    pixel_size_um=None,
    *,
    thresholds: Mapping[str, float] | None = None,
    marker_columns: Mapping[str, str] | None = None,
    threshold_sources: Mapping[str, str] | None = None,
    n_border_excluded: int | None = None,
    convex: bool = True,
    input_names: Mapping[str, str] | None = None,
    pixel_size_source: str | None = None,
    size_weighting: str = "miles-lantuejoul",
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> MeasureResult:
    """Measure every object of a label image and summarise the field.

    Parameters
    ----------
    labels, channels, nuclei, pixel_size_um, convex
        As :func:`.measure.measure_cells`; masks are first split into objects.
    thresholds : mapping of str to float, optional
        Positive-cell thresholds per channel, one for the whole study; a
        channel without one gets a NaN fraction positive (never a per-image Otsu).
    marker_columns, threshold_sources, n_border_excluded, size_weighting
        As :func:`.summary.summarize_cells`.
    input_names : mapping of str to str, optional
        How messages call the inputs (see :func:`.measure.check_measure_inputs`).
    pixel_size_source : str, optional
        Where the pixel size came from (``file``, ``layer``, ``user``), on every
        summary row.
    progress, cancel
        The package's progress callback and cancel token.

    Returns
    -------
    MeasureResult

    Examples
    --------
    >>> labels = np.zeros((32, 32), np.uint16)
    >>> labels[4:10, 4:14] = 7
    >>> result = measure_field(labels, pixel_size_um=0.5)
    >>> int(result.table.loc[0, "area_px"]), int(result.summary.loc[0, "n_cells"])
    (60, 1)
    """
    check_cancelled(cancel, "Measurement cancelled.")
    inputs: MeasureInputs = check_measure_inputs(labels, channels, nuclei, pixel_size_um,
                                                 input_names=input_names)
    SIZE_WEIGHTINGS.entry(size_weighting)
    thresholds = dict(thresholds or {})
    unknown = sorted(set(thresholds) - set(inputs.channels))
    if unknown:
        raise BadInputError(
            f"thresholds for {unknown} but no channel of that name "
            f"(channels: {sorted(inputs.channels) or 'none'})."
        )
    if inputs.pixel_size_um is None:
        logger.info("measure_field: %s", NO_PIXEL_SIZE)
    # The table is nearly all the work; the summary is the last step.
    table = measure_table(inputs, convex=convex, cancel=cancel,
                          progress=scaled(progress, 0, 99, 100))
    check_cancelled(cancel, "Measurement cancelled.")
    result = MeasureResult(table, pd.DataFrame(), inputs.pixel_size_um,
                           list(dict.fromkeys([*inputs.channels, *(marker_columns or {})])),
                           marker_columns=dict(marker_columns or {}),
                           n_border_excluded=n_border_excluded,
                           input_warnings=list(inputs.warnings),
                           pixel_size_source=(pixel_size_source or "given"
                                              if inputs.pixel_size_um is not None else "unknown"),
                           size_weighting=size_weighting)
    result = result.with_thresholds(thresholds, threshold_sources)
    report(progress, 100, 100, f"{len(table)} objects measured")
    return result
