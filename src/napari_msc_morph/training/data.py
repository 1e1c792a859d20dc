"""Training manifests (one row per image; columns in docs/training.md), their checks, and reading fields."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import BadInputError
from ..io import IMAGE_SUFFIXES, read_image, read_table
from .integrity import find_duplicates

__all__ = [
    "ManifestError",
    "Problem",
    "REQUIRED_COLUMNS",
    "SPLIT_NAMES",
    "read_manifest",
    "manifest_from_folders",
    "load_manifest",
    "validate_manifest",
    "resolve_class_names",
    "load_field",
]

REQUIRED_COLUMNS = ("path", "label")
SPLIT_NAMES = ("train", "val", "test")
_SPLIT_ALIASES = {
    "train": "train", "training": "train",
    "val": "val", "valid": "val", "validation": "val",
    "test": "test", "testing": "test", "holdout": "test",
}
#: How many problems an error message lists before it says "and N more".
MAX_LISTED = 20


@dataclass(frozen=True)
class Problem:
    """One bad manifest row: ``line`` is the CSV line (header = 1), 0 for the whole table."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "manifest"
        return f"{where} [{self.column}]: {self.message}"


class ManifestError(BadInputError):
    """A manifest that cannot be trained on; ``problems`` lists every offending row."""

    def __init__(self, source, problems: list[Problem]):
        self.source = str(source)
        self.problems = list(problems)
        listed = "\n  ".join(str(p) for p in self.problems[:MAX_LISTED])
        more = len(self.problems) - MAX_LISTED
        tail = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(
            f"{self.source} has {len(self.problems)} problem(s); fix these rows and try again:"
            f"\n  {listed}{tail}"
        )


# --------------------------------------------------------------------------- reading
def read_manifest(path: str | os.PathLike) -> pd.DataFrame:
    """Read a manifest CSV/TSV/XLSX; image paths become absolute (relative to its folder).

    Returns
    -------
    DataFrame
        ``path`` (absolute), ``label``, the optional columns, and ``line`` (the file's
        line of each row, for messages).
    """
    path = Path(path)
    return _normalise(_with_required_columns(read_table(path), path), base=path.parent)


def manifest_from_folders(root: str | os.PathLike) -> pd.DataFrame:
    """A manifest of ``root/<label>/<donor>/*.tif``, or ``root/<label>/*.tif`` (one donor per image)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder of class folders.")
    rows = []
    no_donor = False
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for image in sorted(class_dir.rglob("*")):
            if image.suffix.lower() not in IMAGE_SUFFIXES or not image.is_file():
                continue
            rel = image.relative_to(class_dir)
            if len(rel.parts) > 1:
                donor = rel.parts[0]
            else:
                donor = f"{class_dir.name}/{image.stem}"
                no_donor = True
            rows.append({"path": str(image), "label": class_dir.name, "donor": donor})
    if not rows:
        raise BadInputError(
            f"{root} holds no images in class sub-folders; expected {root}/<label>/<image>.tif "
            f"or {root}/<label>/<donor>/<image>.tif."
        )
    if no_donor:
        warnings.warn(
            f"{root}: images directly in class folders have no donor; each image is treated "
            "as its own donor. Put them in <label>/<donor>/ folders for a donor-grouped split.",
            stacklevel=2,
        )
    return _normalise(pd.DataFrame(rows), base=root)


def load_manifest(source) -> pd.DataFrame:
    """A manifest from a CSV/TSV/XLSX file, a folder-per-class root, or a DataFrame."""
    if isinstance(source, pd.DataFrame):
        return _normalise(_with_required_columns(source.copy(), "manifest table"), base=Path.cwd())
    source = Path(source)
    if source.is_dir():
        return manifest_from_folders(source)
    return read_manifest(source)


def _with_required_columns(table: pd.DataFrame, source) -> pd.DataFrame:
    """``table`` with lower-case column names, or a ManifestError naming the missing ones."""
    table.columns = [str(c).strip().lower() for c in table.columns]
    repeated = sorted({c for c in table.columns if list(table.columns).count(c) > 1})
    if repeated:  # `Label` and `label`: one would be ignored
        raise ManifestError(source, [Problem(1, c, f"the column {c!r} is given more than once "
                                                   "(names ignore case); keep one")
                                     for c in repeated])
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise ManifestError(
            source,
            [Problem(0, c, f"required column {c!r} is missing (columns: "
                     f"{', '.join(map(str, table.columns)) or 'none'}"
                     + (f"; read as {table.attrs['dialect']}" if table.attrs.get("dialect")
                        else "") + ")") for c in missing],
        )
    return table


def _normalise(table: pd.DataFrame, base: Path) -> pd.DataFrame:
    table = table.copy()
    if "line" not in table.columns:  # the file line of each row; blank lines count in the file
        lines = table.attrs.get("lines")
        table["line"] = lines if lines and len(lines) == len(table) else np.arange(2, len(table) + 2)
    table = table.reset_index(drop=True)

    def text(value):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return ""
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value).strip()

    for col in ("path", "label", "donor", "split", "condition"):
        if col in table.columns:
            table[col] = [text(v) for v in table[col]]
    # relative paths are relative to the manifest's own folder; normpath so the
    # same image is spelled one way in every table (no "a/../a/x.tif")
    table["path"] = [
        "" if not p else os.path.normpath(p if Path(p).is_absolute() else (base / p))
        for p in table["path"]
    ]
    if "split" in table.columns:
        table["split"] = [_SPLIT_ALIASES.get(s.lower(), s) if s else "" for s in table["split"]]
    return table


# --------------------------------------------------------------------------- validation
def resolve_class_names(table: pd.DataFrame, task, class_names=None) -> tuple[str, ...]:
    """Explicit ``class_names``, else the task's classes that occur in the manifest (in task order)."""
    if class_names:
        return tuple(str(c) for c in class_names)
    return task.classes_in(table["label"])


def validate_manifest(
    table: pd.DataFrame,
    class_names,
    group_column: str | None = "donor",
    check_readable: bool = True,
    source="manifest",
    require_train_classes: bool = True,
) -> None:
    """Raise :class:`ManifestError` listing every row that cannot be used.

    Checks files (missing, unreadable, not one plane), duplicates (:mod:`.integrity`),
    labels, donors, ``split`` values, and a class absent from the training split.

    Parameters
    ----------
    table : DataFrame
        From :func:`read_manifest` (has ``line``).
    class_names : sequence of str
        The model's classes.
    group_column : str or None
        The donor/strain column that splits are grouped by (``None``: no groups).
    check_readable : bool
        Open every image's header (fast) to catch unreadable files.
    source : str
        Name used in the message (the manifest's file name).
    require_train_classes : bool
        Check that every class has a training image (off for evaluation).
    """
    problems: list[Problem] = []
    classes = list(class_names)
    class_set = set(classes)
    has_group = bool(group_column) and group_column in table.columns
    if group_column and not has_group:
        problems.append(Problem(
            0, group_column,
            f"column {group_column!r} is missing; add the donor of every image (a donor-grouped "
            "split keeps one donor's images out of the other splits), or split by 'none'"))
    for row in table.itertuples(index=False):
        line = int(row.line)
        path = row.path
        label = row.label
        group = getattr(row, group_column) if has_group else "x"
        if not path:
            problems.append(Problem(line, "path", "empty path"))
        else:
            if not Path(path).is_file():
                problems.append(Problem(line, "path", f"file {path} does not exist"))
            elif check_readable:
                reason = _unreadable_reason(Path(path))
                if reason:
                    problems.append(Problem(line, "path", f"cannot read {path}: {reason}"))
        if not label:
            if has_group and group:
                problems.append(Problem(line, "label", f"donor {group!r} has an image with no label"))
            else:
                problems.append(Problem(line, "label", "empty label"))
        elif label not in class_set:
            meant = [c for c in classes if c.casefold() == label.casefold()]
            hint = f" (did you mean {meant[0]!r}? labels are case-sensitive)" if meant else ""
            problems.append(Problem(
                line, "label",
                f"unknown label {label!r}{hint}; the classes are {', '.join(classes)}"))
        if has_group and not group:
            problems.append(Problem(
                line, group_column, f"no {group_column} given for {Path(path).name or 'this row'}"))
        if "split" in table.columns:
            split = row.split
            if split and split not in SPLIT_NAMES:
                problems.append(Problem(
                    line, "split", f"unknown split {split!r}; use train, val or test (or leave empty)"))
    if "split" in table.columns and (table["split"] != "").any():
        empty = table[table["split"] == ""]
        for line in empty["line"]:
            problems.append(Problem(
                int(line), "split", "empty split while other rows have one; fill it in or clear the column"))
        if require_train_classes:
            problems.extend(missing_class_problems(table, classes))
    problems.extend(Problem(d.line, "path", d.message()) for d in find_duplicates(table))
    if problems:
        raise ManifestError(source, sorted(problems, key=lambda p: p.line))


def missing_class_problems(table: pd.DataFrame, class_names) -> list[Problem]:
    """Problems for classes that have no image in the ``train`` split."""
    train_labels = set(table.loc[table["split"] == "train", "label"])
    return [
        Problem(0, "split", f"class {c!r} has no image in the training split")
        for c in class_names
        if c not in train_labels
    ]


def _unreadable_reason(path: Path) -> str | None:
    """Open the header only; return why the file cannot be read, or None."""
    try:
        if path.suffix.lower() in (".tif", ".tiff"):
            import tifffile

            with tifffile.TiffFile(path) as tif:
                if not tif.pages:
                    return "the TIFF has no pages"
                series = tif.series[0]
                problem = plane_problem(series.shape, series.axes)
                if problem:
                    return _not_one_plane(problem, series.shape, series.axes)
        else:
            from PIL import Image

            with Image.open(path) as im:
                im.verify()
    except Exception as err:  # every reader raises its own kinds
        return str(err).splitlines()[0] if str(err) else type(err).__name__
    return None


# --------------------------------------------------------------------------- fields
@dataclass
class Field:
    """One image as the trainer sees it: pixels at training resolution."""

    data: np.ndarray
    pixel_size_um: float | None


def load_field(path, downscale: int = 1) -> Field:
    """Read one plane or RGB image (alpha dropped) and block-average it by ``downscale``.

    Block averaging is what prediction does (``downscale_blocks``), so a model trained at
    reduced resolution sees what it will predict; ``pixel_size_um`` scales with it.
    """
    loaded = read_image(path)
    data = to_plane(np.asarray(loaded.data), loaded.axes, path)
    px = loaded.pixel_size_um
    if downscale != 1:
        from ..inference.preprocess import downscale_blocks

        data = downscale_blocks(data, downscale)
        px = None if px is None else px * downscale
    return Field(data=data, pixel_size_um=px)


#: Advice when a file holds more than one plane.
_ONE_PLANE = ("training and evaluation take one 2D plane (grayscale) or one RGB image per file")
_PROJECT = ("project the stack or pick one plane and save it as its own file (Fiji: Image > "
            "Stacks > Z Project; or napari_msc_morph.channels.read_channel('FILE:CHANNEL', "
            "z_project='max') then napari_msc_morph.io.write_tiff), and list that file")
_PICK = ("pick the bright-field/phase channel and save it as its own file (Fiji: Image > Color "
         "> Split Channels; or napari_msc_morph.channels.read_channel('FILE:CHANNEL') then "
         "napari_msc_morph.io.write_tiff), and list that file")
_AXIS_NAMES = {"Z": "a z-stack", "T": "a time series", "I": "an image series",
               "Q": "an unnamed stack", "R": "a tile series", "P": "a position series"}


def plane_problem(shape, axes: str | None) -> str | None:
    """Why an image of ``shape``/``axes`` (tifffile letters) is not one plane or RGB image, or ``None``.

    Size-1 axes are ignored; ``S`` of 3-4 and ``C`` of 3 are colour.
    """
    shape = tuple(int(n) for n in shape)
    if axes is None or len(axes) != len(shape):
        if len(shape) > 3:
            return f"has {len(shape)} dimensions"
        return None
    kept = [(a, n) for a, n in zip(axes.upper(), shape, strict=True) if n > 1 or a in "YX"]
    for axis, n in kept:
        if axis in "YX" or (axis == "S" and n in (3, 4)) or (axis == "C" and n == 3):
            continue  # the plane, or its colour
        if axis == "C":
            return f"has {n} channels"
        if axis == "S":
            return f"has {n} samples per pixel"
        return f"is {_AXIS_NAMES.get(axis, 'a stack')} of {n} planes along axis {axis}"
    return None


def to_plane(data: np.ndarray, axes: str | None, path) -> np.ndarray:
    """``data`` as ``(H, W)`` or ``(H, W, 3)``; a BadInputError names the file otherwise."""
    shape = data.shape
    problem = plane_problem(shape, axes)
    if problem is None and axes is not None and len(axes) == data.ndim:
        keep = [i for i, (a, n) in enumerate(zip(axes.upper(), shape, strict=True))
                if n > 1 or a in "YX"]
        data = data.reshape([shape[i] for i in keep])
        letters = "".join(axes.upper()[i] for i in keep)
        colour = next((i for i, a in enumerate(letters) if a in "SC"), None)
        if colour is not None:
            data = np.moveaxis(data, colour, -1)
    elif problem is None:  # no axes metadata: the shape decides, as before
        if data.ndim == 3 and data.shape[0] in (1, 3) and data.shape[-1] not in (1, 3, 4):
            data = np.moveaxis(data, 0, -1)
        if data.ndim == 3 and data.shape[-1] == 1:
            data = data[..., 0]
    if data.ndim == 3 and data.shape[-1] == 4:
        data = data[..., :3]
    if problem is None and (data.ndim not in (2, 3) or (data.ndim == 3 and data.shape[-1] != 3)):
        problem = "is not a 2D grayscale or RGB image"
    if problem is not None:
        raise BadInputError(f"{path}: {_not_one_plane(problem, shape, axes)}.")
    return data


def _not_one_plane(problem: str, shape, axes: str | None) -> str:
    """What is wrong with a file that is not one plane or RGB image, and what to do."""
    advice = _PROJECT if "plane" in problem or "dimension" in problem else _PICK
    return (f"the image {problem} (shape {tuple(shape)}, axes {axes or 'unknown'}); "
            f"{_ONE_PLANE}: {advice}")
