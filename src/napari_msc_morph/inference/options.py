"""The keyword options every batch entry point takes, and their one up-front check.

:func:`~napari_msc_morph.inference.predict_images`,
:func:`~napari_msc_morph.inference.explain_images` and
:func:`~napari_msc_morph.inference.predict_and_explain` share ``tiling`` ...
``on_error``, ``progress`` and ``cancel`` beside a few options of their own.
Each writes them out in its own signature, checks them once, up front, before
the bundle loads (:func:`check_batch_options`), and hands them on to the
per-image steps as one :class:`BatchOptions`.

Examples
--------
>>> check_batch_options("collect", overlap=0.5, pixel_size_um=0.65)
True
>>> BatchOptions(tiling="grid", on_error="collect").collect
True
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import BadInputError
from ..jobs import CancelToken, ProgressFn
from ..tiling import check_overlap

__all__ = ["ON_ERROR", "BatchOptions", "check_batch_options"]

#: What a batch entry point does when one image fails: stop there, or record and go on.
ON_ERROR = ("raise", "collect")


@dataclasses.dataclass(frozen=True)
class BatchOptions:
    """The options every batch entry point takes (see ``predict_images`` for each).

    A plain holder: the entry point checks them first (:func:`check_batch_options`).
    """

    tiling: str | None = None
    overlap: float | None = None
    device: str = "auto"
    precision: str = "auto"
    batch_size: int | None = None
    pixel_size_um: float | None = None
    on_error: str = "raise"
    progress: ProgressFn | None = None
    cancel: CancelToken | None = None

    @property
    def collect(self) -> bool:
        """Whether a failed image is recorded and the others still run."""
        return self.on_error == "collect"


def check_batch_options(on_error: str, overlap, pixel_size_um) -> bool:
    """Check a batch run's options once, up front; whether failures are collected.

    With ``on_error="collect"`` a bad option would otherwise become one "failed
    image" per image.
    """
    if on_error not in ON_ERROR:
        raise BadInputError(f"on_error must be one of {list(ON_ERROR)}, got {on_error!r}.")
    if overlap is not None:
        check_overlap(overlap)
    if pixel_size_um is not None and (not np.isfinite(float(pixel_size_um))
                                      or float(pixel_size_um) <= 0):
        raise BadInputError(f"pixel size must be a positive number of µm (pixel_size_um, "
                            f"--pixel-size-um), got {pixel_size_um}.")
    return on_error == "collect"

