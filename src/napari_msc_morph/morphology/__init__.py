"""Segmentation and per-cell morphometry (no napari/Qt imports).

The jobs on one field are :func:`segment_field` and :func:`measure_field`; the
other names are their building blocks and registries, for library use.
"""

from .._exports import lazy_exports

#: Public name -> its submodule, imported at first use (a dock pays only for what it uses).
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
