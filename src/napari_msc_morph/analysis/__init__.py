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

from .._exports import lazy_exports

# A name shared with its submodule is bound now: importing the submodule later would
# otherwise make ``analysis.correlate`` the module. (correlate.py imports scipy.stats
# only inside the functions that test, so this stays light.)
from .correlate import correlate

#: Public name -> the submodule defining it, imported when the name is first used
#: (a dock importing one submodule does not pay for the others).
_EXPORTS = {
    "COMPARE_METHODS": ".compare",
    "CORRELATION_METHODS": ".correlate",
    "CorrelationStudy": ".study",
    "GroupComparison": ".compare",
    "DEFAULT_MARKERS": ".readouts",
    "SAMPLE_KEYS": ".aggregate",
    "aggregate_cells": ".aggregate",
    "aggregate_to_samples": ".aggregate",
    "benjamini_hochberg": ".correlate",
    "compare_groups": ".compare",
    "correlate_study": ".study",
    "correlation": ".correlate",
    "default_score_columns": ".score_defaults",
    "is_bookkeeping": ".score_defaults",
    "join_readouts": ".correlate",
    "metadata_from_name": ".aggregate",
    "method_choices": ".correlate",
    "name_pattern_regex": ".aggregate",
    "parse_columns": ".aggregate",
    "read_readouts": ".readouts",
    "score_columns": ".aggregate",
    "spearman_bootstrap_ci": ".correlate",
    "time_course": ".correlate",
    "write_comparison": ".compare",
}
__all__ = [*_EXPORTS, "correlate"]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
