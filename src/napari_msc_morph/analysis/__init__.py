"""Aggregate image-derived scores, correlate them with molecular readouts, compare groups.

Plain functions over pandas DataFrames; no napari or Qt. The correlation job is one
call, :func:`correlate_study` (CLI, Correlation dock and demo); group comparisons are
:func:`compare_groups`. What each computes, and why: docs/results-and-correlation.md.
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
    "time_course": ".timecourse",
    "write_comparison": ".compare",
}
__all__ = [*_EXPORTS, "correlate"]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
