"""Aggregate image-derived scores and correlate them with molecular readouts.

Plain functions over pandas DataFrames; no napari or Qt.

- :mod:`.aggregate`: cells -> images -> samples, file-name metadata patterns
- :mod:`.readouts`: qPCR / western / IF readout tables (long or wide, replicates)
- :mod:`.correlate`: Pearson/Spearman with CIs, Benjamini-Hochberg q, time course
- :mod:`.plots`: scatter, heatmap and time-course figures (matplotlib, PNG/SVG)
"""

from .aggregate import (
    aggregate_cells,
    aggregate_to_samples,
    metadata_from_name,
    name_pattern_regex,
    score_columns,
)
from .correlate import (
    benjamini_hochberg,
    correlate,
    correlation,
    fisher_z_ci,
    join_readouts,
    spearman_bootstrap_ci,
    time_course,
)
from .readouts import DEFAULT_MARKERS, read_readouts

__all__ = [
    "DEFAULT_MARKERS",
    "aggregate_cells",
    "aggregate_to_samples",
    "benjamini_hochberg",
    "correlate",
    "correlation",
    "fisher_z_ci",
    "join_readouts",
    "metadata_from_name",
    "name_pattern_regex",
    "read_readouts",
    "score_columns",
    "spearman_bootstrap_ci",
    "time_course",
]
