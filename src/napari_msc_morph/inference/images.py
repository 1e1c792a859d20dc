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

Every batch of images runs :func:`~napari_msc_morph.batch.run_fields`, the
one per-item loop of the package (read ahead, failures, progress shares,
partial results), with an image task; ``explain=True`` adds each image's
Grad-CAM map from the same read.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable

import numpy as np

from ..batch.prefetch import PREFETCH_DEPTH
from ..batch.run import FieldFailure, FieldResults, error_text
from ..errors import Cancelled
from ..jobs import CancelToken, ProgressFn
from .explain import Explainer, explain_one, resolve_target
from .inputs import ImageInput, check_options, label_result, run_images, with_messages
from .predict import Prediction, predictor_for

__all__ = [
    "predict_images",
    "prediction_rows",
    "predictions_table",
    "stack_planes",
    "unique_notices",
]

logger = logging.getLogger(__name__)


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
    return dataclasses.replace(  # the first plane's model, tiling, name, pixel size ...
        first, plane=(), maps=maps, notices=unique_notices(planes),
        probabilities=np.mean([p.probabilities for p in planes], axis=0),
        tile_probabilities=np.concatenate([p.tile_probabilities for p in planes]),
        boxes=np.concatenate([p.boxes for p in planes]), precision=planes[-1].precision,
        planes=list(planes), leading_shape=tuple(int(n) for n in leading_shape))


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
    explain: bool = False,
    target: str | None = None,
) -> FieldResults:
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
        ``failures`` (path, error) and the others are still predicted. Only
        when no image at all can be predicted is it an error.
    progress : callable, optional
        ``progress(done, total, message)``; each image fills an equal share.
    cancel : CancelToken, optional
        Checked between batches; raises :class:`~napari_msc_morph.errors.Cancelled`.
    prefetch : int
        Images read on a background thread ahead of the one being predicted
        (:mod:`napari_msc_morph.batch.prefetch`); ``0`` reads each on this
        thread. Same results.
    explain : bool
        Also explain each predicted image with Grad-CAM (the Predict dock's
        "Explain"), from the same read and the same network: the map is the
        prediction's ``explanation`` (whole-field grid, whatever ``tiling``),
        and each image's share of the bar is half prediction, half Grad-CAM.
        Where only the Grad-CAM fails, the prediction is kept with
        ``explanation=None`` and (collecting) a ``"Grad-CAM: ..."`` failure.
    target : str, optional
        With ``explain``: the class to explain (see
        :func:`~napari_msc_morph.inference.explain_images`).

    Returns
    -------
    FieldResults
        A list of Prediction, one per image that worked, in order (folders
        expand to their files, sorted), with ``failures`` (``kind="image"``)
        and ``indices`` (the input each came from). A stack's prediction
        summarises its planes (see :func:`stack_planes`).

    Raises
    ------
    BadInputError
        No images, an unknown tiling, an image that is not grayscale/RGB
        (with ``on_error="collect"``: only an option error, or no image at all
        predicted).
    Cancelled, KeyboardInterrupt
        When ``cancel`` is set or the user presses Ctrl-C. With
        ``on_error="collect"`` the exception carries the images finished so far
        as ``err.partial`` (a :class:`FieldResults` with ``partial=True``),
        so a face can keep them, clearly marked.
    """
    collect = check_options(on_error, overlap, pixel_size_um)  # once, before the bundle loads
    predictor = predictor_for(bundle, device, precision, batch_size)
    explainer = None
    if explain:  # a network without feature maps fails before any image is read
        explainer = Explainer(predictor)
        target = resolve_target(explainer.task, target)
    gradcam_failures: list[tuple[Prediction, str]] = []  # (prediction kept, Grad-CAM error)

    def work(item: ImageInput):
        label = f"{item.message_name}: "
        steps = predictor.predict_steps(
            item.data, tiling=tiling, overlap=overlap, rgb=item.rgb, name=item.message_name,
            pixel_size_um=item.pixel_size_um, cancel=cancel, layout=item.layout)
        planes = yield from with_messages(steps, label, 0, 2 if explain else 1)
        for plane in planes:
            label_result(plane, item)
        prediction = stack_planes(planes, item.layout.leading_shape)
        for notice in prediction.notices:
            logger.info("%s", notice)
        if explainer is not None:
            try:
                prediction.explanation = yield from explain_one(
                    explainer, item, target, overlap, cancel, start=1, span=2)
            except Exception as err:  # only the Grad-CAM failed: keep the prediction
                if not collect or isinstance(err, Cancelled):
                    raise
                gradcam_failures.append((prediction, "Grad-CAM: " + error_text(err, item.name)))
        return prediction

    try:
        results = run_images(images, work, model_pixel_size=predictor.config.pixel_size_um,
                             tiling=tiling or predictor.config.tiling,
                             pixel_size_um=pixel_size_um, on_error=on_error, verb="predicted",
                             progress=progress, cancel=cancel, prefetch=prefetch)
    except (Cancelled, KeyboardInterrupt) as stop:
        if getattr(stop, "partial", None) is not None:
            _add_gradcam_failures(stop.partial, gradcam_failures)
        raise
    return _add_gradcam_failures(results, gradcam_failures)


def _add_gradcam_failures(results: FieldResults, failed) -> FieldResults:
    """Add the Grad-CAM failures of kept predictions, at their inputs' positions."""
    position = {id(p): k for k, p in zip(results.indices, results)}
    results.failures += [FieldFailure(p.name, error, position[id(p)], "image")
                         for p, error in failed if id(p) in position]
    results.failures.sort(key=lambda f: f.index)
    return results


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
