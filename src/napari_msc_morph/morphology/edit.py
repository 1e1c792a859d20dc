"""Fixing a segmentation by hand: merge labels, split one label at clicks, cut along a line.

Each function takes a 2D label image and returns an edited copy (the input is
never changed), so a face can write back only the changed pixels, undoably
(docs/editing-labels.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._exports import ndimage as ndi  # scipy.ndimage, imported at first use
from ..errors import BadInputError
from ._checks import check_labels

__all__ = ["merge_labels", "split_label", "cut_label", "labels_at"]


def _plane(labels, name: str) -> np.ndarray:
    arr = check_labels(labels, name)
    if arr.ndim != 2:
        raise BadInputError(
            f"{name} has shape {arr.shape}; label edits work on one 2D plane: pass the "
            "plane on screen (labels[t] for a stack)."
        )
    return arr


def _points(points, shape: tuple[int, int], what: str) -> np.ndarray:
    """``points`` as an (n, 2) array of integer (row, col) pixels inside ``shape``."""
    arr = np.asarray(points, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 2 or not np.isfinite(arr).all():
        raise BadInputError(f"{what} must be (row, column) points, got shape {arr.shape}.")
    pixels = np.round(arr).astype(int)
    outside = ~((pixels >= 0) & (pixels < np.asarray(shape))).all(axis=1)
    if outside.any():
        raise BadInputError(
            f"{what}: point {tuple(arr[outside][0])} lies outside the image "
            f"({shape[0]} x {shape[1]} pixels); click inside it."
        )
    return pixels


def labels_at(labels, points) -> list[int]:
    """The object ids under ``points`` (row, column), in click order, without 0 or repeats.

    Examples
    --------
    >>> labels = np.array([[1, 1, 0, 2]])
    >>> labels_at(labels, [(0, 0), (0, 3), (0, 1), (0, 2)])
    [1, 2]
    """
    arr = _plane(labels, "labels")
    ids = arr[tuple(_points(points, arr.shape, "points").T)]
    return [int(i) for i in dict.fromkeys(ids.tolist()) if i != 0]


def merge_labels(labels, ids: Sequence[int]) -> np.ndarray:
    """Join the objects ``ids`` (two or more) of a 2D label image into one, numbered with the
    smallest id; an edited copy. Pieces that do not touch are joined by a one-pixel path
    across the background between their closest pixels.

    Examples
    --------
    >>> merge_labels(np.array([[1, 2, 0, 3]]), [3, 2])
    array([[1, 2, 2, 2]])
    """
    arr = _plane(labels, "labels")
    wanted = sorted({int(i) for i in ids if int(i) != 0})
    if len(wanted) < 2:
        raise BadInputError(
            f"merge needs two or more object ids (not background 0), got {list(ids)}; "
            "click two different cells."
        )
    missing = [i for i in wanted if not np.any(arr == i)]
    if missing:
        raise BadInputError(f"label(s) {missing} are not in the labels; pick ids that exist.")
    out = arr.copy()
    out[np.isin(arr, wanted[1:])] = wanted[0]
    _bridge(out, wanted[0])
    return out


def _bridge(out: np.ndarray, label: int) -> None:
    """Join the pieces of ``label`` with one-pixel paths over the background (measure would
    otherwise take them apart again as an id painted on two objects)."""
    from skimage.draw import line

    pieces, n = ndi.label(out == label, structure=np.ones((3, 3), bool))
    joined = pieces == 1
    for k in range(2, n + 1):
        # nearest pixel of the joined part for every pixel, then the closest pair
        distance, (iy, ix) = ndi.distance_transform_edt(~joined, return_indices=True)
        ys, xs = np.nonzero(pieces == k)
        best = int(np.argmin(distance[ys, xs]))
        rr, cc = line(int(ys[best]), int(xs[best]), int(iy[ys[best], xs[best]]),
                      int(ix[ys[best], xs[best]]))
        free = out[rr, cc] == 0  # never paint over another cell
        out[rr[free], cc[free]] = label
        joined |= pieces == k
        joined[rr, cc] = True


def _object(arr: np.ndarray, label: int) -> np.ndarray:
    if label == 0:
        raise BadInputError("label 0 is the background; pick an object to split.")
    mask = arr == label
    if not mask.any():
        raise BadInputError(f"label {label} is not in the labels; pick an id that exists.")
    return mask


def _new_ids(arr: np.ndarray, count: int) -> np.ndarray:
    """``count`` unused ids above the largest one (fails before overflowing the dtype)."""
    start = int(arr.max()) + 1
    if start + count - 1 > np.iinfo(arr.dtype).max:
        raise BadInputError(
            f"the labels' type ({arr.dtype}) has no room for {count} new id(s); convert "
            "the layer to a wider integer type."
        )
    return np.arange(start, start + count)


def split_label(labels, label: int, seeds, image=None) -> np.ndarray:
    """Split object ``label`` into one object per seed by a seeded watershed; an edited copy.

    The first seed's piece keeps ``label``, the others get new ids. With ``image``
    (the intensity it was segmented from) the border follows the dim neck between
    the seeds, without it the shape's narrowest waist (its distance map).
    ``seeds`` are two or more (row, column) points inside the object.
    """
    from skimage.segmentation import watershed  # on use: Fix labels opens without it

    arr = _plane(labels, "labels")
    mask = _object(arr, int(label))
    pixels = _points(seeds, arr.shape, "split seeds")
    inside = mask[tuple(pixels.T)]
    if not inside.all():
        raise BadInputError(
            f"split seed {tuple(pixels[~inside][0])} lies outside label {label}; click "
            "inside the object you want to split."
        )
    _, first = np.unique(pixels, axis=0, return_index=True)
    pixels = pixels[np.sort(first)]  # a double click is one seed; click order kept
    if len(pixels) < 2:
        raise BadInputError("split needs two or more different seed points inside the object.")
    markers = np.zeros(arr.shape, dtype=np.int32)
    markers[tuple(pixels.T)] = np.arange(1, len(pixels) + 1)
    if image is None:
        landscape = -ndi.distance_transform_edt(mask)
    else:
        intensity = np.asarray(image, dtype=float)
        if intensity.shape != arr.shape:
            raise BadInputError(
                f"split image has shape {intensity.shape} but the labels {arr.shape}; use "
                "the image of the same field."
            )
        landscape = -ndi.gaussian_filter(intensity, 1.0)  # noise would make ragged borders
    pieces = watershed(landscape, markers, mask=mask)
    out = arr.copy()
    for piece, new in zip(range(2, len(pixels) + 1), _new_ids(arr, len(pixels) - 1)):
        out[pieces == piece] = new
    return out


def cut_label(labels, label: int, start, end) -> np.ndarray:
    """Cut object ``label`` in two along the line through ``start`` and ``end`` (row,
    column; anywhere); an edited copy.

    The pixels left of the line on screen, walking from ``start`` to ``end``, keep
    ``label`` (the line's pixels too), the others get a new id, connected or not
    (a cut is a ruler, not a watershed).
    """
    arr = _plane(labels, "labels")
    mask = _object(arr, int(label))
    p0, p1 = (np.asarray(p, dtype=float) for p in (start, end))
    if p0.shape != (2,) or p1.shape != (2,) or np.allclose(p0, p1):
        raise BadInputError("a cut needs two different (row, column) points on the line.")
    rows, cols = np.nonzero(mask)
    direction = p1 - p0
    side = direction[0] * (cols - p0[1]) - direction[1] * (rows - p0[0])
    other = side < -1e-6 * np.hypot(*direction)  # a click's rounding keeps the line's pixels
    if other.all() or not other.any():
        raise BadInputError(
            f"the line does not cross label {label}; draw the cut across the object."
        )
    out = arr.copy()
    out[rows[other], cols[other]] = _new_ids(arr, 1)[0]
    return out
