"""The experimental unit of a group comparison: which rows are independent.

Cells of one donor are not independent observations (pseudo-replication, Lazic 2010);
how the unit is chosen: docs/results-and-correlation.md ("The experimental unit").
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..errors import BadInputError

#: Columns that name an experimental unit, coarsest first: the default unit is the first
#: of these in the table that lies within the compared groups.
UNIT_COLUMNS = ("donor", "donor_id", "patient", "subject", "strain", "sample_id", "sample", "well")

#: ``unit`` value that tests every row as an independent unit (said explicitly).
NO_UNIT = "none"


@dataclass(frozen=True)
class UnitChoice:
    """The unit column (None: each row is one unit) and why it was chosen."""

    column: str | None
    reason: str


def _unit_columns(table: pd.DataFrame, skip) -> list:
    """The table's :data:`UNIT_COLUMNS` (named in any case), coarsest first, besides ``skip``."""
    lowered = {str(c).lower(): c for c in table.columns if c not in skip}
    return [lowered[name] for name in UNIT_COLUMNS if name in lowered]


def spanning_groups(data: pd.DataFrame, column: str = "unit") -> pd.Series:
    """Units found in more than one group (index: unit, value: its groups)."""
    groups = data.groupby(column, sort=True)["group"].unique()
    return groups[groups.map(len) > 1]


def _within_groups(table: pd.DataFrame, column: str, by: str) -> bool:
    rows = table[[column, by]].dropna()
    return bool(len(rows)) and bool((rows.groupby(column)[by].nunique() <= 1).all())


def _repeating_columns(table: pd.DataFrame, by: str, skip) -> list[str]:
    """Columns that look like a unit: text or integer ids, nested in the groups, repeated."""
    from .score_defaults import default_score_columns

    k = table[by].nunique()
    # counts and measurements that happen to repeat (two fields of 36 cells) are no unit
    measured = set(default_score_columns(table, exclude=[by]))
    found = []
    for column in table.columns:
        if column in skip or pd.api.types.is_float_dtype(table[column]) or column in measured \
                or str(column).startswith("n_"):
            continue
        n = table[column].nunique()
        if k < n < table[column].notna().sum() and _within_groups(table, column, by):
            found.append(str(column))
    return found


def choose_unit(table: pd.DataFrame, value: str, by: str, unit: str | None = None,
                paired_by: str | None = None, mixed: bool = False) -> UnitChoice:
    """Decide the experimental unit of a comparison of ``value`` between groups of ``by``.

    ``unit`` is a column, :data:`NO_UNIT` (test rows) or None: the ``paired_by`` subject,
    else the first :data:`UNIT_COLUMNS` column within the groups (with ``mixed``, any
    column with repeated rows). Columns repeating within groups without a unit are an error.
    """
    if unit is not None and str(unit).strip().lower() == NO_UNIT:
        return UnitChoice(None, f"--unit {NO_UNIT}: every row is tested as independent")
    if unit is not None:
        if unit not in table.columns:
            raise BadInputError(
                f"--unit column {unit!r} is not in the table; its columns are: "
                f"{', '.join(map(str, table.columns))}. Give the column naming the experimental "
                f"unit (donor, sample_id, well), or --unit {NO_UNIT} to test rows.")
        return UnitChoice(unit, "chosen")
    if paired_by is not None:
        return UnitChoice(paired_by, f"the subject of --paired-by {paired_by}")
    skip = {value, by, paired_by}
    for column in _unit_columns(table, skip):
        if mixed and table[column].nunique() < table[column].notna().sum():
            return UnitChoice(column, f"default: a {column} has several rows")
        if not mixed and _within_groups(table, column, by):
            return UnitChoice(column, f"default: each {column} lies in one group")
    candidates = _repeating_columns(table, by, skip)
    if candidates:
        raise BadInputError(
            f"{len(table)} rows, but column(s) {', '.join(candidates)} repeat within the groups "
            f"of {by!r}: the rows are probably not independent (cells of one image, images of "
            f"one sample). Say which column is the experimental unit, e.g. --unit "
            f"{candidates[0]} (one value per unit is tested) or --mixed --unit {candidates[0]}; "
            f"or --unit {NO_UNIT} to test every row as independent.")
    if any(str(c).lower() == "label" for c in table.columns if c not in skip):
        raise BadInputError(
            f"the rows are cells (the table has a 'label' column), but no column says which image, "
            f"sample or donor each belongs to, so the experimental unit is unknown; add one (e.g. "
            f"sample_id or donor) and give --unit COLUMN, or --unit {NO_UNIT} to test every cell "
            "as independent.")
    return UnitChoice(None, "no unit column such as donor, sample_id or well: each row is one")


def unit_means(data: pd.DataFrame, keys) -> pd.DataFrame:
    """One row per ``keys`` combination: the mean ``value`` and ``n_rows`` it averages."""
    grouped = data.groupby(list(keys), sort=False, observed=True)["value"]
    return grouped.agg(value="mean", n_rows="size").reset_index()


def copied_rows_warnings(table: pd.DataFrame) -> list[str]:
    """A warning when rows are exact copies of other rows (none when none are)."""
    copies = table.duplicated(keep="first")
    if not copies.any():
        return []
    rows = [str(int(i) + 2) for i in table.index[copies][:5]]  # file rows: header is row 1
    return [f"{int(copies.sum())} of {len(table)} rows are exact copies of an earlier row "
            f"(file row(s) {', '.join(rows)}{' …' if copies.sum() > 5 else ''}); copies are not "
            "new observations and make p-values too small: remove them."]


def shared_units_warnings(table: pd.DataFrame, by: str, chosen: str | None) -> list[str]:
    """A warning when a unit column (e.g. donor) spans several groups (none when none does)."""
    for column in _unit_columns(table, (by, chosen)):
        if not _within_groups(table, column, by):
            return [f"{column} spans several groups of {by!r}: the groups share {column}s and "
                    f"are not independent; --paired-by {column} (repeated measures) or --mixed "
                    f"--unit {column} accounts for that."]
    return []


def finer_unit(table: pd.DataFrame, by: str, unit: str) -> str | None:
    """A unit column nested inside ``unit`` and the groups (e.g. the sample of a donor)."""
    for column in _unit_columns(table, (by, unit)):
        rows = table[[column, unit, by]].dropna()
        n = rows[column].nunique()
        nested = (rows.groupby(column)[[unit, by]].nunique() <= 1).all().all()
        if nested and rows[unit].nunique() < n < len(rows):
            return column
    return None
