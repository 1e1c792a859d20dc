"""Outputs never destroy inputs: every writing command checks its outputs before any work.

An output that is, or lies inside, an input is refused (even with ``--overwrite``), its
suffix must fit what is written (:data:`KINDS`), an existing one is kept without
``--overwrite``, and its folder must be writable.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ..errors import BadInputError, missing_dependency

#: What each kind of output is, and the suffixes it may have (``None``: a folder).
KINDS = {
    "table": ("a table", (".csv", ".xlsx")),
    "labels": ("a label image", (".tif", ".tiff")),
    "bundle": ("a model bundle (a folder, or a .zip)", (None, ".zip")),
    "folder": ("a folder", (None,)),
    "score_maps": ("score maps (a folder of TIFFs, an OME-Zarr or an OME BigTIFF)",
                   (None, ".zarr", ".tif", ".tiff")),
    "figure": ("a figure", (".png", ".svg", ".pdf")),
    "bioimageio": ("a bioimage.io model package", (".zip",)),
}

# Suffixes that say "this is a file": refused where a folder is written.
_FILE_SUFFIXES = {
    ".csv", ".tsv", ".txt", ".xlsx", ".xls", ".json", ".html", ".tif", ".tiff", ".png",
    ".jpg", ".jpeg", ".svg", ".pdf", ".zip", ".npy", ".npz", ".pt", ".pth", ".ckpt",
    ".safetensors", ".czi", ".nd2", ".lif",
}


def add_overwrite_argument(parser, what: str = "an existing output") -> None:
    """Add the ``--overwrite`` flag every writing command shares."""
    parser.add_argument(
        "--overwrite", action="store_true",
        help=f"replace {what} (default: keep it and stop with an error before any work)",
    )


def check_outputs(outputs: Iterable, inputs: Iterable = (), *, overwrite: bool = False,
                  resume: bool | None = None) -> None:
    """Refuse unusable outputs before any work starts.

    Parameters
    ----------
    outputs : iterable of (option, path, kind)
        ``option`` names it in messages, ``kind`` is a :data:`KINDS` key; ``None`` paths
        are skipped.
    inputs : iterable of (name, path)
        Everything the command reads (a ``str`` is a ``FILE[:CHANNEL]`` spec).
    overwrite : bool
        Existing outputs may be replaced.
    resume : bool, optional
        ``train``'s ``--resume`` (``None`` for commands without it).

    Raises
    ------
    BadInputError
        Naming the option and path, and what to do instead.
    """
    from ..channels import parse_image_spec

    outputs = [(option, Path(os.path.expanduser(os.fspath(path))), kind)
               for option, path, kind in outputs if path is not None]
    sources = [(name, parse_image_spec(value)[0] if isinstance(value, str) else Path(value))
               for name, value in inputs if value is not None]
    if resume and overwrite:
        raise BadInputError(
            "--resume continues the run already in --out and --overwrite replaces it; "
            "give only one of them."
        )
    seen: dict[Path, str] = {}
    for option, path, kind in outputs:
        _check_not_an_input(option, path, kind, sources)
        _check_suffix(option, path, kind)
        key = Path(os.path.realpath(_absolute(path)))
        if key in seen:
            raise BadInputError(
                f"{seen[key]} and {option} are the same path {path}; give each its own."
            )
        seen[key] = option
    for option, path, kind in outputs:
        _check_existing(option, path, kind, overwrite, resume)
        _check_writable(option, path, kind)


def _absolute(path) -> Path:
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def _check_suffix(option: str, path: Path, kind: str) -> None:
    what, allowed = KINDS[kind]
    suffix = path.suffix.lower()
    if None in allowed:  # a folder (or, for bundles, also a .zip)
        if suffix in _FILE_SUFFIXES and suffix not in allowed:
            ends = " or ".join(a for a in allowed if a)
            ends = f" or a name ending in {ends}" if ends else ""
            raise BadInputError(
                f"{option} {path}: this command writes {what} here, not a {suffix} file; "
                f"give a folder name (no {suffix}){ends}."
            )
        return
    if suffix not in allowed:
        stem = path.name[: -len(path.suffix)] if path.suffix else path.name
        raise BadInputError(
            f"{option} {path}: this command writes {what}, named "
            f"{' or '.join(allowed)}, not {suffix or 'a name without a suffix'}; "
            f"e.g. {option} {path.with_name(stem + allowed[0])}."
        )
    if suffix == ".xlsx":
        missing_dependency("openpyxl", "all", f"writing {path.name}; or choose a .csv file name")


def _check_not_an_input(option: str, path: Path, kind: str, sources) -> None:
    real = Path(os.path.realpath(_absolute(path)))
    for name, source in sources:
        source_real = Path(os.path.realpath(_absolute(source)))
        if real == source_real or _same_file(path, source):
            raise BadInputError(
                f"{option} {path} is the {name} this command reads ({source}); writing there "
                f"would destroy it; choose another {option} path."
            )
        if source_real.is_dir() and source_real in real.parents:
            raise BadInputError(
                f"{option} {path} is inside the {name} folder {source} this command reads; "
                f"write outputs outside the input folder so the input stays untouched."
            )
        if KINDS[kind][1][0] is None and real in source_real.parents:
            raise BadInputError(
                f"{option} {path} holds the {name} this command reads ({source}), and files "
                f"written there could replace it; give {option} a folder of its own."
            )


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _check_existing(option: str, path: Path, kind: str, overwrite: bool,
                    resume: bool | None) -> None:
    if not (path.exists() or path.is_symlink()):
        return
    what, allowed = KINDS[kind]
    is_folder = path.is_dir()
    if None not in allowed and is_folder:
        raise BadInputError(
            f"{option} {path} is a folder, but this command writes {what} there; "
            f"give a file name, e.g. {option} {path / ('out' + allowed[0])}."
        )
    if is_folder and kind == "bundle" and any(path.iterdir()) \
            and not (path / "model.json").is_file():
        raise BadInputError(
            f"{option} {path} is a folder that does not hold a model bundle (no model.json); "
            "training would not be able to save its model there; choose a new or empty folder."
        )
    if kind in ("bundle", "folder") and not is_folder and path.suffix.lower() != ".zip":
        raise BadInputError(
            f"{option} {path} is a file, but this command writes {what} there; "
            "give a folder name."
        )
    if is_folder and not any(path.iterdir()):
        return  # an empty folder holds nothing to lose
    if overwrite or resume:
        return
    if resume is not None:
        raise BadInputError(
            f"{option} {path} already holds a model or a training run, which is kept; give "
            "--resume to continue that run, --overwrite to train a new model in its place, "
            "or choose another --out."
        )
    contents = "is a folder with files in it" if is_folder else "already exists"
    raise BadInputError(
        f"{option} {path} {contents}, which is kept; give --overwrite to replace "
        f"{'its files' if is_folder else 'it'}, or choose another {option} path."
    )


def _check_writable(option: str, path: Path, kind: str) -> None:
    folder = _absolute(path).parent
    existing = next(c for c in (folder, *folder.parents) if c.exists())  # "/" always does
    if not existing.is_dir():
        raise BadInputError(
            f"{option} {path}: {existing} is a file, not a folder, so nothing can be "
            "written under it; choose another location."
        )
    # probe the nearest existing folder: creating the missing ones now would leave empty
    # folders behind a command that then fails on its inputs
    _probe(option, path, existing)
    if KINDS[kind][1][0] is None and path.is_dir():
        _probe(option, path, path)  # an existing output folder is written into


def _probe(option: str, path: Path, folder: Path) -> None:
    """Create and delete a file in ``folder``: the one reliable writability test."""
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".msc-morph-write-check-")
        os.close(fd)
        os.unlink(name)
    except OSError as err:
        raise BadInputError(
            f"{option} {path}: cannot write in {folder} ({err.strerror or err}); "
            "choose a folder you can write to."
        ) from None
