"""Tables as spreadsheets write and read them: formulas never run, dialects are found.

Every CSV/XLSX the package writes goes through :func:`csv_safe` or :func:`xlsx_safe`;
:func:`read_text_table` finds encoding, separator and decimal mark. The rules are in
docs/results-and-correlation.md ("Spreadsheet safety").
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from .errors import BadInputError

logger = logging.getLogger(__name__)

__all__ = [
    "FORMULA_STARTS",
    "KEY_COLUMNS",
    "csv_safe",
    "escape_formula",
    "find_duplicate_columns",
    "formulas_as_text",
    "check_unique_columns",
    "is_key_column",
    "percent_columns",
    "read_text_table",
    "unescape_formula",
    "write_csv",
    "xlsx_safe",
]

#: First characters that make a spreadsheet evaluate a cell (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: Columns read as text (so ``1.10`` and ``001`` survive), with any ``*_id`` and
#: ``channel_<NAME>`` column and those a command joins or groups on.
KEY_COLUMNS = frozenset({
    "sample_id", "sample", "donor", "well", "plate", "field", "file", "path", "image",
    "labels", "nuclei", "cells", "nuclei_labels", "subject", "patient", "id",
})

#: Separators tried on a text table, in order of preference when several fit.
SEPARATORS = (",", ";", "\t")

# what XLSX (XML 1.0) cannot store; openpyxl refuses cells holding these
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_DECIMAL_COMMA = re.compile(r"\s*[-+]?\d+(,\d+)?([eE][-+]?\d+)?\s*")
_PERCENT = re.compile(r"\s*([-+]?\d+(?:[.,]\d+)?)\s*%\s*")


# --------------------------------------------------------------------------- writing
def escape_formula(text: str) -> str:
    """``'`` before a formula start (and before an existing ``'`` escape, so
    :func:`unescape_formula` gives back every text exactly)."""
    first, second = text[:1], text[1:2]
    if (first and first in FORMULA_STARTS) or (first == "'" and second
                                                 and second in (*FORMULA_STARTS, "'")):
        return "'" + text
    return text


def unescape_formula(text: str) -> str:
    """Undo :func:`escape_formula`: ``"'=1+1"`` -> ``"=1+1"``; other text is unchanged."""
    if text[:1] == "'" and text[1:2] and text[1:2] in (*FORMULA_STARTS, "'"):
        return text[1:]
    return text


def _text_columns(table: pd.DataFrame) -> list:
    return [table.columns[i] for i in _text_positions(table)]


def _text_positions(table: pd.DataFrame) -> list[int]:
    """Positions of the columns that may hold text (not numbers, times or booleans)."""
    kinds = (pd.api.types.is_numeric_dtype, pd.api.types.is_datetime64_any_dtype,
             pd.api.types.is_bool_dtype)
    return [i for i in range(table.shape[1])
            if not any(kind(table.iloc[:, i]) for kind in kinds)]


def _first_in(first: tuple[str, ...]):
    return lambda values: values.str[:1].isin(first)


def _map_text(table: pd.DataFrame, change, hits) -> pd.DataFrame:
    """A shallow copy with ``change`` applied to the text cells ``hits`` marks and the names."""
    table = table.copy(deep=False)
    for i in _text_positions(table):
        values = table.iloc[:, i]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(object)
        try:
            hit = hits(values).fillna(False).to_numpy(dtype=bool)
        except AttributeError:  # an object column holding no text
            continue
        if hit.any():
            values = values.copy()
            values[hit] = [change(v) for v in values[hit]]
            table.isetitem(i, values)
    table.columns = [change(c) if isinstance(c, str) else c for c in table.columns]
    if not pd.api.types.is_numeric_dtype(table.index):
        table.index = [change(v) if isinstance(v, str) else v for v in table.index]
    return table


def csv_safe(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` as it is written to CSV: formula-like text cells and names escaped."""
    return _map_text(table, escape_formula, _first_in((*FORMULA_STARTS, "'")))


def write_csv(table: pd.DataFrame, path, index: bool = False) -> None:
    """Write ``table`` as CSV with :func:`csv_safe` text (not atomic: give a temporary path).

    A carriage return in text makes every text cell quoted: the csv module leaves it
    bare and readers would split the row there.
    """
    safe = csv_safe(table)
    bare_cr = any(_count(safe.iloc[:, i], "\r") for i in _text_positions(safe))
    safe.to_csv(path, index=index, quoting=csv.QUOTE_NONNUMERIC if bare_cr else csv.QUOTE_MINIMAL)


def _count(values: pd.Series, pattern) -> int:
    """How many text cells of ``values`` hold ``pattern`` (a string or compiled regex)."""
    try:
        return int(values.astype(object).str.contains(pattern, regex=not isinstance(pattern, str),
                                                      na=False).sum())
    except AttributeError:  # no text in the column
        return 0


def xlsx_safe(table: pd.DataFrame, where: str) -> pd.DataFrame:
    """``table`` with the control characters XLSX cannot hold replaced by U+FFFD, warning
    once per column."""
    def illegal(values):
        return values.str.contains(_XLSX_ILLEGAL, na=False)

    for i in _text_positions(table):
        if count := _count(table.iloc[:, i], _XLSX_ILLEGAL):
            logger.warning("warning: %s: column %r holds control characters a spreadsheet "
                           "cannot store (e.g. \\x01) in %d cell(s); they are written as "
                           "U+FFFD (\ufffd). Export to .csv or .parquet to keep them.",
                           where, str(table.columns[i]), count)
    return _map_text(table, lambda text: _XLSX_ILLEGAL.sub("\ufffd", text), illegal)


def formulas_as_text(sheet) -> None:
    """Store every formula cell of an openpyxl ``sheet`` as text (openpyxl makes ``=...``
    a formula; the package writes values only)."""
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"


# --------------------------------------------------------------------------- reading
def is_key_column(name, extra: Iterable[str] = ()) -> bool:
    """Whether column ``name`` identifies samples or files (read as text)."""
    key = str(name).strip().lower().replace(" ", "_")
    return (key in KEY_COLUMNS or key.endswith("_id") or key.startswith("channel_")
            or key in {str(e).strip().lower() for e in extra})


#: Encodings tried in turn: (Python codec, name for messages). Latin-1 decodes anything.
_ENCODINGS = (("utf-8-sig", "UTF-8"), ("cp1252", "Windows-1252"), ("latin-1", "Latin-1"))
#: How much of a file the separator and header are found from.
_SAMPLE_BYTES = 1 << 16


def _encoding(path: Path) -> tuple[str, str, str]:
    """The codec of a table file, its name, and the text of its first 64 KiB.

    The whole file is checked in chunks, so one Windows-1252 byte at the end counts.
    """
    import codecs

    with open(path, "rb") as handle:
        head = handle.read(_SAMPLE_BYTES)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16", "UTF-16", head.decode("utf-16", errors="ignore")
    for codec, name in _ENCODINGS:
        decoder = codecs.getincrementaldecoder(codec)()
        try:
            with open(path, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return codec, name, codecs.getincrementaldecoder(codec)().decode(head)
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _separator(text: str, suffix: str) -> str:
    """The separator that splits the header into most columns, every line alike."""
    default = "\t" if suffix in (".tsv", ".tab") else ","
    widths = {}
    for sep in SEPARATORS:
        rows = _records(text, sep, 50)
        if rows and len(rows[0]) > 1:
            widths[sep] = (all(len(r) == len(rows[0]) for r in rows), len(rows[0]))
    if not widths:
        return default
    # a separator that splits every line alike wins; then the one giving more columns
    return max(widths, key=lambda sep: (*widths[sep], sep == default))


def _records(text: str, sep: str, limit: int) -> list[list[str]]:
    """The first ``limit`` non-blank records of ``text`` split by ``sep`` (fewer if it breaks)."""
    rows = []
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=sep):
            if any(cell.strip() for cell in row):
                rows.append(row)
            if len(rows) >= limit:
                break
    except csv.Error:  # a stray quote or line break: what was read so far decides
        pass
    return rows


def find_duplicate_columns(names: list) -> dict[str, list[int]]:
    """Column names given more than once (ignoring blanks): name -> 1-based positions."""
    positions: dict[str, list[int]] = {}
    for k, name in enumerate(names, start=1):
        missing = name is None or (isinstance(name, float) and name != name)
        text = "" if missing else str(name).strip()
        if text and not text.lower().startswith("unnamed:"):
            positions.setdefault(text, []).append(k)
    return {n: p for n, p in positions.items() if len(p) > 1}


def read_text_table(path: Path, text_columns: Iterable[str] = ()) -> pd.DataFrame:
    """Read a CSV/TSV/TXT table whatever its encoding, separator and decimal mark.

    ``attrs["dialect"]`` says what was found, ``attrs["lines"]`` each row's file line.
    """
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic == b"PK\x03\x04":  # a zip: what Excel saves as .xlsx
        raise BadInputError(f"{path} is an Excel workbook (.xlsx) with another suffix; rename "
                            "it to .xlsx, or save it from Excel as CSV.")
    if magic == b"PAR1":
        raise BadInputError(f"{path} is a Parquet file with another suffix; rename it to "
                            ".parquet.")
    codec, encoding, sample = _encoding(path)
    if "\x00" in sample:
        raise BadInputError(f"{path} is not a text table: it holds binary data (NUL bytes). "
                            "Give a CSV/TSV file, or an .xlsx/.parquet file with its own suffix.")
    sep = _separator(sample, path.suffix.lower())
    header = next(iter(_records(sample, sep, 1)), [])
    check_unique_columns([unescape_formula(h) for h in header], str(path))
    text_columns = list(text_columns)
    dtype = {name: str for name in header if is_key_column(unescape_formula(name), text_columns)}
    # blank lines above the header are skipped; those below are kept as empty rows first,
    # so every row knows its file line
    above = next((k for k, line in enumerate(sample.splitlines())
                  if line.strip(sep + " \ufeff")), 0)
    frame = pd.read_csv(path, sep=sep, dtype=dtype or None, encoding=codec,
                        skip_blank_lines=False, skiprows=above)
    blank = frame.isna().all(axis=1).to_numpy()
    lines = [above + i + 2 for i in range(len(frame)) if not blank[i]]
    frame = frame[~blank].reset_index(drop=True)
    # columns without a name and without values: trailing separators of a spreadsheet export
    empty = [c for c in frame.columns
             if str(c).startswith("Unnamed:") and frame[c].isna().all()]
    frame = frame.drop(columns=empty)
    found = [f"separator {'tab' if sep == chr(9) else repr(sep)}", encoding]
    if sep != "," and _decimal_commas(frame, text_columns):
        found.insert(1, "decimal comma")
    frame = _map_text(frame, unescape_formula, _first_in(("'",)))
    frame = percent_columns(frame, str(path), text_columns)
    frame.attrs["lines"] = lines
    frame.attrs["dialect"] = ", ".join(found)
    return frame


def _decimal_commas(frame: pd.DataFrame, text_columns) -> list:
    """Turn text columns of decimal-comma numbers (``0,65``) into numbers, in place."""
    converted = []
    for column in _text_columns(frame):
        if is_key_column(column, text_columns):
            continue
        values = frame[column].dropna().astype(str)
        values = values[values.str.strip() != ""]
        if (len(values) and values.map(lambda v: bool(_DECIMAL_COMMA.fullmatch(v))).all()
                and values.str.contains(",").any()):
            frame[column] = pd.to_numeric(frame[column].astype(str).str.replace(",", ".")
                                          .where(frame[column].notna()), errors="coerce")
            converted.append(column)
    return converted


def percent_columns(frame: pd.DataFrame, where: str,
                    text_columns: Iterable[str] = ()) -> pd.DataFrame:
    """Text columns of percentages (``52.4%``) as fractions, as Excel stores them, with a
    warning naming each."""
    for column in _text_columns(frame):
        if is_key_column(column, text_columns):
            continue
        cells = [v for v in frame[column].astype(object) if isinstance(v, str) and v.strip()]
        if not cells or not all(_PERCENT.fullmatch(v) for v in cells):
            continue
        frame[column] = [_fraction(v) if isinstance(v, str) and v.strip() else float("nan")
                         for v in frame[column].astype(object)]
        logger.warning("warning: %s: column %r holds percentages; they are read as fractions, "
                       "as the spreadsheet stores them (%r -> %g).", where, column, cells[0],
                       _fraction(cells[0]))
    return frame


def _fraction(text: str) -> float:
    return float(_PERCENT.fullmatch(text).group(1).replace(",", ".")) / 100


def check_unique_columns(names: list, where: str) -> None:
    """Refuse a table that names a column twice (pandas would rename one to ``X.1``)."""
    duplicates = find_duplicate_columns(names)
    if duplicates:
        listing = "; ".join(f"{name!r} is column {' and '.join(map(str, pos))}"
                            for name, pos in duplicates.items())
        raise BadInputError(
            f"{where}: a column name appears more than once ({listing}); only one could be "
            "used and the other would be read as a different column. Rename or delete the "
            "repeated column."
        )
