"""Which columns of a results table are scores by default (correlated, compared).

Correlating everything numeric gave 240 mostly meaningless correlations and a BH family
in which real associations vanished; :func:`default_score_columns` is the one rule.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from .aggregate import PROBABILITY_PREFIX, score_columns

#: Columns that record how an image was processed or where something sits, never a readout:
#: pixel size, tiling and score-map geometry, coordinates, thresholds, frame/plane indices, ids.
BOOKKEEPING_PATTERNS = (
    r"pixel_size.*", r"map_.*", r"tile_.*", r"(centroid|bbox|center|centre|offset)(_.*)?",
    r".*_(x|y|z)(_px|_um)?", r"[xyzt]", r".*_threshold", r"frame", r"plane", r"index", r"id",
    r".*_id", r"unnamed:.*", r"field_area_mm2", r"seed",
)
_BOOKKEEPING = re.compile("|".join(f"(?:{p})" for p in BOOKKEEPING_PATTERNS), re.IGNORECASE)
#: Per-feature statistics a ``<feature>_median`` column stands for in the defaults.
_SPREAD_STATS = ("mean", "iqr", "min", "max", "std")


def is_bookkeeping(column: str) -> bool:
    """Whether ``column`` describes processing or position (``map_center_x_px``,
    ``RUNX2_threshold``) rather than the cells (``os_score``).

    Examples
    --------
    >>> [is_bookkeeping(c) for c in ("map_center_x_px", "RUNX2_threshold", "os_score")]
    [True, True, False]
    """
    return _BOOKKEEPING.fullmatch(str(column)) is not None


def default_score_columns(frame: pd.DataFrame, exclude: Sequence[str] = ()) -> list[str]:
    """The scores correlated when none are named: one per task, not its probabilities.

    A task score (:data:`~napari_msc_morph.models.tasks.SCORES`) stands for its class
    probabilities and intervals (``p_induced`` *is* ``os_score``: testing both only grows
    the BH family), ``<feature>_median`` for its mean/IQR/min/max/std; bookkeeping
    (:func:`is_bookkeeping`) never counts.

    Examples
    --------
    >>> frame = pd.DataFrame({"sample_id": ["a"], "p_control": [0.2], "p_induced": [0.8],
    ...                       "os_score": [0.8], "median_area_um2": [1500.0]})
    >>> default_score_columns(frame)
    ['os_score', 'median_area_um2']
    >>> default_score_columns(frame.drop(columns=["os_score"]))
    ['p_induced', 'median_area_um2']
    """
    from ..models.tasks import SCORES  # the registry of task scores (no torch import)

    scores = [s for s in score_columns(frame, exclude=exclude) if not is_bookkeeping(s)]
    # one summary per feature: its median (robust) stands for the mean/IQR/min/max too
    medians = {s[:-len("_median")] for s in scores if s.endswith("_median")}
    scores = [s for s in scores
              if not any(s == f"{base}_{stat}" for base in medians for stat in _SPREAD_STATS)]
    probabilities = [s for s in scores if s.startswith(PROBABILITY_PREFIX)]
    derived = [s for s in scores if re.fullmatch(r"interval\d+_(lo|hi|p)", s)]
    if any(s in SCORES for s in scores):
        drop = {*probabilities, *derived}
    elif len(probabilities) == 2:
        drop = {probabilities[0]}  # p_a = 1 - p_b: one test, not two
    else:
        drop = set()
    return [s for s in scores if s not in drop]
