"""The inputs of a batch of images, and the loop that reads and runs them.

Shared by ``predict_images`` and ``explain_images``: each input is read once,
its pixel size settled and its axes checked once, then run by
:func:`~napari_msc_morph.batch.run_fields`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..batch.prefetch import PREFETCH_DEPTH
from ..batch.run import ON_ERROR, FieldFailure, FieldResults, error_text, nothing_done, run_fields
from ..errors import BadInputError, Cancelled, MscMorphError
from ..jobs import CancelToken, ProgressFn
from ..tiling import check_overlap
from .preprocess import ImageLayout, image_layout

__all__ = [
    "STEPS_PER_IMAGE",
    "ImageInput",
    "check_options",
    "expand_inputs",
    "image_input",
    "label_result",
    "load_image",
    "run_images",
    "with_messages",
]

logger = logging.getLogger(__name__)

#: Progress steps per image: tile counts are unknown until an image is read.
STEPS_PER_IMAGE = 100


@dataclass
class ImageInput:
    """One image to predict.

    ``data`` is ``(..., H, W)`` or ``(..., H, W, 3)``, any array-like; ``name`` is the
    table's ``image``, ``label`` how messages name it; ``layout`` its checked axes.
    """

    data: Any
    name: str = "image"
    pixel_size_um: float | None = None
    rgb: bool | None = None
    label: str | None = None
    pixel_size_source: str | None = None
    layout: ImageLayout | None = None

    @property
    def path(self) -> str:
        # duck-types LoadedImage for io.resolve_pixel_size
        return self.name

    @property
    def message_name(self) -> str:
        return self.label or self.name


def image_input(data, name: str = "image", pixel_size_um: float | None = None,
                rgb: bool | None = None, label: str | None = None,
                pixel_size_source: str | None = None) -> ImageInput:
    """An :class:`ImageInput` with its axes checked now, before any work starts."""
    if not hasattr(data, "shape") or not hasattr(data, "dtype"):
        data = np.asarray(data)
    item = ImageInput(data, name=name, pixel_size_um=pixel_size_um, rgb=rgb, label=label,
                      pixel_size_source=pixel_size_source)
    item.layout = image_layout(data.shape, rgb=rgb, name=item.message_name)  # BadInputError
    return item


def expand_inputs(images, failures: list[FieldFailure] | None = None) -> list[tuple[int, Any]]:
    """``images`` as (input position, ImageInput or Path) pairs; with ``failures`` a bad
    input is recorded there instead of raised."""
    from ..io import LoadedImage, list_images

    single = (str, os.PathLike, ImageInput, LoadedImage)
    if isinstance(images, single) or hasattr(images, "shape"):
        images = [images]
    items: list = []
    for k, image in enumerate(images):
        try:
            if isinstance(image, (str, os.PathLike)):
                found = list_images([image])
                if not found:
                    raise BadInputError(f"No images found in {image}.")
                items.extend((k, path) for path in found)
            elif isinstance(image, (ImageInput, LoadedImage)):
                items.append((k, image))
            else:
                items.append((k, image_input(image, name=f"image {k + 1}")))
        except (MscMorphError, ValueError, OSError, KeyError) as err:
            if failures is None or isinstance(err, Cancelled):
                raise
            name = os.fspath(image) if isinstance(image, (str, os.PathLike)) else f"image {k + 1}"
            failures.append(FieldFailure(name, error_text(err, name), k, "image"))
    if not items:
        if failures:
            raise nothing_done(failures, "image", "predicted")
        raise BadInputError("No images given to predict.")
    return items


def load_image(item, explicit_pixel_size: float | None, model_pixel_size: float | None,
               tiling: str | None = None) -> ImageInput:
    """Read a path, settle its pixel size and its source, and check its axes.

    An explicit size wins, then the file's or the input's own; else the model's
    is assumed (``assumed_from_model``) and a notice says so.
    """
    from ..io import LoadedImage
    from .lazy import read_for_prediction

    if isinstance(item, Path):  # huge TIFF/OME-Zarr: tile by tile (see .lazy)
        item = read_for_prediction(item, tiling, explicit_pixel_size, model_pixel_size)
    if isinstance(item, LoadedImage):
        path = Path(item.path)
        if explicit_pixel_size is None and item.pixel_size_refused:
            raise BadInputError(item.pixel_size_refused)  # implausible or not square: never used
        item = image_input(item.data, name=str(path), pixel_size_um=item.pixel_size_um,
                           label=path.name, pixel_size_source="file")
    if explicit_pixel_size is not None:
        size, source = float(explicit_pixel_size), "user"
    elif item.pixel_size_um is not None:
        size, source = float(item.pixel_size_um), item.pixel_size_source or "given"
    elif model_pixel_size is not None:
        size, source = float(model_pixel_size), "assumed_from_model"
        logger.info("%s has no pixel size; the model's %g µm/px is assumed",
                    item.message_name, size)
    else:
        size, source = None, "unknown"
    if size is not None and (not np.isfinite(size) or size <= 0):
        what = {"user": "pixel_size_um, --pixel-size-um", "layer": "the layer's scale",
                "file": "the file's metadata"}.get(source, "the input's pixel_size_um")
        raise BadInputError(f"{item.message_name}: pixel size must be a positive number of µm "
                            f"({what}), got {size}.")
    layout = item.layout or image_layout(item.data.shape, rgb=item.rgb, name=item.message_name)
    return ImageInput(item.data, item.name, size, item.rgb, item.label, source, layout)


def check_options(on_error: str, overlap, pixel_size_um) -> bool:
    """Check a batch's options once, before the bundle loads; whether failures are collected."""
    collect = ON_ERROR.get(on_error)
    if overlap is not None:
        check_overlap(overlap)
    if pixel_size_um is not None and (not np.isfinite(float(pixel_size_um))
                                      or float(pixel_size_um) <= 0):
        raise BadInputError(f"pixel size must be a positive number of µm (pixel_size_um, "
                            f"--pixel-size-um), got {pixel_size_um}.")
    return collect


def run_images(images, work, *, model_pixel_size: float | None, tiling: str | None,
               pixel_size_um: float | None, on_error: str, verb: str,
               progress: ProgressFn | None, cancel: CancelToken | None,
               prefetch: int = PREFETCH_DEPTH, on_result=None) -> FieldResults:
    """``work(image_input)`` (a generator of progress) on each image, by ``run_fields``."""
    failures: list[FieldFailure] = []
    items = expand_inputs(images, failures if ON_ERROR.get(on_error) else None)
    return run_fields(
        work, [item for _, item in items], [os.fspath(getattr(i, "path", i)) for _, i in items],
        indices=[k for k, _ in items], failures=failures, what="image",
        load=lambda item: load_image(item, pixel_size_um, model_pixel_size, tiling),
        prefetch=prefetch, on_error=on_error, on_result=on_result, steps=STEPS_PER_IMAGE,
        verb=verb, progress=progress, cancel=cancel)


def with_messages(steps, label: str, start: int = 0, span: int = 1):
    """Re-yield ``(done, tiles)`` as ``(done, total, message)`` in part ``start`` of
    ``span`` of the image's share; returns the generator's value."""
    while True:
        try:
            done, tiles = next(steps)
        except StopIteration as stop:
            return stop.value
        yield start * tiles + done, span * tiles, f"{label}{done}/{tiles} tiles"


def label_result(result, item: ImageInput) -> None:
    """Give a result its image's name and pixel-size source; note an assumed size."""
    result.name = item.name
    result.pixel_size_source = item.pixel_size_source
    if item.pixel_size_source == "assumed_from_model":
        result.notices.insert(0, f"{item.message_name} has no pixel size; the model's "
                                 f"{item.pixel_size_um:g} µm/px was assumed.")
