"""Time course of scores and markers: mean +- SD per day and condition, n = samples."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..errors import BadInputError
from .aggregate import score_columns


def time_course(samples: pd.DataFrame | None = None, readouts: pd.DataFrame | None = None,
                scores: Sequence[str] | None = None, by: str = "day",
                group: str = "condition") -> pd.DataFrame:
    """Mean +- SD of scores and markers per ``by`` (day) and ``group`` (condition).

    Parameters
    ----------
    samples, readouts : DataFrame, optional
        Per-sample scores and readouts with ``by`` (and ``group``) columns.
    scores : sequence of str, optional
        Score columns to include; all numeric scores by default.

    Returns
    -------
    DataFrame
        ``variable`` (a score or ``"<marker> (<assay>)"``), ``kind``, ``group`` (``"all"``
        without a group column), ``by``, ``mean``, ``sd`` and ``n`` (samples).
    """
    pieces = []
    if samples is not None:
        if by not in samples.columns:
            raise BadInputError(
                f"The scores table has no {by!r} column for a time course; its columns are "
                f"{list(samples.columns)}."
            )
        names = list(scores) if scores is not None else score_columns(samples)
        frame = samples.assign(_group=samples[group] if group in samples.columns else "all")
        long = frame.melt(id_vars=[by, "_group"], value_vars=names, var_name="variable",
                          value_name="value").assign(kind="score")
        pieces.append(long)
    if readouts is not None:
        if by not in readouts.columns and (samples is None or "sample_id" not in readouts.columns
                                           or by not in samples.columns):
            raise BadInputError(
                f"The readouts table has no {by!r} column for a time course; its columns are "
                f"{list(readouts.columns)}."
            )
        if by not in readouts.columns or group not in readouts.columns:
            readouts = _borrow_sample_metadata(readouts, samples, [by, group])
        frame = readouts.assign(
            _group=readouts[group] if group in readouts.columns else "all",
            variable=readouts["marker"] + " (" + readouts["assay"] + ")",
            kind="marker",
        )
        pieces.append(frame[[by, "_group", "variable", "value", "kind"]])
    if not pieces:
        raise BadInputError("Give scores, readouts or both for a time course.")
    long = pd.concat(pieces, ignore_index=True)
    long[by] = pd.to_numeric(long[by], errors="coerce").astype(float)
    long["value"] = pd.to_numeric(long["value"], errors="coerce")
    grouped = long.dropna(subset=[by, "value"]).groupby(["kind", "variable", "_group", by],
                                                        sort=True)["value"]
    out = grouped.agg(mean="mean", sd="std", n="count").reset_index()
    return out.rename(columns={"_group": "group"})[["variable", "kind", "group", by, "mean",
                                                     "sd", "n"]]


def _borrow_sample_metadata(readouts: pd.DataFrame, samples: pd.DataFrame | None,
                            columns: Sequence[str]) -> pd.DataFrame:
    """Day/condition for the readouts from the scores table, via sample_id."""
    if samples is None or "sample_id" not in readouts.columns or "sample_id" not in samples.columns:
        return readouts
    wanted = [c for c in columns if c not in readouts.columns and c in samples.columns]
    if not wanted:
        return readouts
    lookup = samples[["sample_id", *wanted]].drop_duplicates("sample_id")
    return readouts.assign(sample_id=readouts["sample_id"].astype(str)).merge(
        lookup.assign(sample_id=lookup["sample_id"].astype(str)), on="sample_id", how="left")

