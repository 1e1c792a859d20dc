"""Predict many images with a model bundle: the one entry point every face calls.

``msc-morph predict``, the Predict widget and the demo all call
:func:`predict_images` and turn its :class:`~.predict.Prediction` list into
rows with :func:`prediction_rows` / :func:`predictions_table`. Stacks (images
with leading axes) are predicted plane by plane and summarised here, once:
the stack's :class:`~.predict.Prediction` averages its planes' probabilities,
keeps each plane in ``planes`` and stacks the score maps along the leading axes.

Examples
--------
>>> from napari_msc_morph.inference import predict_images, predictions_table
>>> predictions = predict_images("osteo.zip", ["a.tif", "b.tif"], tiling="grid")  # doctest: +SKIP
>>> predictions_table(predictions)[["image", "os_score"]]  # doctest: +SKIP

Over many files, ``on_error="collect"`` keeps going past an unreadable image
and returns its failure beside the predictions of the others:

>>> batch = predict_images("osteo.zip", ["plate1/"], on_error="collect")  # doctest: +SKIP
>>> failures_table(batch.failures)  # image, error  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BadInputError, Cancelled
from ..jobs import CancelToken, ProgressFn
from .batch import _IMAGE_ERRORS, ImageFailure, PredictionBatch, error_text, failures_table
from .collect import collect_each, label_result, nothing_done, run_steps
from .options import ON_ERROR, BatchOptions, check_batch_options
from .predict import Prediction, Predictor
from .prefetch import PREFETCH_DEPTH
from .preprocess import image_layout

__all__ = [
    "ON_ERROR",
    "ImageFailure",
    "ImageInput",
    "PredictionBatch",
    "failures_table",
    "image_input",
    "predict_images",
    "prediction_rows",
    "predictions_table",
    "stack_planes",
    "unique_notices",
]

logger = logging.getLogger(__name__)

@dataclass
class ImageInput:
    """One image to predict, with what the engine needs to know about it.

    Parameters
    ----------
    data : array_like
        ``(..., H, W)`` or ``(..., H, W, 3)``; numpy, dask, zarr or a memory map.
    name : str
        Shown in the table's ``image`` column (a file path or a layer name).
    pixel_size_um : float, optional
        The image's pixel size (µm); ``None`` when unknown (no resampling).
    rgb : bool, optional
        Whether the last axis is colour; guessed when ``None``.
    label : str, optional
        How messages name the image (e.g. ``"layer 'field'"``); default ``name``.
    pixel_size_source : str, optional
        Where ``pixel_size_um`` came from (``"layer"``, ``"file"``, ``"user"``);
        ``"given"`` when a size is passed without saying.
    """

    data: Any
    name: str = "image"
    pixel_size_um: float | None = None
    rgb: bool | None = None
    label: str | None = None
    pixel_size_source: str | None = None

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
    """Check an array's axes now and wrap it as an :class:`ImageInput`.

    Faces call this while gathering inputs, so a wrong image (RGBA, 1D, empty)
    is reported before any work starts, with ``label`` naming it.

    Raises
    ------
    BadInputError
        If the array cannot be split into grayscale or RGB 2D planes.
    """
    if not hasattr(data, "shape") or not hasattr(data, "dtype"):
        data = np.asarray(data)
    item = ImageInput(data, name=name, pixel_size_um=pixel_size_um, rgb=rgb, label=label,
                      pixel_size_source=pixel_size_source)
    image_layout(data.shape, rgb=rgb, name=item.message_name)  # raises BadInputError
    return item


def _as_inputs(images, failures: list[ImageFailure] | None = None) -> list[tuple[int, Any]]:
    """Expand ``images`` into (input position, ImageInput or Path) pairs; paths read lazily.

    With ``failures`` (collect mode) a missing path, an empty folder or an
    array of the wrong shape is recorded there instead of raised.
    """
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
        except _IMAGE_ERRORS as err:
            if failures is None or isinstance(err, Cancelled):
                raise
            name = os.fspath(image) if isinstance(image, (str, os.PathLike)) else f"image {k + 1}"
            failures.append(ImageFailure(name, error_text(err, name), k))
    if not items:
        if failures:
            raise _nothing_predicted(failures)
        raise BadInputError("No images given to predict.")
    return items


def _nothing_predicted(failures: list[ImageFailure]) -> BadInputError:
    return nothing_done(failures, "predicted")


def _load(item, explicit_pixel_size: float | None, model_pixel_size: float | None,
          tiling: str | None = None) -> ImageInput:
    """Read a path and settle its pixel size and where it came from.

    The one policy: an explicit size (``user``) wins, then the file's
    (``file``) or the input's own (``layer``/``given``); an image with none is
    predicted at the model's training pixel size (``assumed_from_model``) and
    a notice says so, because the answer is only right if that is true.
    """
    from ..io import LoadedImage
    from .lazy import read_for_prediction

    if isinstance(item, Path):  # huge TIFF/OME-Zarr: tile by tile (see .lazy)
        item = read_for_prediction(item, tiling, explicit_pixel_size, model_pixel_size)
    if isinstance(item, LoadedImage):
        path = Path(item.path)
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
    return ImageInput(item.data, item.name, size, item.rgb, item.label, source)


def _predictor(bundle, device: str, precision: str, batch_size: int | None) -> Predictor:
    from ..models.bundle import ModelBundle, load_bundle

    if isinstance(bundle, Predictor):
        return bundle
    if not isinstance(bundle, ModelBundle):
        bundle = load_bundle(bundle)
    return Predictor(bundle, device=device, precision=precision, batch_size=batch_size)


def stack_planes(planes: list[Prediction], leading_shape: tuple = ()) -> Prediction:
    """One :class:`Prediction` for a stack: plane probabilities averaged.

    ``tile_probabilities`` and ``boxes`` are concatenated plane after plane,
    every score map gets the stack's ``leading_shape`` in front, and the
    planes are kept in ``planes``. A single 2D plane is returned as it is.
    """
    if not leading_shape and len(planes) == 1:
        return planes[0]
    first = planes[0]
    if not leading_shape:
        leading_shape = (len(planes),)
    maps = {
        name: np.stack([p.maps[name] for p in planes]).reshape(
            tuple(leading_shape) + first.maps[name].shape)
        for name in first.maps
    }
    return Prediction(
        task=first.task,
        probabilities=np.mean([p.probabilities for p in planes], axis=0),
        tile_probabilities=np.concatenate([p.tile_probabilities for p in planes]),
        boxes=np.concatenate([p.boxes for p in planes]),
        tiling=first.tiling,
        model_id=first.model_id,
        maps=maps,
        map_scale=first.map_scale,
        map_translate=first.map_translate,
        notices=unique_notices(planes),
        device=first.device,
        precision=planes[-1].precision,
        name=first.name,
        pixel_size_um=first.pixel_size_um,
        pixel_size_source=first.pixel_size_source,
        planes=list(planes),
        leading_shape=tuple(int(n) for n in leading_shape),
    )


def predict_images(
    bundle,
    images,
    *,
    tiling: str | None = None,
    overlap: float | None = None,
    device: str = "auto",
    precision: str = "auto",
    batch_size: int | None = None,
    pixel_size_um: float | None = None,
    on_error: str = "raise",
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    prefetch: int = PREFETCH_DEPTH,
) -> PredictionBatch:
    """Predict images (files, folders, arrays, stacks) with a model bundle.

    Parameters
    ----------
    bundle : ModelBundle, Predictor, str or Path
        A loaded bundle, a ready :class:`Predictor` (reused as it is), or a
        bundle folder/``.zip`` to load.
    images : sequence
        Each item a path (a folder is searched recursively), a
        :class:`~napari_msc_morph.io.LoadedImage`, an :class:`ImageInput`
        (array with name, pixel size, rgb flag) or an array. Files are read
        one at a time. A single item may be passed on its own.
    tiling : str, optional
        One of :data:`~napari_msc_morph.tiling.TILINGS`; default the
        bundle's.
    overlap : float, optional
        Grid overlap (fraction of a crop); default the bundle's.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"mps"``.
    precision : str
        One of :data:`~napari_msc_morph.inference.predict.PRECISIONS`.
    batch_size : int, optional
        Crops per forward pass (default 8 on CPU, 32 on GPU).
    pixel_size_um : float, optional
        Overrides every image's own pixel size (files' metadata, inputs'
        ``pixel_size_um``); images whose size differs from the model's by more
        than 10% are resampled to it.
    on_error : {"raise", "collect"}
        ``"raise"`` (the default, for library callers): the first image that
        cannot be read or predicted raises its error and nothing is returned.
        ``"collect"`` (batch faces: ``msc-morph predict``, the Predict dock):
        a missing, unreadable, corrupt or wrong-shape image is recorded in
        :attr:`PredictionBatch.failures` (path, error) and the others are still
        predicted. Only when no image at all can be predicted is it an error.
    progress : callable, optional
        ``progress(done, total, message)``; each image fills an equal share.
    cancel : CancelToken, optional
        Checked between batches; raises :class:`~napari_msc_morph.errors.Cancelled`.
    prefetch : int
        Images read on a background thread ahead of the one being predicted
        (:mod:`.prefetch`); ``0`` reads each on this thread. Same results.

    Returns
    -------
    PredictionBatch
        A list of Prediction, one per image that worked, in order (folders
        expand to their files, sorted), with ``failures`` and ``indices``. A
        stack's prediction summarises its planes (see :func:`stack_planes`).

    Raises
    ------
    BadInputError
        No images, an unknown tiling, an image that is not grayscale/RGB
        (with ``on_error="collect"``: only an option error, or no image at all
        predicted).
    Cancelled, KeyboardInterrupt
        When ``cancel`` is set or the user presses Ctrl-C. With
        ``on_error="collect"`` the exception carries the images finished so far
        as ``err.partial`` (a :class:`PredictionBatch` with ``partial=True``),
        so a face can keep them, clearly marked.
    """
    check_batch_options(on_error, overlap, pixel_size_um)  # once, before the bundle loads
    options = BatchOptions(tiling=tiling, overlap=overlap, device=device, precision=precision,
                           batch_size=batch_size, pixel_size_um=pixel_size_um,
                           on_error=on_error, progress=progress, cancel=cancel)
    batch = PredictionBatch()
    items = _as_inputs(images, batch.failures if options.collect else None)
    predictor = _predictor(bundle, options.device, options.precision, options.batch_size)
    tiling = options.tiling or predictor.config.tiling
    return collect_each(
        batch, items,
        lambda item: _load(item, options.pixel_size_um, predictor.config.pixel_size_um, tiling),
        lambda item, tick: _predict_one(predictor, item, tick, options),
        collect=options.collect, verb="predicted", summary="image(s) predicted",
        stopped="Prediction was cancelled.", progress=options.progress, cancel=options.cancel,
        prefetch=prefetch)


def _predict_one(predictor: Predictor, item: ImageInput, tick, options: BatchOptions
                 ) -> Prediction:
    """Predict one loaded image (its planes, summarised) with progress in its share."""
    steps = predictor.predict_steps(
        item.data, tiling=options.tiling, overlap=options.overlap, rgb=item.rgb,
        name=item.message_name, pixel_size_um=item.pixel_size_um, cancel=options.cancel,
    )
    planes = run_steps(steps, tick, f"{item.message_name}: ")
    for plane in planes:
        label_result(plane, item)
    layout = image_layout(item.data.shape, rgb=item.rgb, name=item.message_name)
    prediction = stack_planes(planes, layout.leading_shape)
    for notice in prediction.notices:
        logger.info("%s", notice)
    return prediction


def unique_notices(predictions: Iterable[Prediction]) -> list[str]:
    """Every notice of ``predictions`` (and their planes) once, in order."""
    seen: dict[str, None] = {}
    for prediction in predictions:
        for part in [prediction, *prediction.planes]:
            for notice in part.notices:
                seen.setdefault(notice, None)
    return list(seen)


def prediction_rows(predictions: Iterable[Prediction], *, per_plane: bool = True,
                    image_column: bool = True, extra: list[dict] | None = None) -> list[dict]:
    """Result rows: one per image, or one per plane of each stack.

    Columns: ``image`` (the prediction's name; with ``image_column``), the
    ``extra`` dicts, ``plane`` (stack rows with ``per_plane``) or ``n_planes``
    (stacks without), then :meth:`Prediction.row` (task, model id, tiling,
    class, ``p_<class>``, intervals, score, ``n_tiles``), and for grid tilings
    where the score maps sit: ``map_stride_px``, ``map_center_y_px``,
    ``map_center_x_px`` (image pixels).
    """
    rows = []
    for i, prediction in enumerate(predictions):
        base = {"image": prediction.name} if image_column and prediction.name else {}
        if extra:
            base.update(extra[i])
        parts = prediction.planes if per_plane and prediction.planes else [prediction]
        for part in parts:
            row = dict(base)
            if per_plane and prediction.planes:
                row["plane"] = ",".join(str(axis) for axis in part.plane)
            row.update(part.row())
            if not per_plane and prediction.planes:
                row["n_planes"] = len(prediction.planes)
            if part.map_scale is not None:
                row["map_stride_px"] = part.map_scale[0]
                row["map_center_y_px"] = part.map_translate[0]
                row["map_center_x_px"] = part.map_translate[1]
            rows.append(row)
    return rows


def predictions_table(predictions: Iterable[Prediction], extra: list[dict] | None = None, *,
                      per_plane: bool = True, image_column: bool = True):
    """:func:`prediction_rows` as a pandas DataFrame (the ``msc-morph predict`` table)."""
    import pandas as pd

    return pd.DataFrame(prediction_rows(predictions, per_plane=per_plane,
                                        image_column=image_column, extra=extra))
