"""Checks at the door of the morphometry engine: every input, one precise message.

As scikit-image's ``_validate_inputs``: the kernels run on clean inputs, and a
user who passed the wrong thing learns which input, what is wrong and what to
do. Faces pass ``name`` (a file path, a layer name) so the message names the
input the way the user knows it.
"""

from __future__ import annotations

import numpy as np

from ..errors import BadInputError

__all__ = ["check_labels", "check_channel", "check_channel_name", "check_pixel_size"]


def check_labels(labels, name: str = "labels") -> np.ndarray:
    """Return ``labels`` as an integer array or raise a BadInputError that says what to do.

    Parameters
    ----------
    labels : array_like
        Integer label image, 2D or with leading axes. Booleans count as one object.
    name : str
        How to call the array in messages (a layer or file name).

    Returns
    -------
    ndarray of int
        ``labels`` itself (booleans as ``uint8``).

    Examples
    --------
    >>> check_labels(np.ones((2, 2), bool)).dtype
    dtype('uint8')
    """
    arr = np.asarray(labels)
    if arr.dtype == bool:
        return arr.astype(np.uint8)
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
    return arr


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
    """Return an intensity channel, checking it matches ``shape`` and has no NaN.

    Parameters
    ----------
    image : array_like
        Intensities of one channel.
    name : str
        The channel's name (its column prefix).
    shape : tuple of int
        Shape of the labels it is measured under.
    described : str, optional
        How messages call the channel (default ``channel 'NAME'``), e.g.
        ``Channel layer “RUNX2”`` in the widget.
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


def check_pixel_size(pixel_size_um) -> float | None:
    """The pixel size in µm as one positive float (square pixels), or ``None``."""
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
        raise BadInputError(
            f"pixel size must be a positive number of µm, got {pixel_size_um!r}."
        )
    return value
