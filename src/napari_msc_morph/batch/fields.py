"""Fields, the unit of batch work, from a fields manifest (docs/scaling.md), folders or globs.

A *field* is one imaged position: its files by role, its sample and its pixel size.
"""

from __future__ import annotations

import glob
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BadInputError

__all__ = [
    "CHANNEL_PREFIX",
    "MANIFEST_COLUMNS",
    "Field",
    "FieldsManifestError",
    "expand_spec",
    "field_names",
    "fields_from_specs",
    "is_many",
    "read_fields_manifest",
    "unique_names",
    "unique_stem",
]

#: Prefix of the manifest columns naming intensity channels: ``channel_RUNX2``.
CHANNEL_PREFIX = "channel_"

#: Every column the fields manifest understands, and what it holds.
MANIFEST_COLUMNS = {
    "field": "unique field id; names the output files and the tables' `field` column "
             "(default: the stem of the row's first file)",
    "sample_id": "sample (well, donor, condition) the field belongs to; copied into the "
                 "output tables (optional)",
    "pixel_size_um": "pixel size in µm; wins over the files' metadata and --pixel-size "
                     "(optional; empty = from the file)",
    "nuclei": "segment: nuclear stain image (DAPI/Hoechst), FILE[:CHANNEL]",
    "cells": "segment: cytoplasm / actin image, FILE[:CHANNEL] (optional: adds cell labels)",
    "labels": "measure: label image of the objects to measure",
    "nuclei_labels": "measure: nuclei label image (optional: nucleus linkage, N/C means)",
    "n_border_excluded": "measure: objects segment dropped at the border (optional; "
                         "`segment`'s fields.csv has it)",
    f"{CHANNEL_PREFIX}<NAME>": "measure: intensity channel NAME, FILE[:CHANNEL] "
                               "(repeat the column for every marker)",
    "image": "predict: bright-field / phase-contrast image",
}

#: How many problems a manifest error lists before it says "and N more".
MAX_LISTED = 20


@dataclass(frozen=True)
class Field:
    """One field of a batch: a unique name, its files by role (``nuclei``, ``labels``,
    ``image``, ...) and intensity channels by name (absolute ``FILE[:CHANNEL]``), its
    sample, given pixel size (``None``: from the files) and manifest line (header = 1)."""

    name: str
    files: dict = field(default_factory=dict)
    channels: dict = field(default_factory=dict)
    sample_id: str | None = None
    pixel_size_um: float | None = None
    n_border_excluded: int | None = None
    line: int | None = None

    def keys(self) -> dict:
        """The columns that identify this field in output tables."""
        keys = {"field": self.name}
        if self.sample_id is not None:
            keys["sample_id"] = self.sample_id
        return keys


class FieldsManifestError(BadInputError):
    """A fields manifest with problems; each names its line and column."""

    def __init__(self, source, problems: list[tuple[int, str, str]]):
        self.source = str(source)
        self.problems = list(problems)
        listed = ";\n  ".join(f"{'line ' + str(line) if line else 'manifest'} [{column}]: {text}"
                             for line, column, text in self.problems[:MAX_LISTED])
        more = len(self.problems) - MAX_LISTED
        tail = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(f"fields manifest {self.source} has {len(self.problems)} problem(s); "
                         f"fix these and try again:\n  {listed}{tail}")


# --------------------------------------------------------------------------- manifest
def read_fields_manifest(path, required: tuple[str, ...], optional: tuple[str, ...] = (),
                         channels: bool = False) -> list[Field]:
    """Read and check a fields manifest; every problem is reported at once.

    Parameters
    ----------
    path : path
        CSV/TSV/XLSX; relative files are relative to its folder.
    required, optional : tuple of str
        File roles every row must have (``("nuclei",)`` for segment), or may have.
    channels : bool
        Read the ``channel_<NAME>`` columns (measure).

    Returns
    -------
    list of Field
        In row order.

    Raises
    ------
    FieldsManifestError
        Every problem, each naming its line and column.
    """
    from ..io import read_table

    path = Path(path)
    table = read_table(path)
    columns: dict = {}
    for column in table.columns:
        key = str(column).strip().lower()
        if key in columns:  # e.g. `nuclei` and `Nuclei`: one would be ignored
            raise FieldsManifestError(path, [(1, key, f"columns {columns[key]!r} and {column!r} "
                                                      "are the same column (names ignore case); "
                                                      "keep one")])
        columns[key] = column
    missing = [role for role in required if role not in columns]
    if missing:
        have = ", ".join(map(str, table.columns)) or "none"
        found = table.attrs.get("dialect")
        read_as = f"; read as {found}" if found else ""
        raise FieldsManifestError(path, [(0, role, f"required column {role!r} is missing "
                                                   f"(columns: {have}{read_as})")
                                         for role in missing])
    channel_columns = {}
    if channels:
        channel_columns = {str(c).strip()[len(CHANNEL_PREFIX):]: c for c in table.columns
                           if str(c).strip().lower().startswith(CHANNEL_PREFIX)}
    if table.empty:
        raise FieldsManifestError(path, [(0, "field", "the manifest has no rows")])
    base = path.parent
    problems: list[tuple[int, str, str]] = []
    fields: list[Field] = []
    seen: dict[str, int] = {}
    # blank lines are skipped in the table but count in the file
    lines = table.attrs.get("lines") or list(range(2, len(table) + 2))
    for line, record in zip(lines, table.to_dict("records"), strict=True):
        row = {key: _cell(record[column]) for key, column in columns.items()}  # by lower name
        files = {}
        for role in (*required, *optional):
            spec = row.get(role)
            if spec is None:
                if role in required:
                    problems.append((line, role, "empty; give the file of this field"))
                continue
            files[role] = _resolve(spec, base, line, role, problems)
        chans = {}
        for name, column in channel_columns.items():
            spec = _cell(record[column])
            if spec is None:
                problems.append((line, str(column).strip(), "empty; every field needs each "
                                 "channel (or drop the column)"))
                continue
            chans[name] = _resolve(spec, base, line, str(column).strip(), problems)
        name = row.get("field")
        if name is None:
            first = next(iter(files.values()), None) or next(iter(chans.values()), None)
            name = _stem(first) if first else f"field{len(fields) + 1}"
        if name in seen:
            problems.append((line, "field", f"{name!r} is also the field of line {seen[name]}; "
                                            "field ids must be unique"))
        seen.setdefault(name, line)
        pixel_size = _number(row, "pixel_size_um", line, problems, positive=True)
        excluded = _number(row, "n_border_excluded", line, problems, positive=False)
        sample = row.get("sample_id")
        fields.append(Field(name, files, chans, sample, pixel_size,
                            None if excluded is None else int(excluded), line))
    if problems:
        raise FieldsManifestError(path, problems)
    return fields


def _cell(value) -> str | None:
    if value is None or (isinstance(value, float) and value != value):  # NaN: an empty cell
        return None
    return str(value).strip() or None


def _resolve(spec: str, base: Path, line: int, column: str, problems: list) -> str:
    from ..channels import parse_image_spec

    candidate = os.path.abspath(spec if os.path.isabs(spec) else base / spec)
    file, channel = parse_image_spec(candidate)
    if not file.exists() and channel is not None and ":" in file.name:
        problems.append((line, column, f"{spec!r} has too many ':' parts: write FILE or "
                                       "FILE:CHANNEL with one channel name or number (e.g. "
                                       f"{spec.split(':')[0]}:{spec.split(':')[1]})"))
    elif not file.exists():
        problems.append((line, column, f"{file} does not exist (relative paths start "
                                       "from the manifest's folder)"))
    return str(file) if channel is None else f"{file}:{channel}"


def _number(row: dict, name, line, problems, positive: bool) -> float | None:
    text = row.get(name)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    ok = math.isfinite(value) and (value > 0 if positive else value >= 0 and value.is_integer())
    if not ok:
        want = "a positive number of µm" if positive else "a count of 0 or more"
        problems.append((line, name, f"{text!r} is not {want}"))
        return None
    return value


def _stem(spec: str) -> str:
    from ..channels import parse_image_spec

    name = parse_image_spec(spec)[0].name
    for suffix in (".ome.tiff", ".ome.tif", ".ome.zarr"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


# --------------------------------------------------------------------------- folders, globs
def _has_glob(text: str) -> bool:
    return any(ch in text for ch in "*?[")


def expand_spec(spec) -> list[str]:
    """``FILE[:CHANNEL]``, ``FOLDER[:CHANNEL]`` or ``GLOB[:CHANNEL]`` → sorted file specs.

    >>> expand_spec("plate1/*_dapi.tif")  # doctest: +SKIP
    ['plate1/A01_dapi.tif', 'plate1/A02_dapi.tif']
    >>> expand_spec("plate1/:0")  # every image of the folder, channel 0  # doctest: +SKIP
    """
    from ..channels import parse_image_spec
    from ..io import IMAGE_SUFFIXES, list_images

    text = os.fspath(spec)
    file, channel = parse_image_spec(text)
    if _has_glob(str(file)):
        found = sorted(Path(p) for p in glob.glob(str(file), recursive=True)
                       if Path(p).suffix.lower() in IMAGE_SUFFIXES or Path(p).is_file())
        if not found:
            raise BadInputError(f"{text}: no image file matches this pattern; check the "
                                "folder and the pattern (quote it so the shell leaves it alone).")
    elif file.is_dir() and file.suffix.lower() != ".zarr":
        found = list_images([file])
        if not found:
            raise BadInputError(f"{text}: the folder holds no image files "
                                f"({', '.join(IMAGE_SUFFIXES)}).")
    else:
        found = [file]
    return [str(p) if channel is None else f"{p}:{channel}" for p in found]


def is_many(spec) -> bool:
    """Whether ``spec`` names a folder or a pattern (batch work) rather than one file."""
    from ..channels import parse_image_spec

    if spec is None:
        return False
    file = parse_image_spec(os.fspath(spec))[0]
    return _has_glob(str(file)) or (file.is_dir() and file.suffix.lower() != ".zarr")


def fields_from_specs(specs: dict, channels: dict | None = None) -> list[Field]:
    """Fields from one spec per role (files, folders or globs), paired in sorted order.

    Parameters
    ----------
    specs : dict of str to (option, spec or list of specs)
        Role to the option that gave it and its value(s) (``None``: skipped); the
        first role's stems name the fields.
    channels : dict of str to (option, spec), optional
        Measure's intensity channels, paired the same way.

    Raises
    ------
    BadInputError
        A role expands to another number of files than the first one.
    """
    expanded: dict[str, tuple[str, list[str]]] = {}
    for role, (option, value) in specs.items():
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        expanded[role] = (option, [f for v in values for f in expand_spec(v)])
    chans = {name: (option, expand_spec(spec))
             for name, (option, spec) in (channels or {}).items()}
    (primary_option, primary), *_ = expanded.values()
    n = len(primary)
    for option, files in [*expanded.values(), *chans.values()]:
        if len(files) != n:
            raise BadInputError(
                f"{option} gives {len(files)} file(s) but {primary_option} gives {n}; folders "
                "and patterns are paired file by file in sorted order, so each needs the same "
                "number of files (or list each field's files in a --manifest)."
            )
    names = unique_names(field_names(primary))
    return [Field(names[k], {role: files[k] for role, (_, files) in expanded.items()},
                  {name: files[k] for name, (_, files) in chans.items()})
            for k in range(n)]


def field_names(specs: list[str]) -> list[str]:
    """Field ids from files: their stems, or where stems repeat (``D1/f0``, ``D2/f0``) the
    path below the files' common folder joined with ``_`` (``D1_f0``, ``D2_f0``)."""
    from ..channels import parse_image_spec

    stems = [_stem(s) for s in specs]
    if len(set(stems)) == len(stems):
        return stems
    files = [parse_image_spec(s)[0].resolve() for s in specs]
    common = Path(os.path.commonpath([f.parent for f in files]))
    return ["_".join((*f.parent.relative_to(common).parts, stem))
            for f, stem in zip(files, stems, strict=True)]


def unique_names(stems: list[str]) -> list[str]:
    """Make repeated stems unique: ``a``, ``a_2``, ``a_3``."""
    used: set[str] = set()
    return [unique_stem(stem, used) for stem in stems]


def unique_stem(base: str, used: set[str]) -> str:
    """``base`` made unique among ``used`` (``a``, ``a_2``, ...), and remembered there."""
    stem, k = base, 2
    while stem in used:
        stem, k = f"{base}_{k}", k + 1
    used.add(stem)
    return stem
