"""Molecular readouts (qPCR, western blot, IF), long or wide, read into one tidy table."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import BadInputError
from ..io import read_table
from ..spreadsheet import check_unique_columns
from .qpcr import (
    UNDETERMINED_COLUMN,
    add_fold_change,
    mark_undetermined,
    parse_genes,
    sample_key,
    transform_qpcr,
)

#: Osteogenic markers expected by default.
DEFAULT_MARKERS = ("RUNX2", "OCN", "OSX")

#: Columns that identify a sample (join keys and metadata), never markers.
ID_COLUMNS = ("sample_id", "donor", "day", "condition")

#: Extra non-marker columns understood in readout files.
_SPECIAL_COLUMNS = (
    "marker", "assay", "value", "replicate", "loading_control", "unit", "notes", "passage",
)

# canonical name -> the other names it is written as (matched case-insensitively)
_MARKER_ALIASES = {alias: name for name, aliases in {
    "OCN": ("BGLAP", "OSTEOCALCIN"), "OSX": ("SP7", "OSTERIX"), "RUNX2": ("CBFA1",),
    "ALP": ("ALPL",), "Ki67": ("MKI67", "KI67", "KI-67"), "p16": ("P16", "CDKN2A"),
    "p21": ("P21", "CDKN1A"), "p53": ("P53", "TP53"),
}.items() for alias in aliases}

_ASSAY_ALIASES = {alias: name for name, aliases in {
    "qPCR": ("qpcr", "rt-qpcr", "rtqpcr", "pcr", "rna", "mrna"),
    "western": ("western", "westernblot", "western_blot", "western blot", "wb", "protein"),
    "IF": ("if", "immunofluorescence", "ifintensity", "if_intensity"),
}.items() for alias in aliases}

_UNSPECIFIED_ASSAY = "unspecified"


def canonical_marker(name) -> str:
    """The canonical marker name: ``"bglap"`` -> ``"OCN"``, ``"runx2"`` -> ``"RUNX2"``."""
    text = str(name).strip()
    upper = text.upper()
    return _MARKER_ALIASES.get(upper, upper if upper in DEFAULT_MARKERS else text)


def canonical_assay(name) -> str:
    """The canonical assay name (``qPCR``, ``western``, ``IF``) or the name as written."""
    if name is None or (isinstance(name, float) and np.isnan(name)) or not str(name).strip():
        return _UNSPECIFIED_ASSAY
    return _ASSAY_ALIASES.get(str(name).strip().lower(), str(name).strip())


def _lower_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Rename the known columns case-insensitively (``Sample_ID`` -> ``sample_id``)."""
    known = {*ID_COLUMNS, *_SPECIAL_COLUMNS}
    keys = {column: str(column).strip().lower().replace(" ", "_") for column in frame.columns}
    return frame.rename(columns={c: key for c, key in keys.items() if key in known and c != key})


def _split_wide_column(column: str) -> tuple[str, str | None]:
    """``"RUNX2_qPCR"`` -> ``("RUNX2", "qPCR")``; ``"OCN"`` -> ``("OCN", None)``."""
    text = str(column).strip()
    match = re.fullmatch(r"(.+?)\s*\((.+)\)", text)
    if match:
        return match.group(1).strip(), match.group(2).strip()
    for separator in ("|", "_", " ", "-"):
        if separator in text:
            head, tail = text.rsplit(separator, 1)
            if tail.strip().lower() in {*_ASSAY_ALIASES, "ihc", "elisa", "flow"}:
                return head.strip(), tail.strip()
    return text, None


def _numeric_or_raise(values: pd.Series, what: str, row_numbers: pd.Series,
                      columns: pd.Series | None = None) -> pd.Series:
    """Convert to float; name the rows (file line numbers) and columns that hold text."""
    numbers = pd.to_numeric(values, errors="coerce")
    present = values.notna() & (values.astype(str).str.strip() != "")
    bad = present & numbers.isna()
    if bad.any():
        where = columns[bad] if columns is not None else [None] * int(bad.sum())
        listing = ", ".join(
            f"row {int(row)}" + (f", column {column!r}" if column is not None else "")
            + f": {value!r}"
            for row, column, value in list(zip(row_numbers[bad], where, values[bad]))[:10]
        )
        more = f" (and {int(bad.sum()) - 10} more)" if bad.sum() > 10 else ""
        raise BadInputError(
            f"{what} must be numbers, but {int(bad.sum())} cell(s) are not: {listing}{more}. "
            "Fix or empty these cells (an empty cell is left out and reported)."
        )
    return numbers.astype(float)


def to_long(frame: pd.DataFrame, source: str = "readouts") -> pd.DataFrame:
    """Bring a long or wide readout table into long form.

    Returns the identifying columns present, ``replicate`` and ``loading_control`` if
    given, ``marker``, ``assay``, ``value`` and ``row`` (the file line, header = 1).
    """
    check_unique_columns(list(frame.columns), source)
    lines = frame.attrs.get("lines")  # file lines of the rows (blank lines skipped)
    frame = _lower_columns(frame.copy())
    frame["row"] = lines if lines and len(lines) == len(frame) else np.arange(len(frame)) + 2
    ids = [c for c in ID_COLUMNS if c in frame.columns]
    if not ids:
        raise BadInputError(
            f"{source} has no sample column: it needs 'sample_id' (or 'day' and 'condition'); "
            f"its columns are {list(frame.columns[:-1])}."
        )
    extra = [c for c in ("replicate", "loading_control") if c in frame.columns]
    if "marker" in frame.columns and "value" in frame.columns:
        long = frame[[*ids, *extra, "marker", "value", "row"]].copy()
        long["assay"] = frame["assay"] if "assay" in frame.columns else _UNSPECIFIED_ASSAY
        long["_column"] = "value"
    else:
        skip = {*ids, *_SPECIAL_COLUMNS, "row"}
        marker_columns = [c for c in frame.columns if c not in skip]
        if not marker_columns:
            raise BadInputError(
                f"{source} names no markers: give long form (columns sample_id, marker, assay, "
                "value) or wide form (one column per marker such as RUNX2, OCN_qPCR); "
                f"its columns are {list(frame.columns[:-1])}."
            )
        keep = [*ids, *extra, "row"] + (["assay"] if "assay" in frame.columns else [])
        long = frame.melt(id_vars=keep, value_vars=marker_columns, var_name="marker",
                          value_name="value")
        long["_column"] = long["marker"].astype(str)
        split = long["marker"].map(_split_wide_column)
        long["marker"], from_name = split.str[0], split.str[1]
        long["assay"] = (from_name.where(from_name.notna(), long["assay"])
                         if "assay" in long.columns else from_name)
    long["marker"] = long["marker"].map(canonical_marker)
    long["assay"] = long["assay"].map(canonical_assay)
    long = mark_undetermined(long)  # 'Undetermined' Ct: kept for the --undetermined rule
    _check_one_spelling(long, source, wide="marker" not in frame.columns)
    long["value"] = _numeric_or_raise(long["value"], f"Values in {source}", long["row"],
                                      long["_column"])
    undetermined = long.get(UNDETERMINED_COLUMN, pd.Series(False, index=long.index))
    # before infinite values are emptied: one note per empty cell; an Undetermined Ct is not empty
    empty = _left_out(long[~undetermined & long["value"].isna()], source, "no",
                      " (empty or NA cell)")
    infinite = _infinite_values(long, source)
    for column, what in (("loading_control", "loading_control"), ("day", "'day'")):
        if column in long.columns:
            long[column] = _numeric_or_raise(long[column], f"{what} in {source}", long["row"])
    if "sample_id" in long.columns:
        missing = long["sample_id"].isna()
        if missing.any():
            rows = sorted(set(long.loc[missing, "row"].astype(int)))
            raise BadInputError(
                f"{source}: rows {rows[:20]} have no sample_id; fill them in or remove them."
            )
        long["sample_id"] = long["sample_id"].astype(str).str.strip()
    exclusions = [*infinite, *empty]
    long = long[long["value"].notna() | undetermined].drop(columns=["_column"])
    long = long.reset_index(drop=True)
    long.attrs["exclusions"] = exclusions
    return long


def _check_one_spelling(long: pd.DataFrame, source: str, wide: bool) -> None:
    """Refuse one marker written two ways (``GAPDH``/``gapdh``): as two it would add a test
    or miss a reference-gene mean, as one it would be averaged unseen."""
    where = "_column" if wide else "marker"
    names = long[list(dict.fromkeys(["marker", "assay", where]))].drop_duplicates()
    names = names.assign(_key=names["marker"].astype(str).str.casefold())
    for (_, assay), block in names.groupby(["_key", "assay"], sort=True):
        spellings = list(dict.fromkeys(block[where].astype(str)))
        if len(spellings) > 1:
            what = "columns" if wide else "marker names"
            raise BadInputError(
                f"{source}: the {what} {' and '.join(map(repr, spellings))} name the same marker "
                f"({block['marker'].iloc[0]}, {assay}); names of one marker must be written "
                "one way. Merge them into one column or rename the one meant as another marker."
            )


def _infinite_values(long: pd.DataFrame, source: str) -> list[str]:
    """Infinite values (``inf``, ``#NUM!`` exported as Inf) become empty, with a note each."""
    infinite = np.isinf(long["value"].to_numpy(dtype=float))
    if not infinite.any():
        return []
    notes = _left_out(long[infinite], source, "an infinite", "")
    long.loc[infinite, "value"] = np.nan
    return notes


def _sample_name(row, ids) -> str:
    return " / ".join(str(row[c]) for c in ids)


def _left_out(rows: pd.DataFrame, source: str, what: str, why: str) -> list[str]:
    ids = sample_key(rows)
    return [f"{source} row {int(row['row'])}: sample {_sample_name(row, ids)} has {what} "
            f"{row['marker']} ({row['assay']}) value in column {row['_column']!r}{why}; "
            "that measurement is left out." for _, row in rows.iterrows()]


def check_duplicates(long: pd.DataFrame, source: str = "readouts") -> list[str]:
    """Rows measuring the same sample, marker and assay twice: an error with a
    ``replicate`` column, else a note (they are averaged as replicates)."""
    if "sample_id" not in long.columns:
        return []  # keyed by day/condition: several wells per key are pooled by design
    key = ["sample_id", "marker", "assay"] + (["replicate"] if "replicate" in long.columns else [])
    repeated = long[long.duplicated(subset=key, keep=False)]
    if repeated.empty:
        return []
    groups = [(block.iloc[0], sorted(block["row"].astype(int)))
              for _, block in repeated.groupby(key, sort=True, dropna=False)]
    listing = "; ".join(
        f"sample {first['sample_id']} {first['marker']} ({first['assay']})"
        + (f" replicate {first['replicate']}" if "replicate" in key else "") + f" on rows {rows}"
        for first, rows in groups[:10]
    ) + (f" (and {len(groups) - 10} more)" if len(groups) > 10 else "")
    if "replicate" in key:
        raise BadInputError(
            f"{source}: duplicated sample ids: {listing}. Remove the repeated rows or number "
            "the replicates differently."
        )
    return [f"{source}: repeated rows for one sample (no replicate column), averaged as "
            f"replicates: {listing}."]


def normalise_to_loading_control(long: pd.DataFrame, control: str | None = None,
                                 source: str = "readouts") -> pd.DataFrame:
    """Divide band intensities by ``control`` (a marker of the same sample, replicate and
    assay, e.g. ``"GAPDH"``; its rows are dropped) or else a ``loading_control`` column."""
    long = long.copy()
    if control is None:
        if "loading_control" in long.columns:
            has = long["loading_control"].notna()
            zero = has & (long["loading_control"] == 0)
            if zero.any():
                raise BadInputError(
                    f"{source}: loading_control is 0 in rows {sorted(long.loc[zero, 'row'])[:20]}."
                )
            long.loc[has, "value"] = long.loc[has, "value"] / long.loc[has, "loading_control"]
        return long.drop(columns=["loading_control"], errors="ignore")
    control = canonical_marker(control)
    keys = [c for c in (*ID_COLUMNS, "replicate", "assay") if c in long.columns]
    controls = long[long["marker"] == control]
    if controls.empty:
        raise BadInputError(
            f"{source} has no rows for the loading control {control!r}; "
            f"its markers are {sorted(long['marker'].unique())}."
        )
    control_values = controls.groupby(keys, dropna=False)["value"].mean().rename("_control")
    targets = long[(long["marker"] != control) & long["assay"].isin(controls["assay"].unique())]
    merged = targets.join(control_values, on=keys)
    unmatched = merged["_control"].isna() | (merged["_control"] == 0)
    if unmatched.any():
        raise BadInputError(
            f"{source}: rows {sorted(merged.loc[unmatched, 'row'])[:20]} have no (non-zero) "
            f"{control} value for the same sample, replicate and assay."
        )
    long.loc[merged.index, "value"] = merged["value"] / merged["_control"]
    long = long[long["marker"] != control]
    return long.drop(columns=["loading_control"], errors="ignore").reset_index(drop=True)


def check_consistent_metadata(frame: pd.DataFrame, key: str = "sample_id",
                              columns: Sequence[str] = ("donor", "day", "condition"),
                              source: str = "table") -> None:
    """Raise if one ``key`` value carries different metadata on different rows."""
    if key not in frame.columns:
        return
    problems = []
    for column in columns:
        if column not in frame.columns or column == key:
            continue
        distinct = frame.dropna(subset=[column]).groupby(key)[column].nunique()
        for sample in distinct[distinct > 1].index:
            values = sorted(map(str, frame.loc[frame[key] == sample, column].dropna().unique()))
            problems.append(f"{key} {sample!r} has {column} {', '.join(values)}")
    if problems:
        raise BadInputError(
            f"{source}: duplicate {key}s with conflicting metadata: "
            + "; ".join(problems[:10])
            + (f" (and {len(problems) - 10} more)" if len(problems) > 10 else "")
            + ". Give each sample one donor/day/condition or use distinct sample ids."
        )


def summarise_replicates(long: pd.DataFrame) -> pd.DataFrame:
    """One row per sample, marker and assay: ``value`` (replicate mean), ``value_sd``
    (ddof=1) and ``n_replicates``."""
    group = sample_key(long)
    meta = [c for c in ID_COLUMNS if c in long.columns and c not in group]
    grouped = long.groupby([*group, "marker", "assay"], sort=True, dropna=False)
    out = grouped["value"].agg(value="mean", value_sd="std", n_replicates="count").reset_index()
    if meta:
        first = grouped[meta].first().reset_index(drop=True)
        for column in meta:
            out.insert(len(group), column, first[column].to_numpy())
    return out


def table_and_name(source, what: str, name: str) -> tuple[pd.DataFrame, str]:
    """``source`` as a DataFrame (named ``name``) or read from its path (named by it)."""
    if isinstance(source, pd.DataFrame):
        return source, name
    if isinstance(source, (str, os.PathLike)):
        return read_table(source), os.fspath(source)
    raise TypeError(f"{what} must be a file path or a DataFrame, got {type(source).__name__}")


def read_readouts(source, markers: Sequence[str] | None = None,
                  loading_control: str | None = None, transform: str | None = None,
                  reference_gene: str | None = None,
                  control: str | None = None, efficiency=None,
                  undetermined: str | None = None) -> pd.DataFrame:
    """Read molecular readouts from a CSV/XLSX file or a DataFrame.

    Parameters
    ----------
    source : str, Path or DataFrame
        The readout table, long (``sample_id, marker, assay, value``) or wide (a column
        per marker: ``RUNX2``, ``RUNX2_qPCR``, ``RUNX2 (western)``).
    markers : sequence of str, optional
        Keep only these markers (aliases such as ``BGLAP`` understood); absent is an error.
    loading_control : str, optional
        Normalise western blot values to this marker (:func:`normalise_to_loading_control`).
    transform, reference_gene, control, efficiency, undetermined : optional
        qPCR options, applied before replicates are averaged (:func:`.qpcr.transform_qpcr`).

    Returns
    -------
    DataFrame
        One row per sample, marker and assay (:func:`summarise_replicates`);
        ``attrs["exclusions"]`` lists what was left out, ``attrs["sample_rows"]``
        each measurement's file row.

    Examples
    --------
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"sample_id": ["a", "a", "b"], "replicate": [1, 2, 1],
    ...                      "RUNX2_qPCR": [1.0, 3.0, 5.0]})
    >>> read_readouts(wide)[["sample_id", "marker", "assay", "value", "n_replicates"]]
      sample_id marker assay  value  n_replicates
    0         a  RUNX2  qPCR    2.0             2
    1         b  RUNX2  qPCR    5.0             1
    """
    frame, name = table_and_name(source, "readouts", "readouts")
    if frame.empty:
        raise BadInputError(
            f"{name} has no rows; give one row per sample (wide) or measurement (long)."
        )
    long = to_long(frame, source=name)
    notes = [*long.attrs.get("exclusions", []), *check_duplicates(long, source=name)]
    check_consistent_metadata(long, source=name)
    references = [canonical_marker(g) for g in parse_genes(reference_gene)]
    long = transform_qpcr(long, transform, references, control, source=name,
                          efficiency=efficiency, undetermined=undetermined)
    notes += long.attrs.get("qpcr_notes", [])
    long = normalise_to_loading_control(long, loading_control, source=name)
    if markers is not None:
        wanted = [canonical_marker(m) for m in markers]
        found = set(long["marker"])
        absent = [m for m in wanted if m not in found]
        if absent:
            raise BadInputError(
                f"{name} has no values for marker(s) {absent}; it has {sorted(found)}."
            )
        long = long[long["marker"].isin(wanted)]
    if long.empty:
        raise BadInputError(f"{name} holds no numeric marker values; fill in the value cells.")
    out = add_fold_change(summarise_replicates(long), transform, control, long)
    # what was left out and where each sample sits in the file, for the study's warnings
    out.attrs["exclusions"] = notes
    out.attrs["source"] = name
    out.attrs["sample_rows"] = {c: long[c].tolist() for c in (*ID_COLUMNS, "row")
                                if c in long.columns}
    return out
