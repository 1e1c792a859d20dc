"""Predict many images with a model bundle: the one entry point every face calls.

Every batch runs :func:`~napari_msc_morph.batch.run_fields` with an image task;
stacks are predicted plane by plane and summarised here, once
(:func:`stack_planes`).
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
    """One :class:`Prediction` for a stack: probabilities averaged, tiles concatenated,
    maps stacked along ``leading_shape``; a single 2D plane as it is."""
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
        A bundle, its folder/``.zip``, or a ready :class:`Predictor`.
    images : sequence
        Paths (folders searched recursively), :class:`~napari_msc_morph.io.LoadedImage`,
        :class:`ImageInput` or arrays; a single item may be passed on its own.
    tiling : str, optional
        One of :data:`~napari_msc_morph.tiling.TILINGS`; default the bundle's.
    overlap : float, optional
        Grid overlap (fraction of a crop); default the bundle's.
    device, precision : str
        One of :data:`DEVICES` / :data:`PRECISIONS`.
    batch_size : int, optional
        Crops per forward pass (default 8 on CPU, 32 on GPU).
    pixel_size_um : float, optional
        Overrides every image's own pixel size.
    on_error : {"raise", "collect"}
        ``"collect"`` records an image that fails in ``failures`` and goes on; only
        no image predicted at all is an error.
    progress : callable, optional
        ``progress(done, total, message)``.
    cancel : CancelToken, optional
        Checked between batches.
    prefetch : int
        Images read ahead on a background thread; ``0`` reads on this thread.
    explain : bool
        Also a Grad-CAM map per image (whole-field grid) from the same read, as
        ``explanation``; where only it fails, the prediction is kept.
    target : str, optional
        With ``explain``: the class to explain.

    Returns
    -------
    FieldResults
        One Prediction per image that worked, in order, with ``failures`` and
        ``indices``. On a stop, ``err.partial`` holds those finished when collecting.
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
    return list(dict.fromkeys(notice for prediction in predictions
                              for part in [prediction, *prediction.planes]
                              for notice in part.notices))


def prediction_rows(predictions: Iterable[Prediction], *, per_plane: bool = True,
                    image_column: bool = True, extra: list[dict] | None = None) -> list[dict]:
    """Result rows: one per image, or one per plane of each stack.

    Columns: ``image``, the ``extra`` dicts, ``plane`` or ``n_planes``,
    :meth:`Prediction.row`, and for grid tilings where the score maps sit.
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
    """:func:`prediction_rows` as a DataFrame."""
    import pandas as pd

    return pd.DataFrame(prediction_rows(predictions, per_plane=per_plane,
                                        image_column=image_column, extra=extra))
