"""Which files make a study and what each one is: donor, day, condition, field.

The keys come from a sample sheet (a ``file`` column and one column per key) or from
the file names through a pattern such as ``{donor}_{condition}_day{day}_{field}.tif``.
Keys are always text (``001`` stays ``001``).
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BadInputError
from .fields import _cell, expand_spec, field_names, unique_names

__all__ = ["StudyField", "pattern_regex", "sample_keys", "study_fields"]

#: Columns of a sample sheet that name the file (the first one present is used).
FILE_COLUMNS = ("file", "path", "image", "filename")
#: How many problems an error lists before it says "and N more".
MAX_LISTED = 10
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


#: The pattern key that names a channel: files that differ only in it are one field.
CHANNEL_KEY = "channel"


@dataclass(frozen=True)
class StudyField:
    """One field of a study: a unique name, its file and its keys (text); ``channel_files``
    maps channel to file where each channel is its own file (``path``: the first)."""

    name: str
    path: str
    keys: dict = field(default_factory=dict)
    channel_files: dict = field(default_factory=dict)

    def spec(self, channel: str | None) -> str:
        """``FILE[:CHANNEL]`` of one channel of this field."""
        if not self.channel_files:
            return self.path if channel is None else f"{self.path}:{channel}"
        for name, path in self.channel_files.items():
            if channel is not None and name.lower() == str(channel).lower():
                return path
        raise BadInputError(f"field {self.name}: no file for channel {channel!r}; its channel "
                            f"files are {', '.join(self.channel_files)} (the {{channel}} part "
                            "of the pattern).")

    def files(self) -> list[str]:
        return list(self.channel_files.values()) or [self.path]


def pattern_regex(pattern: str) -> re.Pattern:
    """A file-name pattern with ``{key}`` placeholders (as few characters as possible,
    no ``/``) and ``*`` (any text) as a regular expression.

    >>> pattern_regex("{donor}_day{day}.tif").fullmatch("D1_day7.tif").groupdict()
    {'donor': 'D1', 'day': '7'}
    """
    names = _PLACEHOLDER.findall(pattern)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise BadInputError(f"pattern {pattern!r} names {repeated} twice; give each key once.")
    if not names:
        raise BadInputError(f"pattern {pattern!r} has no {{key}}; write e.g. "
                            "'{donor}_{condition}_day{day}_{field}.tif'.")
    parts, last = [], 0
    for match in _PLACEHOLDER.finditer(pattern):
        parts.append(_literal(pattern[last:match.start()]))
        parts.append(f"(?P<{match.group(1)}>[^/]+?)")
        last = match.end()
    parts.append(_literal(pattern[last:]))
    return re.compile("".join(parts), re.IGNORECASE)


def _literal(text: str) -> str:
    return ".*?".join(re.escape(piece) for piece in text.split("*"))


def study_fields(inputs, *, pattern: str | None = None, sheet=None,
                 out_dir=None) -> list[StudyField]:
    """The fields of a study, with their keys.

    Parameters
    ----------
    inputs : sequence of str or Path
        Files, folders or globs (may be empty when ``sheet`` lists the files).
    pattern : str, optional
        Keys from each file's name (with a ``/``: its path below the common folder).
    sheet : path, optional
        A CSV/XLSX with a ``file`` column (relative to its folder) and key columns.
    out_dir : path, optional
        The study's output folder, whose files are never fields.

    Raises
    ------
    BadInputError
        No file, a file that does not match the pattern, a bad sheet row; each named.
    """
    files = [str(Path(f).resolve()) for spec in inputs for f in expand_spec(spec)]
    if out_dir is not None:
        out = Path(out_dir).resolve()
        files = [f for f in files if out not in Path(f).parents]
    if sheet is not None:
        rows = _sheet_rows(Path(sheet))
        wanted = set(files)
        outside = [f for f, _ in rows if f not in wanted]
        if files and outside:
            raise BadInputError(f"sample sheet {sheet} lists {len(outside)} file(s) that are "
                                f"not among the inputs, e.g. {outside[0]}; give the folder "
                                "that holds them, or only the sheet.")
    elif not files:
        raise BadInputError("no image files given; give a folder, a glob or files "
                            "(or a --sheet that lists them).")
    else:
        rows = [(f, {}) for f in dict.fromkeys(files)]
    if pattern:
        rows = _keys_from_pattern(rows, pattern)
    channel_files = [{}] * len(rows)
    names = None
    if any(CHANNEL_KEY in keys for _, keys in rows):
        rows, channel_files = _group_channels(rows)
        # no one file names the field: its keys do (plate1_A01_DAPI.tif -> A01)
        names = ["_".join(keys.values()) for _, keys in rows]
        if len(set(names)) < len(names) or not all(names):
            names = None
    # unique names from the files, so a field's outputs never overwrite another's
    names = names or unique_names(field_names([path for path, _ in rows]))
    return [StudyField(name, path, keys, channels)
            for name, (path, keys), channels in zip(names, rows, channel_files, strict=True)]


def _group_channels(rows):
    """Files that differ only in their ``{channel}`` part are the channels of one field."""
    groups: dict[tuple, dict] = {}
    for path, keys in rows:
        rest = {k: v for k, v in keys.items() if k != CHANNEL_KEY}
        channels = groups.setdefault(tuple(rest.items()), {})
        name = keys.get(CHANNEL_KEY, "")
        if name in channels:
            raise BadInputError(f"{Path(path).name} and {Path(channels[name]).name} give the "
                                f"same field the same channel {name!r}; the pattern's other "
                                "keys must tell the fields apart.")
        channels[name] = path
    return ([(next(iter(ch.values())), dict(rest)) for rest, ch in groups.items()],
            list(groups.values()))


def sample_keys(fields: list[StudyField]) -> list[str]:
    """The keys that name a sample: every key except ``field`` (the field within a sample)."""
    keys = dict.fromkeys(k for f in fields for k in f.keys)
    return [k for k in keys if k.lower() != "field"]


def _keys_from_pattern(rows, pattern: str):
    regex = pattern_regex(pattern)
    common = Path(os.path.commonpath([str(Path(p).parent) for p, _ in rows]))
    matched, missed = [], []
    for path, keys in rows:
        text = Path(path).relative_to(common).as_posix() if "/" in pattern else Path(path).name
        found = regex.fullmatch(text)
        if found is None:
            missed.append(text)
            continue
        matched.append((path, {**keys, **{k: v for k, v in found.groupdict().items()}}))
    if missed:
        listed = ", ".join(missed[:MAX_LISTED]) + (f" and {len(missed) - MAX_LISTED} more"
                                                   if len(missed) > MAX_LISTED else "")
        raise BadInputError(f"{len(missed)} of {len(rows)} file(s) do not match the pattern "
                            f"{pattern!r}: {listed}. Edit the pattern ('*' matches any text) or "
                            "move the other files out of the folder.")
    return matched


def _sheet_rows(sheet: Path) -> list[tuple[str, dict]]:
    table = _read_as_text(sheet)
    columns = {str(c).strip().lower(): c for c in table.columns}
    file_column = next((columns[c] for c in FILE_COLUMNS if c in columns), None)
    if file_column is None:
        raise BadInputError(f"sample sheet {sheet} has no file column ({', '.join(FILE_COLUMNS)}); "
                            f"its columns: {', '.join(map(str, table.columns))}.")
    key_columns = [c for c in table.columns if c != file_column]
    rows, problems = [], []
    for i, record in enumerate(table.to_dict("records")):
        text = _cell(record[file_column])
        if text is None:
            continue  # a blank row
        path = Path(text) if Path(text).is_absolute() else sheet.parent / text
        if not path.exists():
            problems.append(f"row {i + 2}: {text} does not exist")
            continue
        rows.append((str(path.resolve()), {str(c).strip(): _cell(record[c]) or ""
                                           for c in key_columns}))
    if problems:
        listed = "; ".join(problems[:MAX_LISTED])
        raise BadInputError(f"sample sheet {sheet}: {len(problems)} problem(s): {listed}. Paths "
                            "are relative to the sheet's folder.")
    if not rows:
        raise BadInputError(f"sample sheet {sheet} lists no file.")
    return rows


def _read_as_text(sheet: Path):
    """Every cell as written (``007`` stays ``007``, ``1.10`` is not ``1.1``): keys are ids."""
    import pandas as pd

    from ..io import read_table

    if not sheet.exists():
        raise BadInputError(f"sample sheet {sheet} does not exist.")
    suffix = sheet.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        try:  # the separator as written (a European Excel writes ';')
            return pd.read_csv(sheet, sep=None, engine="python", dtype=str,
                               keep_default_na=False, encoding="utf-8-sig")
        except (UnicodeDecodeError, pd.errors.ParserError, csv.Error) as err:
            raise BadInputError(f"sample sheet {sheet} cannot be read as a table ({err}); save "
                                "it as CSV (UTF-8) or XLSX.") from None
    if suffix in (".xlsx", ".xls"):
        read_table(sheet)  # its checks and messages (a missing openpyxl names the extra)
        return pd.read_excel(sheet, dtype=str, keep_default_na=False)
    return read_table(sheet).astype(str)

