"""Aggregate image-derived scores: cells -> images -> samples; metadata from file names."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import PurePath

import numpy as np
import pandas as pd

from ..errors import BadInputError
from ..registry import Registry
from .readouts import _sample_name, check_consistent_metadata

logger = logging.getLogger(__name__)

#: Sample metadata columns of the results table.
METADATA_COLUMNS = ("sample_id", "donor", "day", "condition")

#: Columns that describe a sample or an image rather than score it.
NON_SCORE_COLUMNS = (
    *METADATA_COLUMNS, "passage", "replicate", "layer", "image", "label", "row", "path",
)

#: Prefix of class-probability columns (``p_<class>``, see models.tasks.probability_column).
PROBABILITY_PREFIX = "p_"

# Pattern fields that hold numbers, parsed as int (or float).
_NUMERIC_FIELDS = ("day", "passage", "replicate")


def score_columns(frame: pd.DataFrame, exclude: Sequence[str] = ()) -> list[str]:
    """Numeric columns of ``frame`` that are scores (not metadata, ``*_sd`` or ``n_*`` counts).

    Examples
    --------
    >>> frame = pd.DataFrame({"sample_id": ["a"], "day": [7], "osscore": [0.4],
    ...                       "osscore_sd": [0.1], "n_images": [2]})
    >>> score_columns(frame)
    ['osscore']
    """
    skip = {*NON_SCORE_COLUMNS, *exclude}
    return [str(c) for c in frame.columns
            if str(c) not in skip and not str(c).endswith("_sd") and not str(c).startswith("n_")
            and pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])]


def require_columns(frame: pd.DataFrame, wanted: Sequence[str], message: str, **names) -> None:
    """A BadInputError when ``frame`` lacks a ``wanted`` column: ``message`` formatted with
    ``missing`` (the absent names), ``first`` (the first of them), ``columns`` and ``names``."""
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise BadInputError(message.format(missing=missing, first=missing[0],
                                           columns=list(frame.columns), **names))


def parse_columns(columns: str | Sequence[str]) -> list[str]:
    """Column names from ``"day, condition"`` (comma-separated text) or a sequence.

    Examples
    --------
    >>> parse_columns("day, condition")
    ['day', 'condition']
    >>> parse_columns(("sample_id",))
    ['sample_id']
    """
    if isinstance(columns, str):
        return [part.strip() for part in columns.split(",") if part.strip()]
    return [str(column).strip() for column in columns]


#: The usual ways to say which rows of the scores and readouts are one sample
#: (widget combo-box entries, CLI help); any other column list works too.
SAMPLE_KEYS: Registry[tuple[str, ...]] = Registry("sample key")
SAMPLE_KEYS.add("sample_id", ("sample_id",),
                help="readouts measured on the imaged wells: one id per sample in both tables")
SAMPLE_KEYS.add("day, condition", ("day", "condition"),
                help="readouts measured on parallel wells: join per day and condition")
SAMPLE_KEYS.add("donor, day, condition", ("donor", "day", "condition"),
                help="parallel wells per donor: one sample per donor, day and condition "
                     "(keeps donors apart for --repeated-by donor)")


def aggregate_cells(cells: pd.DataFrame, by: str | Sequence[str] = "image",
                    columns: Sequence[str] | None = None,
                    size_weighting: str = "miles-lantuejoul") -> pd.DataFrame:
    """Mean of per-cell measurements per image, sample or any grouping, with ``n_cells``.

    Parameters
    ----------
    cells : DataFrame
        One row per cell, e.g. a labels layer's ``features``.
    by : str or sequence of str
        Column(s) naming each cell's group (``image``, or ``sample_id``).
    columns : sequence of str, optional
        Measurements to average; all numeric non-metadata columns by default.
    size_weighting : str
        A :data:`~napari_msc_morph.morphology.summary.SIZE_WEIGHTINGS` name; the default
        weights each cell by its Miles–Lantuéjoul ``edge_weight`` (plain means without one).

    Returns
    -------
    DataFrame
        One row per group: ``by``, the (weighted) means, ``n_cells``, ``n_cells_sized``
        (rows with a positive weight) and ``size_weighting`` (the weighting used).

    Examples
    --------
    >>> cells = pd.DataFrame({"image": ["a", "a", "a"], "area_um2": [100.0, 300.0, 900.0],
    ...                       "edge_weight": [1.0, 3.0, 0.0]})
    >>> aggregate_cells(cells)[["area_um2", "n_cells", "n_cells_sized"]].to_dict("records")
    [{'area_um2': 250.0, 'n_cells': 3, 'n_cells_sized': 2}]
    """
    from ..morphology.edge import weighted_mean
    from ..morphology.summary import SIZE_WEIGHTINGS

    by = parse_columns(by)
    SIZE_WEIGHTINGS.entry(size_weighting)
    require_columns(cells, by, "cell table has no column(s) {missing} to group by; its columns "
                               "are {columns}.")
    columns = (list(columns) if columns is not None
               else [c for c in score_columns(cells, exclude=by) if c != "edge_weight"])
    used = size_weighting
    if used == "miles-lantuejoul" and "edge_weight" not in cells.columns:
        logger.warning("aggregate_cells: the cell table has no edge_weight column, so the means "
                       "are not edge-corrected (size_weighting 'none'); measure the cells again "
                       "to get it.")
        used = "none"
    weights = (pd.to_numeric(cells["edge_weight"], errors="coerce").to_numpy(dtype=float)
               if used != "none" else np.ones(len(cells)))
    frame = cells[by + columns].assign(_weight=weights)
    rows = []
    for key, part in frame.groupby(by, sort=True):  # by is a list: every key is a tuple
        w = part["_weight"].to_numpy()
        row = dict(zip(by, key, strict=True))
        row.update({c: weighted_mean(pd.to_numeric(part[c], errors="coerce"), w)
                    for c in columns})
        row["n_cells"] = len(part)
        row["n_cells_sized"] = int(np.count_nonzero(np.nan_to_num(w) > 0))
        row["size_weighting"] = used
        rows.append(row)
    return pd.DataFrame(rows, columns=[*by, *columns, "n_cells", "n_cells_sized",
                                       "size_weighting"])


def aggregate_to_samples(images: pd.DataFrame, on: str | Sequence[str] = "sample_id",
                         scores: Sequence[str] | None = None,
                         source: str = "scores") -> pd.DataFrame:
    """Average per-image scores over the images of each sample.

    Parameters
    ----------
    images : DataFrame
        One row per image (e.g. the results table) with the join column(s) and scores.
    on : str or sequence of str
        The sample key: ``"sample_id"`` or e.g. ``"day, condition"``.
    scores : sequence of str, optional
        Score columns to aggregate; all numeric non-metadata columns by default.
    source : str
        A name for the table in error messages.

    Returns
    -------
    DataFrame
        One row per sample: the key, metadata unique within it, each score's mean and
        ``<score>_sd``, ``n_images`` and ``n_cells`` (when known). ``attrs["exclusions"]``
        lists what was left out, with file rows; ``attrs["sample_rows"]`` maps samples
        to rows (for :func:`sample_exclusions`).
    """
    on = parse_columns(on)
    if not on:
        raise BadInputError("Say which column(s) identify a sample, e.g. on='sample_id'.")
    require_columns(images, on, "{source} has no column(s) {missing} to join on; its columns are "
                    "{columns}. Fill in {first} (e.g. in the results table) or join on other "
                    "columns.", source=source)
    frame = images.copy()
    frame["_row"] = np.arange(len(frame)) + 2
    empty = frame[on].isna().any(axis=1) | (frame[on].astype(str).apply(
        lambda col: col.str.strip()) == "").any(axis=1)
    if empty.any():
        where = _describe_rows(frame, empty)
        raise BadInputError(
            f"{source}: {where} have no {' / '.join(on)}; fill them in or remove them.")
    if scores is None:
        scores = score_columns(frame.drop(columns=["_row"]), exclude=on)
        scores += _mostly_numeric_text_columns(frame.drop(columns=["_row"]), exclude=[*on, *scores])
    else:
        scores = list(scores)
        require_columns(images, scores, "{source} has no score column(s) {missing}; its columns "
                        "are {columns}. Name existing columns or leave the choice empty.",
                        source=source)
        keys = [s for s in scores if s in on or s in METADATA_COLUMNS]
        if keys:  # pandas would end in "cannot insert day, already exists"
            raise BadInputError(
                f"score column(s) {keys} name the samples (join keys and sample metadata such "
                f"as {', '.join(on)}), not a score; choose scores such as os_score or "
                "area_um2_median. For a trend over days: msc-morph compare --value SCORE --by day."
            )
    if not scores:
        raise BadInputError(
            f"{source} has no numeric score columns (e.g. osscore, median_area_um2); its "
            f"columns are {list(images.columns)}. Run a prediction or measurement first."
        )
    for score in scores:
        numbers = pd.to_numeric(frame[score], errors="coerce")
        bad = frame[score].notna() & numbers.isna()
        if bad.any():
            raise BadInputError(
                f"{source}: column {score!r} must hold numbers; {_describe_rows(frame, bad)} "
                f"hold {sorted(map(str, frame.loc[bad, score].unique()))[:5]}."
            )
        frame[score] = numbers.astype(float)
    if "sample_id" in on:
        frame["sample_id"] = frame["sample_id"].astype(str).str.strip()
        check_consistent_metadata(frame, "sample_id", source=source)
    notes = _empty_score_cells(frame, on, scores, source) + _repeated_images(frame, source)
    grouped = frame.groupby(on, sort=True)
    out = grouped[scores].mean()
    sds = grouped[scores].std(ddof=1).add_suffix("_sd")
    out = pd.concat([out, sds], axis=1)[[c for s in scores for c in (s, f"{s}_sd")]]
    out["n_images"] = grouped.size()
    count_column = next((c for c in ("n_cells", "cell_count") if c in frame.columns), None)
    if count_column is not None:
        out["n_cells"] = grouped[count_column].sum(min_count=1)
    # the size statistics' weighting travels with them when one weighting made them all
    meta = [c for c in (*METADATA_COLUMNS, "size_weighting") if c in frame.columns and c not in on]
    for column in meta:
        unique = grouped[column].nunique(dropna=True)
        if (unique <= 1).all():
            out.insert(0, column, grouped[column].first())
    out = out.reset_index()
    for score in scores:
        for _, row in out[out[score].isna()].iterrows():
            notes.append(f"{source}: sample {_sample_name(row, on)} has no {score} value in any of "
                         f"its images; it is left out of the {score} correlations.")
    out.attrs["exclusions"] = notes
    out.attrs["source"] = source
    out.attrs["sample_rows"] = {c: frame[c].tolist() for c in on}
    out.attrs["sample_rows"]["row"] = frame["_row"].tolist()
    return out


def _empty_score_cells(frame: pd.DataFrame, on: Sequence[str], scores: Sequence[str],
                       source: str) -> list[str]:
    """One note per image row whose score cell is empty (or NA): it is left out of that mean."""
    notes = []
    for score in scores:
        for _, row in frame[frame[score].isna()].iterrows():
            notes.append(f"{source} row {int(row['_row'])}: sample {_sample_name(row, on)} has no "
                         f"{score} (empty or NA cell); that image is left out of its mean.")
    return notes


def _repeated_images(frame: pd.DataFrame, source: str) -> list[str]:
    """The same image (or layer, and plane) on several rows counts twice in its sample's mean."""
    column = next((c for c in ("image", "layer", "path") if c in frame.columns), None)
    if column is None:
        return []
    key = [column] + (["plane"] if "plane" in frame.columns else [])
    repeated = frame[frame[key].notna().all(axis=1) & frame.duplicated(subset=key, keep=False)]
    return [f"{source}: {column} {name!r} is on rows {sorted(block['_row'].astype(int))}; "
            "each row counts in its sample's mean (remove the repeats if they are copies)."
            for name, block in repeated.groupby(column, sort=True)]


def sample_exclusions(samples: pd.DataFrame, readouts: pd.DataFrame,
                      on: str | Sequence[str] = "sample_id") -> list[str]:
    """Every sample (or measurement) a correlation leaves out, and why, with file rows.

    The tables' own ``attrs["exclusions"]``, then the samples found in only one table.

    Examples
    --------
    >>> samples = aggregate_to_samples(pd.DataFrame({"sample_id": ["a", "b"], "s": [1.0, 2.0]}))
    >>> readouts = pd.DataFrame({"sample_id": ["a"], "marker": ["RUNX2"], "value": [1.0]})
    >>> sample_exclusions(samples, readouts)
    ['sample b is in scores (rows 3) but not in readouts; it is left out.']
    """
    on = parse_columns(on)
    notes = [*samples.attrs.get("exclusions", []), *readouts.attrs.get("exclusions", [])]
    if any(c not in samples.columns or c not in readouts.columns for c in on):
        return notes
    names = samples.attrs.get("source", "scores"), readouts.attrs.get("source", "readouts")
    rows = _key_rows(samples, on), _key_rows(readouts, on)
    for mine, other in ((0, 1), (1, 0)):
        for key in sorted(set(rows[mine]) - set(rows[other]), key=str):
            where = f" (rows {row_list(rows[mine][key])})" if rows[mine][key] else ""
            notes.append(f"sample {' / '.join(map(str, key))} is in {names[mine]}{where} but not "
                         f"in {names[other]}; it is left out.")
    return notes


def row_list(rows, limit: int = 10) -> str:
    """File rows for a message: ``2, 3, 5 and 4 more``."""
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return ", ".join(map(str, list(rows)[:limit])) + more


def join_keys(frame: pd.DataFrame, on: Sequence[str]) -> pd.DataFrame:
    """Key columns as they are compared: sample ids as text, days as numbers."""
    frame = frame.copy()
    for column in on:
        if column == "day":
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
        else:
            frame[column] = frame[column].astype(str).str.strip()
    return frame


def _key_rows(frame: pd.DataFrame, on: list[str]) -> dict[tuple, list[int]]:
    """Join key (as join_readouts compares them) -> file rows holding it."""
    source = frame.attrs.get("sample_rows")
    table = pd.DataFrame(source) if source and all(c in source for c in on) else frame
    keys = join_keys(table[on], on)
    rows = table["row"] if "row" in table.columns else pd.Series([None] * len(table))
    found: dict[tuple, set[int]] = {}
    for key, row in zip(keys.itertuples(index=False, name=None), rows, strict=True):
        found.setdefault(tuple(key), set())
        if row is not None and not pd.isna(row):
            found[key].add(int(row))
    return {key: sorted(value) for key, value in found.items()}


def _mostly_numeric_text_columns(frame: pd.DataFrame, exclude: Sequence[str]) -> list[str]:
    """Text columns whose cells are mostly numbers: scores with a typo (checked later)."""
    found = []
    for column in frame.columns:
        # text columns are ``object`` in pandas 2 and ``str`` in pandas 3
        is_text = (pd.api.types.is_object_dtype(frame[column])
                   or pd.api.types.is_string_dtype(frame[column]))
        if column in exclude or column in NON_SCORE_COLUMNS or not is_text:
            continue
        values = frame[column].dropna()
        if len(values) and pd.to_numeric(values, errors="coerce").notna().mean() >= 0.5:
            found.append(column)
    return found


def _describe_rows(frame: pd.DataFrame, mask: pd.Series) -> str:
    rows = frame.loc[mask]
    label = f"rows {[int(r) for r in rows['_row'].head(10)]}"
    if "layer" in frame.columns:
        names = [str(n) for n in rows["layer"].head(10)]
        label += f" (layers {names})"
    if mask.sum() > 10:
        label += f" (and {int(mask.sum()) - 10} more)"
    return label


def name_pattern_regex(pattern: str) -> re.Pattern:
    """Compile a file-name pattern such as ``{donor}_P{passage}_d{day}`` to a regex.

    ``day``, ``passage`` and ``replicate`` match numbers, other fields the shortest
    run of characters; ``*`` matches anything.

    Examples
    --------
    >>> name_pattern_regex("{donor}_P{passage}_d{day}").pattern
    '(?P<donor>.+?)_P(?P<passage>\\\\d+(?:\\\\.\\\\d+)?)_d(?P<day>\\\\d+(?:\\\\.\\\\d+)?)'
    """
    parts = re.split(r"(\{[^{}]*\}|\*)", pattern)
    regex = []
    seen = set()
    for part in parts:
        if part == "*":
            regex.append(".*?")
        elif part.startswith("{") and part.endswith("}"):
            field = part[1:-1].strip()
            if not field.isidentifier():
                raise BadInputError(
                    f"Pattern field {part!r} in {pattern!r} must be a name such as {{donor}}."
                )
            if field in seen:
                regex.append(f"(?P={field})")
                continue
            seen.add(field)
            body = r"\d+(?:\.\d+)?" if field in _NUMERIC_FIELDS else ".+?"
            regex.append(f"(?P<{field}>{body})")
        else:
            regex.append(re.escape(part))
    if not seen:
        raise BadInputError(
            f"Pattern {pattern!r} has no {{field}}; e.g. '{{donor}}_P{{passage}}_d{{day}}'.")
    return re.compile("".join(regex))


def metadata_from_name(name: str, pattern: str) -> dict:
    """``{field: value}`` parsed from a file or layer name (empty when it does not match).

    The pattern matches the whole name without folder and extension, or else its start.

    Examples
    --------
    >>> metadata_from_name("/data/D3_P4_d14.tif", "{donor}_P{passage}_d{day}")
    {'donor': 'D3', 'passage': 4, 'day': 14}
    """
    stem = PurePath(str(name)).name
    regex = name_pattern_regex(pattern)
    candidates = [stem]
    while "." in candidates[-1]:
        candidates.append(candidates[-1].rsplit(".", 1)[0])
    # the whole name, shortest (no extension) first; else its start
    match = next((m for c in reversed(candidates) if (m := regex.fullmatch(c))),
                 None) or regex.match(candidates[-1])
    if match is None:
        return {}
    values = match.groupdict()
    for field in (f for f in _NUMERIC_FIELDS if f in values):
        number = float(values[field])
        values[field] = int(number) if number.is_integer() else number
    return values
