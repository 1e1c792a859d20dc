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

from .._exports import lazy_exports

#: Public name -> the submodule defining it, imported when the name is first used
#: (a dock importing one submodule does not pay for the others).
_EXPORTS = {
    "segment_field": ".field",
    "SegmentationResult": ".field",
    "check_segment_inputs": ".field",
    "measure_field": ".field",
    "MeasureResult": ".field",
    "check_measure_inputs": ".measure",
    "measure_cells": ".measure",
    "summarize_cells": ".summary",
    "pooled_thresholds": ".summary",
    "marker_names": ".summary",
    "check_labels": "._checks",
    "check_channel": "._checks",
    "segment_nuclei": ".segment",
    "segment_cells": ".segment",
    "threshold_image": ".segment",
    "THRESHOLD_METHODS": ".segment",
    "SEGMENTATION_BACKENDS": ".segment",
    "available_backends": ".segment",
    "FEATURE_FAMILIES": ".features",
    "COLUMNS": ".columns",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
