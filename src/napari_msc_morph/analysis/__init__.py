"""Aggregate image-derived scores and correlate them with molecular readouts.

Plain functions over pandas DataFrames; no napari or Qt. The whole job is one
call, :func:`correlate_study` (the CLI, the Correlation dock and the demo all
use it); the modules below are its steps.

- :mod:`.study`: :func:`correlate_study` and its :class:`CorrelationStudy` result
- :mod:`.aggregate`: cells -> images -> samples, file-name metadata patterns
- :mod:`.readouts`: qPCR / western / IF readout tables (long or wide, replicates)
- :mod:`.join`: scores joined to readouts, one row per sample (n = samples)
- :mod:`.correlate`: Pearson/Spearman with CIs, Benjamini-Hochberg q over the pairs tested
- :mod:`.repeated`: repeated measures by donor (pingouin rm_corr, statsmodels mixed model)
- :mod:`.qpcr`: qPCR transforms (log2, ΔCt against a reference gene, 2^-ΔΔCt)
- :mod:`.timecourse`: mean +- SD per day and condition
- :mod:`.plots`: scatter, heatmap, time-course and cell-size figures (matplotlib, PNG/SVG)
- :mod:`.compare`: group comparisons (:func:`compare_groups`: Welch/Kruskal/Friedman, post-hoc,
  trend over ordered groups, effect sizes), its tests in :mod:`.group_tests`;
  :mod:`.compare_plots`: its box + strip plot
"""

from .aggregate import (
    SAMPLE_KEYS,
    aggregate_cells,
    aggregate_to_samples,
    metadata_from_name,
    name_pattern_regex,
    parse_columns,
    score_columns,
)
from .compare import COMPARE_METHODS, GroupComparison, compare_groups, write_comparison
from .correlate import (
    CORRELATION_METHODS,
    benjamini_hochberg,
    correlate,
    correlation,
    join_readouts,
    method_choices,
    spearman_bootstrap_ci,
    time_course,
)
from .readouts import DEFAULT_MARKERS, read_readouts
from .score_defaults import default_score_columns, is_bookkeeping
from .study import CorrelationStudy, correlate_study

__all__ = [
    "COMPARE_METHODS",
    "CORRELATION_METHODS",
    "CorrelationStudy",
    "GroupComparison",
    "DEFAULT_MARKERS",
    "SAMPLE_KEYS",
    "aggregate_cells",
    "aggregate_to_samples",
    "benjamini_hochberg",
    "compare_groups",
    "correlate",
    "correlate_study",
    "correlation",
    "default_score_columns",
    "is_bookkeeping",
    "join_readouts",
    "metadata_from_name",
    "method_choices",
    "name_pattern_regex",
    "parse_columns",
    "read_readouts",
    "score_columns",
    "spearman_bootstrap_ci",
    "time_course",
    "write_comparison",
]
