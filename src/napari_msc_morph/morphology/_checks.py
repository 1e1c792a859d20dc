"""Checks at the door of the morphometry engine: the kernels run on clean inputs.

Faces pass ``name`` (a file path, a layer name) so a message names the input the
way the user knows it.
"""

from __future__ import annotations

import logging

import numpy as np

from ..errors import BadInputError

__all__ = ["check_labels", "check_channel", "check_channel_name", "check_pixel_size",
           "check_nuclei_in_cells", "split_disconnected"]

logger = logging.getLogger(__name__)


def check_labels(labels, name: str = "labels", notes: list | None = None, *,
                 split: bool = True) -> np.ndarray:
    """Return ``labels`` as an integer array or raise a BadInputError that says what to do.

    A mask (Fiji's 0/255, a boolean mask, one id on separate objects) is split
    into its connected objects (:func:`split_disconnected`), with a warning.

    Parameters
    ----------
    labels : array_like
        Integer label image, 2D or with leading axes (frames), or a mask.
    name : str
        How to call the array in messages (a layer or file name).
    notes : list, optional
        Warnings for the user are appended here (and logged).
    split : bool
        Split masks into objects; ``False`` keeps the ids as given.

    Examples
    --------
    >>> mask = np.zeros((6, 6), bool)
    >>> mask[1:3, 1:3] = mask[4:6, 4:6] = True
    >>> np.unique(check_labels(mask)).tolist()
    [0, 1, 2]
    """
    arr = np.asarray(labels)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if arr.ndim < 2:
        raise BadInputError(
            f"{name} must be a 2D label image (or a stack of them), got shape {arr.shape}."
        )
    if arr.ndim == 3 and arr.shape[-1] in (3, 4) and arr.dtype == np.uint8:
        raise BadInputError(
            f"{name} looks like an RGB(A) image (shape {arr.shape}, uint8), not a label "
            "image; segment it first (Segment cells / `msc-morph segment`) and measure "
            "the resulting labels."
        )
    if not np.issubdtype(arr.dtype, np.integer):
        # Both phrasings on purpose: "integers" for programmers, "whole numbers"
        # for a napari user who picked a probability or intensity image.
        raise BadInputError(
            f"{name} has dtype {arr.dtype}; labels must be integers (the labels must be "
            "whole numbers: 0 = background, 1, 2, ... = objects). Segment the image first "
            "(Segment cells / `msc-morph segment`), or convert it to Labels if it already "
            "holds whole-number ids."
        )
    if np.issubdtype(arr.dtype, np.signedinteger) and arr.size and arr.min() < 0:
        raise BadInputError(
            f"{name} has negative values (min {arr.min()}); labels must be 0 for "
            "background and positive ids for objects."
        )
    _check_looks_like_labels(arr, name)
    arr, note = split_disconnected(arr, name) if split else (arr, "")
    if note:
        logger.warning("%s", note)
        if notes is not None:
            notes.append(note)
    return arr


#: A piece of one id at least this share of the id's largest piece is an object of its own;
#: smaller pieces (a stray brush stroke, the rest of an overlapped object) stay with the id.
MIN_PIECE_SHARE = 0.5


#: Ids up to this are looked up directly (a list per id); larger ids are first compacted.
MAX_DIRECT_ID = 1 << 20
_EIGHT_NEIGHBOURS = np.ones((3, 3), bool)


def _compact(plane: np.ndarray) -> np.ndarray:
    """``plane`` with small ids (0 stays background), so per-id lists stay short."""
    if plane.max() <= MAX_DIRECT_ID:
        return plane
    values, inverse = np.unique(plane, return_inverse=True)
    return inverse.reshape(plane.shape) + (values[0] != 0)


def _split_plane(plane: np.ndarray, next_id: int) -> tuple[np.ndarray, int]:
    """One plane with its separate objects given new ids from ``next_id``; how many it split off.

    Each id is checked within its bounding box: about one pass over the image.
    """
    from scipy import ndimage as ndi

    work = _compact(plane)
    boxes = ndi.find_objects(work)
    mask = sum(box is not None for box in boxes) == 1  # a binary mask: every piece an object
    out, split = None, 0
    for index, box in enumerate(boxes, start=1):
        if box is None:
            continue
        pieces, n_pieces = ndi.label(work[box] == index, structure=_EIGHT_NEIGHBOURS)
        if n_pieces < 2:
            continue
        sizes = np.bincount(pieces.ravel())
        sizes[0] = 0
        largest = int(np.argmax(sizes))
        # the largest piece keeps the id, so do pieces too small to be an object of their own
        separate = (sizes >= MIN_PIECE_SHARE * sizes[largest]) | mask
        separate[[0, largest]] = False
        n_new = int(np.count_nonzero(separate))
        if not n_new:
            continue
        lookup = np.full(len(sizes), -1, np.int64)
        lookup[separate] = np.arange(next_id, next_id + n_new)
        new_ids = lookup[pieces]
        if out is None:
            out = plane.astype(np.int64)
        region = out[box]
        region[new_ids >= 0] = new_ids[new_ids >= 0]
        next_id += n_new
        split += n_new
    return (plane, 0) if out is None else (out, split)


def split_disconnected(arr: np.ndarray, name: str = "labels") -> tuple[np.ndarray, str]:
    """One id per separate object (8-connected, plane by plane), and a note when ids changed.

    A binary mask gets one id per connected object. In a label image, an id on
    separate objects keeps its id on the largest piece and gives a new id to
    every other piece at least :data:`MIN_PIECE_SHARE` of it. Labels with one
    region per id come back unchanged (the same array) with the note ``""``.
    """
    if arr.size == 0 or not arr.any():
        return arr, ""
    planes = arr.reshape((-1,) + arr.shape[-2:])
    next_id = int(arr.max()) + 1
    out, n_split = [], 0
    for plane in planes:
        plane, split = _split_plane(plane, next_id)
        next_id += split
        n_split += split
        out.append(plane)
    if not n_split:
        return arr, ""
    before = sum(int(np.count_nonzero(np.unique(plane))) for plane in planes)
    values = np.unique(arr[arr > 0])
    what = (f"a mask with every object set to {values[0]}" if len(values) == 1
            else f"a label image that uses one id for separate objects ({before} ids)")
    dtype = next(t for t in (np.uint16, np.uint32, np.int64) if next_id <= np.iinfo(t).max)
    labels = np.stack([plane.astype(dtype) for plane in out]).reshape(arr.shape)
    return labels, (
        f"{name} is {what}: it was split into {before + n_split} objects, one per "
        "connected region. Check them in napari; touching objects stay merged, so if "
        "that is a problem segment the image instead (Segment cells / `msc-morph segment`).")


#: In a label image nearly every pair of touching object pixels shares an id; in an
#: intensity image (noise, gradients) few do. Below this share it is not labels.
MIN_SHARED_NEIGHBOUR_IDS = 0.5


def _check_looks_like_labels(arr: np.ndarray, name: str) -> None:
    """Refuse an integer *intensity* image given where labels are expected."""
    # The share is judged on about 2**20 pixels: every k-th row of a large image.
    step = max(1, arr.size >> 20)
    sample = arr[..., ::step, :]
    left, right = sample[..., :, :-1], sample[..., :, 1:]
    touching = (left > 0) & (right > 0)
    n_touching = int(np.count_nonzero(touching))
    if n_touching < 64:  # a handful of tiny objects: nothing to judge by
        return
    shared = int(np.count_nonzero(touching & (left == right))) / n_touching
    if shared < MIN_SHARED_NEIGHBOUR_IDS:
        raise BadInputError(
            f"{name} does not look like a label image: only {shared:.0%} of neighbouring "
            "object pixels share an id (in labels nearly all do), so it is probably an "
            "intensity image. Give the label image here (the output of Segment cells / "
            "`msc-morph segment`) and intensity images as channels."
        )


def check_channel(image, name: str, shape: tuple[int, ...], *, described: str | None = None
                  ) -> np.ndarray:
    """Return an intensity channel, checking it matches the labels' ``shape`` and has no NaN.

    ``described`` is how messages call it (default ``channel 'NAME'``).
    """
    what = described or f"channel {name!r}"
    arr = np.asarray(image)
    if arr.ndim == len(shape) + 1 and arr.shape[-1] in (3, 4) and arr.shape[:-1] == shape:
        raise BadInputError(
            f"{what} is an RGB(A) image (shape {arr.shape}); split it into single "
            "channels (napari: right-click the layer > Split RGB) and choose one."
        )
    if arr.shape != tuple(shape):
        raise BadInputError(
            f"{what} has shape {arr.shape} but the labels have shape {tuple(shape)}; use a "
            "channel from the same field (same size and number of frames)."
        )
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise BadInputError(f"{what} has dtype {arr.dtype}; it must be numeric.")
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        n_bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise BadInputError(
            f"{what} contains {n_bad} NaN/inf pixel(s); fill or mask them "
            "(e.g. np.nan_to_num) before measuring."
        )
    return arr


def check_channel_name(name: str) -> str:
    """A channel name becomes a column prefix: one word, no spaces or commas."""
    if not name or any(ch in name for ch in ", \t\n"):
        raise BadInputError(
            f"channel name {name!r} must be a non-empty word without spaces or commas."
        )
    return name


def check_pixel_size(pixel_size_um, invalid: str = "pixel size must be a positive number of "
                     "µm, got {value!r}.") -> float | None:
    """The pixel size in µm as one positive float (square pixels), or ``None``.

    ``invalid`` is the message for a value that is not positive (``{value}``: the value).
    """
    if pixel_size_um is None:
        return None
    values = np.atleast_1d(np.asarray(pixel_size_um, dtype=float))
    if values.size > 1 and not np.allclose(values, values[0], rtol=1e-6):
        raise BadInputError(
            f"pixel size {tuple(values)} µm is anisotropic; perimeter and shape "
            "features need square pixels: resample the image first."
        )
    value = float(values[0])
    if not np.isfinite(value) or value <= 0:
        raise BadInputError(invalid.format(value=pixel_size_um))
    return value


#: Above this share of cells without a nucleus (or of nuclei outside every cell) the
#: nuclei labels probably belong to another field: the user is warned.
MAX_SHARE_UNMATCHED = 0.1
#: Labels are judged swapped only from this many nuclei on (one odd object proves nothing).
MIN_NUCLEI_TO_JUDGE = 3


def _areas(plane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ids of a plane (0 left out) and their pixel counts."""
    values = plane[plane > 0]
    if values.size and values.max() <= MAX_DIRECT_ID:  # a count per id: no sort
        counts = np.bincount(values)
        ids = np.flatnonzero(counts)
        return ids, counts[ids]
    return np.unique(values, return_counts=True)


def _plane_overlaps(cells: np.ndarray, nuclei: np.ndarray) -> tuple[int, ...]:
    """Counts for one plane: cells, cells without a nucleus, nuclei, nuclei mostly outside
    every cell, nuclei touching a cell, nuclei larger than the cell holding most of them."""
    cell_ids, cell_area = _areas(cells)
    nucleus_ids, nucleus_area = _areas(nuclei)
    if not len(cell_ids) or not len(nucleus_ids):
        return len(cell_ids), 0, len(nucleus_ids), 0, 0, 0
    both = (cells > 0) & (nuclei > 0)
    base = np.int64(nucleus_ids[-1]) + 1
    pairs = cells[both].astype(np.int64) * base + nuclei[both].astype(np.int64)
    keys, overlap = np.unique(pairs, return_counts=True)
    pair_cell, pair_nucleus = keys // base, keys % base
    # per nucleus: the cell holding most of it (pairs sorted by overlap, last one wins)
    order = np.argsort(overlap, kind="stable")
    best_cell = dict(zip(pair_nucleus[order].tolist(), pair_cell[order].tolist()))
    inside = np.zeros(len(nucleus_ids), np.int64)
    np.add.at(inside, np.searchsorted(nucleus_ids, pair_nucleus), overlap)
    mostly_inside = inside >= 0.5 * nucleus_area
    area_of_cell = dict(zip(cell_ids.tolist(), cell_area.tolist()))
    holding = {best_cell[n] for n, ok in zip(nucleus_ids.tolist(), mostly_inside) if ok}
    larger = sum(1 for n, area in zip(nucleus_ids.tolist(), nucleus_area.tolist())
                 if n in best_cell and area > area_of_cell[best_cell[n]])
    return (len(cell_ids), len(cell_ids) - len(holding), len(nucleus_ids),
            int(np.count_nonzero(~mostly_inside)), len(best_cell), larger)


def check_nuclei_in_cells(cells: np.ndarray, nuclei: np.ndarray, cells_name: str = "labels",
                          nuclei_name: str = "nuclei") -> str:
    """Check that the nuclei lie inside the cells of the same field.

    Returns a warning when more than :data:`MAX_SHARE_UNMATCHED` of the cells
    have no nucleus or of the nuclei lie outside every cell, else ``""``; raises
    BadInputError when most nuclei are larger than their cell (labels swapped).
    """
    shape = cells.shape[-2:]
    totals = np.zeros(6, np.int64)
    for plane_cells, plane_nuclei in zip(cells.reshape((-1,) + shape),
                                         nuclei.reshape((-1,) + shape)):
        totals += _plane_overlaps(plane_cells, plane_nuclei)
    n_cells, cells_without, n_nuclei, nuclei_outside, overlapping, larger = (
        int(v) for v in totals)
    if overlapping >= MIN_NUCLEI_TO_JUDGE and larger > 0.5 * overlapping:
        raise BadInputError(
            f"{cells_name} and {nuclei_name} look swapped: {larger} of {overlapping} nuclei are "
            "larger than the cell they lie in. Give the whole-cell labels as the labels (the "
            "LABELS.tif argument, a manifest's labels column) and the nuclei as nuclei "
            "(--nuclei, a manifest's nuclei_labels column).")
    if not n_cells or not n_nuclei:
        return ""
    if cells_without > MAX_SHARE_UNMATCHED * n_cells or \
            nuclei_outside > MAX_SHARE_UNMATCHED * n_nuclei:
        return (f"{nuclei_name} does not fit {cells_name}: {cells_without} of {n_cells} cells "
                f"have no nucleus inside them and {nuclei_outside} of {n_nuclei} nuclei lie "
                "mostly outside every cell. Are both label images from the same field? The "
                "nucleus columns of cells without a nucleus are empty.")
    return ""
