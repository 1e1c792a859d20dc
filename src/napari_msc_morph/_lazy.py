"""Huge images left on disk: TIFF/BigTIFF (tifffile ``aszarr``) and OME-Zarr (zarr).

Pixels are read when a region is indexed: napari gets dask arrays of the pyramid
levels, prediction indexes crops from a cached band of whole chunks. Converting
a :class:`LazyImage` to numpy as a whole is refused, so no path swaps.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .errors import BadInputError

__all__ = ["LazyImage", "as_dask", "reads_lazily", "tiff_levels", "read_ome_zarr_lazy"]

#: Rows a plane's band holds at least (rounded up to whole chunks).
MIN_BAND_ROWS = 256


class LazyImage:
    """A read-only array-like over a zarr array, with some leading axes fixed.

    Parameters
    ----------
    array : zarr.Array
    fixed : dict of int to int, optional
        Axes of ``array`` held at one index; the others are this object's axes.
    name : str
        Named in messages.
    """

    def __init__(self, array, fixed: dict | None = None, name: str = "image"):
        self.array = array
        self.fixed = dict(fixed or {})
        self.name = name
        self._free = [axis for axis in range(array.ndim) if axis not in self.fixed]
        self.shape = tuple(int(array.shape[axis]) for axis in self._free)
        self.dtype = np.dtype(array.dtype)
        self.ndim = len(self.shape)
        self._band: tuple[int, int, np.ndarray] | None = None
        self.reads = 0  # region reads from the store (tests count them)

    @property
    def chunks(self) -> tuple[int, ...]:
        return tuple(int(self.array.chunks[axis]) for axis in self._free)

    def __repr__(self) -> str:
        return f"LazyImage({self.name!r}, shape={self.shape}, dtype={self.dtype})"

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype=None, copy=None):
        raise BadInputError(
            f"{self.name} ({' x '.join(str(n) for n in self.shape)} px) is read tile by tile "
            "and never loaded whole; this step needs the whole image. Use --tiling grid at the "
            "model's pixel size, or crop the image first."
        )

    def _full_key(self, key: tuple) -> tuple:
        full: list = [slice(None)] * self.array.ndim
        for axis, index in self.fixed.items():
            full[axis] = index
        for axis, item in zip(self._free, key):
            full[axis] = item
        return tuple(full)

    def __getitem__(self, key):
        if not isinstance(key, tuple):
            key = (key,)
        if any(k is Ellipsis or k is None for k in key) or len(key) > self.ndim:
            raise IndexError(f"LazyImage takes integers and slices only, got {key!r}")
        if key and all(isinstance(k, (int, np.integer)) for k in key) and len(key) < self.ndim - 1:
            fixed = dict(self.fixed)
            for axis, index in zip(self._free, key):
                fixed[axis] = int(index) % int(self.array.shape[axis])
            return LazyImage(self.array, fixed, self.name)
        if self._is_crop(key):
            return self._crop(key[0], key[1])
        self.reads += 1
        return np.asarray(self.array[self._full_key(key)])

    def _is_crop(self, key) -> bool:
        plane = self.ndim == 2 or (self.ndim == 3 and self.shape[-1] in (3, 4))
        return (plane and len(key) == 2 and all(isinstance(k, slice) for k in key)
                and all(k.step in (None, 1) for k in key))

    def _crop(self, rows: slice, cols: slice) -> np.ndarray:
        """Rows ``y0:y1`` from the cached band of whole chunks (read on a miss)."""
        height = self.shape[0]
        y0, y1, _ = rows.indices(height)
        band = self._band
        if band is None or not (band[0] <= y0 and y1 <= band[1]):
            chunk = max(1, self.chunks[0])
            a = (y0 // chunk) * chunk
            b = min(height, math.ceil(max(y1, a + MIN_BAND_ROWS) / chunk) * chunk)
            self.reads += 1
            key = (slice(a, b),) + (slice(None),) * (self.ndim - 1)
            band = (a, b, np.asarray(self.array[self._full_key(key)]))
            self._band = band
        a, _, block = band
        return block[y0 - a : y1 - a, cols]


def as_dask(image: LazyImage):
    """A dask array over a :class:`LazyImage` (chunks as stored), for napari."""
    import dask.array as da

    array = da.from_zarr(image.array)
    return array[image._full_key(())] if image.fixed else array


def _open_zarr(store_or_path):
    import zarr

    return zarr.open(store_or_path, mode="r")


def _ome(attrs: dict, key: str):
    """An OME-NGFF attribute: top level in NGFF 0.4, under ``"ome"`` in 0.5."""
    return attrs.get(key) or attrs.get("ome", {}).get(key)


def tiff_levels(path: Path) -> list[LazyImage]:
    """Every level of a TIFF's first series, full resolution first, as :class:`LazyImage`."""
    import tifffile

    try:
        node = _open_zarr(tifffile.imread(path, aszarr=True))
    except Exception as err:
        raise BadInputError(f"Could not read TIFF {path}: {err}") from err
    if hasattr(node, "shape"):
        return [LazyImage(node, name=Path(path).name)]
    keys = sorted(node.array_keys(), key=int)
    return [LazyImage(node[key], name=Path(path).name) for key in keys]


_OME_LETTERS = {"t": "T", "c": "C", "z": "Z", "y": "Y", "x": "X"}


def read_ome_zarr_lazy(path: Path) -> dict:
    """The fields of a ``LoadedImage`` of an OME-Zarr (NGFF 0.4/0.5) left on disk; axes of
    one element squeezed (Y and X kept), as bioio does."""
    from ._tiff import unit_factor
    from .pixel_size import judge_pixel_size

    path = Path(path)
    try:
        group = _open_zarr(path)
        attrs = dict(group.attrs)
    except Exception as err:
        raise BadInputError(f"Could not open OME-Zarr {path}: {err}") from err
    multiscales = _ome(attrs, "multiscales")
    if not multiscales or not hasattr(group, "array_keys"):
        inside = ome_zarr_images(path)
        hint = f"; it holds the images {', '.join(inside)}: open {path / inside[0]}" \
            if inside else ""
        raise BadInputError(f"{path} is not an OME-Zarr image (no 'multiscales' metadata){hint}.")
    meta = multiscales[0]
    axes_meta = [a if isinstance(a, dict) else {"name": a} for a in meta.get("axes", [])]
    names = [str(a.get("name", "")).lower() for a in axes_meta]
    datasets = meta.get("datasets", [])
    levels = [group[d["path"]] for d in datasets]
    if not levels:
        raise BadInputError(f"{path} is an OME-Zarr without datasets.")
    if len(names) != levels[0].ndim:
        names = list("tczyx"[-levels[0].ndim:])
    letters = "".join(_OME_LETTERS.get(n, "Q") for n in names)
    fixed = {i: 0 for i, (letter, n) in enumerate(zip(letters, levels[0].shape))
             if n == 1 and letter not in "YX"}
    axes = "".join(letter for i, letter in enumerate(letters) if i not in fixed)
    transforms = datasets[0].get("coordinateTransformations", [])
    scales = [t.get("scale") for t in transforms if t.get("type") == "scale"]
    shifts = [t.get("translation") for t in transforms if t.get("type") == "translation"]
    metadata = {}
    if shifts and len(shifts[0]) == len(letters) and any(shifts[0]):
        metadata["translate_by_axis"] = {letter: float(v) for letter, v in zip(letters, shifts[0])
                                         if letter in "ZYX"}
    sizes = {}
    for axis in ("x", "y"):
        if scales and axis in names:
            index = names.index(axis)
            factor = unit_factor(axes_meta[index].get("unit") or "micrometer")
            if factor is not None:
                sizes[axis] = float(scales[0][index]) * factor
    found = judge_pixel_size(path, sizes.get("x"), sizes.get("y"), "OME-Zarr scale")
    lazy = [LazyImage(level, fixed, path.name) for level in levels]
    omero = _ome(attrs, "omero") or {}
    names = [str(ch.get("label", "")) for ch in omero.get("channels", [])]
    if "C" not in axes or len(names) != lazy[0].shape[axes.index("C")]:
        names = []
    return dict(data=lazy[0], levels=lazy, axes=axes, metadata=metadata, channel_names=names,
                **found)


#: The napari reader opens files lazily from this many bytes (uncompressed) on.
READER_LAZY_BYTES = 256 * 1024 * 1024


def reads_lazily(path) -> bool:
    """Whether the napari reader leaves ``path`` on disk: a TIFF or OME-Zarr with pyramid
    levels or of :data:`READER_LAZY_BYTES` or more."""
    path = Path(path)
    name = path.name.lower().rstrip("/")
    try:
        if name.endswith((".tif", ".tiff")):
            import tifffile

            with tifffile.TiffFile(path) as tif:
                series = tif.series[0]
                return len(series.levels) > 1 or series.nbytes >= READER_LAZY_BYTES
        if name.endswith(".zarr"):
            group = _open_zarr(path)
            multiscales = _ome(dict(group.attrs), "multiscales")
            if not multiscales:
                return False
            datasets = multiscales[0].get("datasets", [])
            first = group[datasets[0]["path"]]
            nbytes = int(np.prod(first.shape)) * np.dtype(first.dtype).itemsize
            return len(datasets) > 1 or nbytes >= READER_LAZY_BYTES
    except Exception:  # unreadable here: the ordinary reader says why
        return False
    return False


def ome_zarr_images(path) -> list[str]:
    """Names of the OME-Zarr images directly inside a zarr container (e.g. ``--score-maps``)."""
    try:
        group = _open_zarr(Path(path))
        names = sorted(group.group_keys()) if hasattr(group, "group_keys") else []
    except Exception:
        return []
    return [name for name in names if _ome(dict(group[name].attrs), "multiscales")]
