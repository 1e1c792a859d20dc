"""Reading images with their pixel size, reading tables, and writing files atomically.

Writers rename a temporary file over the target, so an interrupted run never
leaves a half-written file. Tables go through :func:`read_table` and
:func:`write_table`, which apply :mod:`napari_msc_morph.spreadsheet`'s rules.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import tifffile

from .errors import BadInputError, missing_dependency
from .spreadsheet import (
    check_unique_columns,
    formulas_as_text,
    is_key_column,
    percent_columns,
    read_text_table,
    write_csv,
    xlsx_safe,
)

#: Microscope formats read through bioio and its plugins (the ``[formats]`` extra).
BIOIO_SUFFIXES = (".czi", ".nd2", ".lif", ".zarr")
IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp") + BIOIO_SUFFIXES


@dataclass
class LoadedImage:
    """An image array with the physical pixel size found in its file.

    ``pixel_size_um`` is ``None`` when the file gives no usable size (never assume
    1 µm/px); ``pixel_size_source`` names the metadata that gave it,
    ``pixel_size_refused`` why the file's size is not used. ``axes`` uses tifffile's
    letters (``"CYX"``, ``"YXS"`` for RGB; ``None`` when unknown).
    """

    data: np.ndarray
    pixel_size_um: float | None
    path: Path
    metadata: dict = field(default_factory=dict)
    axes: str | None = None
    channel_names: list[str] = field(default_factory=list)
    pixel_size_source: str = ""
    pixel_size_yx_um: tuple | None = None
    pixel_size_refused: str = ""
    z_spacing_um: float | None = None
    #: Read lazily (``read_image(..., lazy=True)``): every pyramid level, full resolution first.
    levels: list = field(default_factory=list)

    @property
    def channel_axis(self) -> int | None:
        """Index of the ``C`` axis in ``data``, or ``None``."""
        if self.axes and "C" in self.axes:
            return self.axes.index("C")
        return None


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    If the body raises, ``target`` is left as it was. A full disk, whose message
    names no file, is re-raised as an ``OSError`` naming ``target``.
    """
    target = Path(target)
    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=suffix or target.suffix
        )
        os.close(fd)
        tmp = Path(tmp_name)
        yield tmp
        if tmp.is_file():
            # mkstemp makes files private (0600); give them the usual umask mode
            umask = os.umask(0)  # reading the umask means setting it
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except OSError as err:
        if err.errno in DISK_FULL:
            raise disk_full_error(err, target) from err
        raise
    finally:
        if tmp is not None and tmp.exists():
            tmp.unlink()


#: "No space left on device" and "Disk quota exceeded": a full disk, whatever the wording.
DISK_FULL = {errno.ENOSPC} | ({errno.EDQUOT} if hasattr(errno, "EDQUOT") else set())


def disk_full_error(err: OSError, target: Path) -> OSError:
    """The full-disk ``err`` naming ``target`` and what to do."""
    return OSError(
        err.errno,
        f"no space left on the disk of {target.parent} (writing {target.name}); free some "
        "space there or write to another disk. The earlier file, if any, is unchanged",
        str(target),
    )


def write_table(table: pd.DataFrame, path: str | os.PathLike, index: bool = False,
                path_columns: tuple[str, ...] = ()) -> Path:
    """Write a DataFrame as CSV (or XLSX by suffix) atomically and return the path.

    ``path_columns`` hold file paths, stored relative to the table's folder.
    """
    path = Path(path)
    present = [c for c in path_columns if c in table.columns]
    if present:
        table = table.copy()
        for column in present:
            table[column] = [path_for_file(p, path.parent) if isinstance(p, str) and p else p
                             for p in table[column]]
    if path.suffix.lower() in (".xlsx", ".xls"):
        return write_xlsx(path, {"Sheet1": table}, index=index)
    with atomic_path(path) as tmp:
        write_csv(table, tmp, index=index)
    return path


def write_xlsx(path: str | os.PathLike, sheets: dict, index: bool = False) -> Path:
    """Write ``{sheet name: DataFrame}`` as one XLSX file atomically; formulas stay text."""
    path = Path(path)
    missing_dependency("openpyxl", "all", f"writing {path.name}; or choose a .csv file name")
    with atomic_path(path) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for name, table in sheets.items():
                safe = xlsx_safe(table, f"{path.name} sheet {name!r}")
                safe.to_excel(writer, sheet_name=name, index=index)
                formulas_as_text(writer.sheets[name])
    return path


def read_table(path: str | os.PathLike, text_columns=()) -> pd.DataFrame:
    """Read a CSV/TSV/XLSX/Parquet table; an error names the file.

    Key columns (ids, donors, wells, files and ``text_columns``) are read as text,
    so ``1.10`` and ``001`` survive.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Table {path} does not exist.")
    if path.is_dir():
        raise BadInputError(f"{path} is a folder, not a table; give a .csv, .tsv, .xlsx or "
                            ".parquet file.")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        missing_dependency("pyarrow", "parquet", f"reading {path.name}")
    text_columns = list(text_columns)
    try:
        if suffix in (".parquet", ".xlsx", ".xls"):
            return _read_binary_table(path, suffix, text_columns)
        return read_text_table(path, text_columns)
    except BadInputError:
        raise
    except Exception as err:  # pandas raises many kinds; name the file for the user
        raise BadInputError(f"Could not read table {path}: {err}") from err


def _read_binary_table(path: Path, suffix: str, text_columns: list) -> pd.DataFrame:
    if suffix == ".parquet":
        frame = pd.read_parquet(path)
        check_unique_columns(list(frame.columns), str(path))
    else:
        first = pd.read_excel(path, header=None, nrows=1)
        header = first.iloc[0].tolist() if not first.empty else []
        check_unique_columns(header, str(path))
        frame = pd.read_excel(path, dtype={h: str for h in header
                                           if isinstance(h, str) and is_key_column(h, text_columns)})
        frame = percent_columns(frame, str(path), text_columns)  # "52.4%" typed as text
    for column in frame.columns:  # ids stored as numbers in the file read as text too
        if is_key_column(column, text_columns) and not pd.api.types.is_string_dtype(frame[column]):
            frame[column] = [v if v is None or (isinstance(v, float) and v != v) else str(v)
                             for v in frame[column].astype(object)]
    return frame


def write_json(obj, path: str | os.PathLike) -> Path:
    """Write ``obj`` as pretty JSON atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, default=json_default))
    return path


def json_default(value):
    """``json.dumps``'s ``default`` for numpy values and paths."""
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def write_tiff(
    data: np.ndarray,
    path: str | os.PathLike,
    pixel_size_um: float | None = None,
    axes: str | None = None,
    channel_names: list[str] | None = None,
    labels: bool = False,
) -> Path:
    """Write an image as an ImageJ-compatible TIFF with its pixel size, atomically.

    ``labels`` marks a label image, which the plugin's reader opens as Labels.
    """
    path = Path(path)
    data = np.asarray(data)
    imagej = data.dtype in (np.uint8, np.uint16, np.float32) and (
        data.ndim <= 3 or axes is not None
    )
    is_rgb = data.ndim == 3 and data.shape[-1] == 3 and data.dtype == np.uint8
    metadata: dict = {}
    kwargs: dict = {}
    if pixel_size_um is not None:
        if not np.isfinite(pixel_size_um) or pixel_size_um <= 0:
            raise BadInputError(f"pixel size must be a positive number of µm, got {pixel_size_um!r}")
        kwargs["resolution"] = (1.0 / pixel_size_um, 1.0 / pixel_size_um)
        metadata["unit"] = "um"
        metadata["spacing"] = pixel_size_um
    if axes is not None:
        metadata["axes"] = axes
    if channel_names:
        metadata["Labels"] = list(channel_names)
    if labels:
        metadata["msc_morph"] = "labels"
    with atomic_path(path) as tmp:
        if imagej and not is_rgb:
            tifffile.imwrite(tmp, data, imagej=True, metadata=metadata, **kwargs)
        else:
            if "resolution" in kwargs:
                kwargs["resolutionunit"] = "MICROMETER"
            metadata.pop("Labels", None)
            tifffile.imwrite(tmp, data, photometric="rgb" if is_rgb else "minisblack",
                             metadata=metadata, **kwargs)
    return path


def read_image(path: str | os.PathLike, lazy: bool = False) -> LoadedImage:
    """Read an image and its pixel size (µm) from its metadata.

    Parameters
    ----------
    path : str or Path
        A TIFF, a CZI/ND2/LIF file or OME-Zarr folder (``[formats]`` extra), or
        anything ``skimage.io`` reads (no pixel size).
    lazy : bool
        TIFF and OME-Zarr: ``data`` is a lazy view and ``levels`` its pyramid.

    Returns
    -------
    LoadedImage
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Image {path} does not exist.")
    name = path.name.lower()
    if path.is_dir() and not name.endswith(".zarr"):
        raise BadInputError(f"{path} is a folder, not an image; give an image file.")
    if lazy and name.endswith(".zarr"):
        from ._lazy import read_ome_zarr_lazy

        return LoadedImage(path=path, **read_ome_zarr_lazy(path))
    if name.endswith((".tif", ".tiff")):
        from ._tiff import read_tiff

        info = read_tiff(path, lazy=lazy)
        if lazy:
            from ._lazy import tiff_levels

            info["levels"] = tiff_levels(path)
            info["data"] = info["levels"][0]
        names = info.pop("channel_names")
        loaded = LoadedImage(path=path, **info)
        axis = loaded.channel_axis
        if axis is not None and len(names) == loaded.data.shape[axis]:
            loaded.channel_names = names
        return loaded
    if name.endswith(BIOIO_SUFFIXES):
        from ._bioio import read_with_bioio

        return LoadedImage(path=path, **read_with_bioio(path))
    try:
        import skimage.io

        data = np.asarray(skimage.io.imread(path))
    except Exception as err:
        raise BadInputError(f"Could not read image {path}: {err}") from err
    axes = "YXS" if data.ndim == 3 and data.shape[-1] in (3, 4) else None
    return LoadedImage(data=data, pixel_size_um=None, path=path,
                       axes=axes or ("YX" if data.ndim == 2 else None))


def list_images(paths) -> list[Path]:
    """Expand files and folders into a sorted list of image files."""
    found: list[Path] = []
    for item in paths:
        item = Path(item)
        if item.is_dir() and item.suffix.lower() == ".zarr":  # an OME-Zarr image is a folder
            found.append(item)
        elif item.is_dir():
            # hidden names are skipped: the temporary file of a write that was killed
            # (".a.tif.x1y2.tif", see atomic_path), or macOS "._a.tif" resource forks
            found.extend(
                sorted(p for p in item.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES
                       and not p.relative_to(item).as_posix().startswith(".")
                       and "/." not in p.relative_to(item).as_posix())
            )
        elif item.exists():
            found.append(item)
        else:
            raise FileNotFoundError(f"{item} is neither an image file nor a folder.")
    return found


def resolve_pixel_size(explicit: float | None, sources) -> tuple[float | None, str]:
    """The one pixel-size policy: an explicit value wins, else the first file that has one.

    Parameters
    ----------
    explicit : float or None
        A size the user gave.
    sources : iterable of LoadedImage
        Files of the same field, in order of preference.

    Returns
    -------
    (pixel_size_um, origin)
        ``origin``: ``"given"``, the file path, or why there is none.
    """
    if explicit is not None:
        value = float(explicit)
        if not np.isfinite(value) or value <= 0:
            raise BadInputError(f"pixel size must be a positive number of µm (--pixel-size), "
                                f"got {explicit}; give the width of one pixel, e.g. 0.65.")
        return value, "given"
    sources = list(sources)
    for source in sources:
        if source.pixel_size_um is not None:
            return float(source.pixel_size_um), str(source.path)
    for source in sources:
        if getattr(source, "pixel_size_refused", ""):
            raise BadInputError(source.pixel_size_refused)
    return None, "no pixel size in the files and none given"


def path_for_file(path: str | os.PathLike, folder: str | os.PathLike) -> str:
    """``path`` relative to ``folder`` (POSIX; absolute on another drive), so a table
    keeps working when its folder moves.

    >>> path_for_file("/data/run/img/a.tif", "/data/run")
    'img/a.tif'
    """
    target = Path(path).absolute()
    try:
        return Path(os.path.relpath(target, Path(folder).absolute())).as_posix()
    except ValueError:  # different drives
        return target.as_posix()
