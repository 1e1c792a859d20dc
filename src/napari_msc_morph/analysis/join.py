"""Join per-sample scores to readouts: one row per sample, marker and assay.

Rows sharing a join key are averaged first, so ``n`` of a correlation counts samples,
never images or readout rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..errors import BadInputError
from .aggregate import join_keys, parse_columns, require_columns
from .score_defaults import default_score_columns


def join_readouts(samples: pd.DataFrame, readouts: pd.DataFrame,
                  on: str | Sequence[str] = "sample_id",
                  scores: Sequence[str] | None = None,
                  carry: Sequence[str] = ()) -> pd.DataFrame:
    """Join per-sample scores to per-sample readouts: one row per sample, marker and assay.

    Rows sharing a key are averaged first (``attrs["notes"]`` says where).

    Parameters
    ----------
    samples, readouts : DataFrame
        :func:`~.aggregate.aggregate_to_samples` and :func:`~.readouts.read_readouts` output.
    on : str or sequence of str
        Join key(s), ``"sample_id"`` or e.g. ``"day, condition"``.
    scores : sequence of str, optional
        Score columns; by default :func:`~.score_defaults.default_score_columns`.
    carry : sequence of str
        Sample columns to keep (e.g. ``"donor"``), one value per sample on either side.

    Returns
    -------
    DataFrame
        The key, ``carry``, the scores, ``marker``, ``assay``, ``value`` (``value_sd``,
        ``n_replicates``; ``n_pooled`` where readout rows were averaged).
    """
    on = parse_columns(on)
    for name, frame in (("scores", samples), ("readouts", readouts)):
        require_columns(frame, on, "The {name} table has no join column(s) {missing}; its "
                        "columns are {columns}. Add the column or join on other columns (--on).",
                        name=name)
    if scores is None:
        scores = default_score_columns(samples, exclude=on)
    carry = [c for c in carry if c not in on]
    left = join_keys(samples[[*on, *[c for c in carry if c in samples.columns], *scores]], on)
    right_columns = [c for c in (*on, *[c for c in carry if c not in samples.columns],
                                 "marker", "assay", "value", "value_sd", "n_replicates")
                     if c in readouts.columns]
    numeric_keys = _numeric_key_notes(samples, readouts, on)
    right = join_keys(readouts[right_columns], on)
    _check_carry(left, right, on, carry)
    left, notes = _one_row_per_sample(left, on, [], carry, "scores")
    right, note = _one_row_per_sample(right, on, ["marker", "assay"], carry, "readouts")
    notes += note
    joined = left.merge(right, on=on, how="inner")
    if joined.empty:
        raise BadInputError(
            f"No samples in common on {on}: scores have {_keys(left, on)}, readouts have "
            f"{_keys(right, on)}. "
            "Check that the ids are spelled the same in both tables."
        )
    joined.attrs["notes"] = [*numeric_keys, *notes]
    return joined


def _numeric_key_notes(samples: pd.DataFrame, readouts: pd.DataFrame,
                       on: Sequence[str]) -> list[str]:
    """A note per non-day key column that holds numbers: ids such as ``1.10`` lost digits."""
    notes = []
    for name, frame in (("scores", samples), ("readouts", readouts)):
        for column in on:
            if column != "day" and pd.api.types.is_numeric_dtype(frame[column]):
                notes.append(f"the {name} table's {column!r} column holds numbers, so ids "
                             "such as 1.10 and 1.1, or 001 and 1, cannot be told apart; read "
                             "ids as text (napari_msc_morph.io.read_table does).")
    return notes


def _one_row_per_sample(frame: pd.DataFrame, on: list[str], within: list[str],
                        carry: Sequence[str], side: str) -> tuple[pd.DataFrame, list[str]]:
    """Average the rows sharing a key (and marker/assay): a sample is counted once."""
    key = [*on, *within]
    sizes = frame.groupby(key, sort=False, dropna=False).size()
    if sizes.max() <= 1:
        return frame, []
    numeric = [c for c in frame.columns if c not in (*key, *carry)
               and pd.api.types.is_numeric_dtype(frame[c])]
    other = [c for c in frame.columns if c not in key and c not in numeric]
    grouped = frame.groupby(key, sort=True, dropna=False)
    out = grouped[numeric].mean()
    if "value" in numeric:  # the spread of the pooled sample values, and how many were pooled
        out["value_sd"] = grouped["value"].std(ddof=1)
        if "n_replicates" in numeric:
            out["n_replicates"] = grouped["n_replicates"].sum()
        out["n_pooled"] = grouped.size()
    out = out.join(grouped[other].first()).reset_index()
    pooled = sizes[sizes > 1]
    n_keys = len(pooled.reset_index()[on].drop_duplicates())
    note = (f"{side}: {n_keys} {' / '.join(on)} key(s) hold several rows (up to "
            f"{int(pooled.max())}); they are averaged into one sample each, so n counts "
            f"{' / '.join(on)} keys, not rows. Join on more columns (e.g. --on "
            f"donor,day,condition) to keep them apart.")
    return out, [note]


def _check_carry(left: pd.DataFrame, right: pd.DataFrame, on: list[str],
                 carry: Sequence[str]) -> None:
    """Each carried column (e.g. the donor of repeated measures) has one value per sample."""
    for column in carry:
        frame, side = (left, "scores") if column in left.columns else (right, "readouts")
        if column not in frame.columns:
            raise BadInputError(
                f"Neither the scores nor the readouts have a {column!r} column; its value is "
                f"needed for every sample ({' / '.join(on)}). Add the column or leave "
                "--repeated-by empty."
            )
        per_key = frame.groupby(on, dropna=False)[column].nunique(dropna=False)
        mixed = per_key[per_key > 1].index
        if len(mixed):
            key = mixed[0] if isinstance(mixed[0], tuple) else (mixed[0],)
            raise BadInputError(
                f"The {side} table has several {column!r} values within one sample "
                f"({' / '.join(on)} = {' / '.join(map(str, key))}): "
                f"a sample must belong to one {column}. Add {column} to the sample key "
                f"(--on {column},{','.join(on)})."
            )


def _keys(frame: pd.DataFrame, on: list[str], limit: int = 8) -> str:
    keys = sorted({" / ".join(map(str, row)) for row in frame[on].itertuples(index=False)})
    text = ", ".join(keys[:limit])
    return f"[{text}{', ...' if len(keys) > limit else ''}] ({len(keys)})"
