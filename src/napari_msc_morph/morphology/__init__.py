"""Segmentation and per-cell morphometry (no napari/Qt imports).

- :func:`segment_nuclei`, :func:`segment_cells` — classic (or cellpose) segmentation;
- :func:`measure_cells` — one table row per object: size, shape, intensities;
- :func:`summarize_cells` — per-image summary (counts, density, medians, % positive).
"""

from .measure import (
    check_channel,
    check_labels,
    iter_measure_cells,
    marker_names,
    measure_cells,
    summarize_cells,
)
from .segment import segment_cells, segment_nuclei, threshold_image

__all__ = [
    "measure_cells",
    "iter_measure_cells",
    "summarize_cells",
    "marker_names",
    "check_labels",
    "check_channel",
    "segment_nuclei",
    "segment_cells",
    "threshold_image",
]
