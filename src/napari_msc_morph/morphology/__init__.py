"""Segmentation and per-cell morphometry (no napari/Qt imports).

Entry points of the two jobs (called by the CLI, the docks and the demo):

- :func:`segment_field` — nuclei (and cells) of one field, border exclusion,
  size filter; :class:`SegmentationResult`;
- :func:`measure_field` — per-cell table and per-image summary;
  :class:`MeasureResult`.

The building blocks, for library use:

- :func:`segment_nuclei`, :func:`segment_cells` — classic (or cellpose) segmentation;
- :func:`measure_cells` — one table row per object: size, shape, intensities;
- :func:`summarize_cells` — per-image summary (counts, density, medians, % positive);
- :func:`pooled_thresholds` — one positive-cell threshold per marker for a run.

Registries: :data:`THRESHOLD_METHODS`, :data:`SEGMENTATION_BACKENDS`,
:data:`FEATURE_FAMILIES` and the column registry :data:`COLUMNS` (unit and
dtype of every table column).
"""

from ._checks import check_channel, check_labels
from .columns import COLUMNS
from .features import FEATURE_FAMILIES
from .field import (
    MeasureResult,
    SegmentationResult,
    check_segment_inputs,
    measure_field,
    segment_field,
)
from .measure import check_measure_inputs, measure_cells
from .segment import (
    SEGMENTATION_BACKENDS,
    THRESHOLD_METHODS,
    available_backends,
    segment_cells,
    segment_nuclei,
    threshold_image,
)
from .summary import marker_names, pooled_thresholds, summarize_cells

__all__ = [
    "segment_field",
    "SegmentationResult",
    "check_segment_inputs",
    "measure_field",
    "MeasureResult",
    "check_measure_inputs",
    "measure_cells",
    "summarize_cells",
    "pooled_thresholds",
    "marker_names",
    "check_labels",
    "check_channel",
    "segment_nuclei",
    "segment_cells",
    "threshold_image",
    "THRESHOLD_METHODS",
    "SEGMENTATION_BACKENDS",
    "available_backends",
    "FEATURE_FAMILIES",
    "COLUMNS",
]
