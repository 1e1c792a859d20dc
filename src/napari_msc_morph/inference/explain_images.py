"""Grad-CAM heat maps of many images: the one entry point ``msc-morph explain`` and the
Predict dock's "Explain" option call.

Inputs are handled exactly as by :func:`~napari_msc_morph.inference.predict_images`
(files, folders, arrays, :class:`~napari_msc_morph.inference.ImageInput`; the same
pixel-size policy; ``on_error="collect"`` for batch faces), and each image gives an
:class:`~napari_msc_morph.inference.explain.Explanation` whose heat map is aligned
pixel for pixel with the image.

Examples
--------
>>> from napari_msc_morph.inference import explain_images
>>> maps = explain_images("osteo.zip", ["a.tif"], target="induced")  # doctest: +SKIP
>>> maps[0].heatmap.shape  # the image plane's (H, W)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from ..errors import BadInputError
from ..jobs import CancelToken, ProgressFn
from .batch import ImageFailure, PredictionBatch
from .collect import collect_each, label_result, run_steps
from .explain import Explainer, Explanation, resolve_target
from .images import ImageInput, _as_inputs, _load
from .options import BatchOptions, check_batch_options

__all__ = ["explain_images", "explainer_for", "predict_and_explain"]

logger = logging.getLogger(__name__)


def explainer_for(bundle, device: str = "auto", precision: str = "auto",
                  batch_size: int | None = None) -> Explainer:
    """An :class:`Explainer` from a bundle path, a loaded bundle, a Predictor or an Explainer."""
    from ..models.bundle import ModelBundle, load_bundle
    from .predict import Predictor

    if isinstance(bundle, Explainer):
        return bundle
    if not isinstance(bundle, (ModelBundle, Predictor)):
        bundle = load_bundle(bundle)
    return Explainer(bundle, device=device, precision=precision, batch_size=batch_size)


def explain_images(
    bundle,
    images,
    *,
    target: str | None = None,
    tiling: str | None = None,
    overlap: float | None = None,
    device: str = "auto",
    precision: str = "auto",
    batch_size: int | None = None,
    pixel_size_um: float | None = None,
    on_error: str = "raise",
    on_result: Callable[[Explanation, ImageInput], None] | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> PredictionBatch:
    """Grad-CAM heat maps of images with a model bundle, one per image.

    Parameters
    ----------
    bundle : ModelBundle, Predictor, Explainer, str or Path
        A bundle (loaded, or a folder/``.zip`` to load), or a ready
        Predictor/Explainer (its device and precision are used).
    images : sequence
        As for :func:`~napari_msc_morph.inference.predict_images`.
    target : str, optional
        The class to explain; default the task's positive class (``induced``:
        the map explains OsScore), else ``"predicted"`` (each crop's own top
        class). An unknown name is an error listing the classes.
    tiling : str, optional
        Default ``grid`` (the whole field); ``six``/``center`` explain only their crops.
    overlap, device, precision, batch_size, pixel_size_um, on_error, progress, cancel
        As for :func:`~napari_msc_morph.inference.predict_images`.
    on_result : callable, optional
        ``on_result(explanation, image_input)`` as soon as each image is done
        (the CLI writes its files there, so a stop keeps the finished ones and
        memory holds one image at a time). An error it raises is not collected.

    Returns
    -------
    PredictionBatch
        A list of :class:`~napari_msc_morph.inference.explain.Explanation`, one
        per image that worked, with ``failures`` and ``indices``.

    Raises
    ------
    BadInputError
        No images, an unknown target/tiling, a network without convolutions.
    Cancelled
        When ``cancel`` is set (``err.partial`` holds the finished maps when collecting).
    """
    check_batch_options(on_error, overlap, pixel_size_um)  # once, before the bundle loads
    options = BatchOptions(tiling=tiling, overlap=overlap, device=device, precision=precision,
                           batch_size=batch_size, pixel_size_um=pixel_size_um,
                           on_error=on_error, progress=progress, cancel=cancel)
    explainer = explainer_for(bundle, options.device, options.precision, options.batch_size)
    target = resolve_target(explainer.task, target)  # before reading any image
    batch = PredictionBatch()
    return collect_each(
        batch, _as_inputs(images, batch.failures if options.collect else None),
        lambda item: _load(item, options.pixel_size_um, explainer.config.pixel_size_um),
        lambda item, tick: _explain_one(explainer, item, tick, target, options),
        collect=options.collect, verb="explained", summary="Grad-CAM map(s)",
        stopped="Grad-CAM was cancelled.", progress=options.progress, cancel=options.cancel,
        on_result=on_result, log_skipped=False)


def _explain_one(explainer: Explainer, item: ImageInput, tick, target: str,
                 options: BatchOptions) -> Explanation:
    steps = explainer.explain_steps(
        item.data, target=target, tiling=options.tiling, overlap=options.overlap,
        rgb=item.rgb, name=item.message_name, pixel_size_um=item.pixel_size_um,
        cancel=options.cancel,
    )
    explanation = run_steps(steps, tick, f"{item.message_name}: Grad-CAM ")
    label_result(explanation, item)
    for notice in explanation.notices:
        logger.info("%s", notice)
    return explanation


def predict_and_explain(
    bundle,
    images,
    *,
    target: str | None = None,
    tiling: str | None = None,
    overlap: float | None = None,
    device: str = "auto",
    precision: str = "auto",
    batch_size: int | None = None,
    pixel_size_um: float | None = None,
    on_error: str = "raise",
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> tuple[PredictionBatch, list[Explanation | None]]:
    """Predict images, then explain each predicted one with Grad-CAM (one network, one load).

    The Predict dock's "Explain" option. ``tiling`` applies to the prediction;
    the heat maps always use the whole-field grid. The first half of the
    progress bar is the prediction, the second the Grad-CAM.

    Parameters
    ----------
    images : sequence
        As for :func:`~napari_msc_morph.inference.predict_images`.
    target, tiling, overlap, device, precision, batch_size, pixel_size_um, on_error,
    progress, cancel
        As for :func:`explain_images` and
        :func:`~napari_msc_morph.inference.predict_images`.

    Returns
    -------
    (PredictionBatch, list)
        The predictions, and for each of them its
        :class:`~napari_msc_morph.inference.explain.Explanation` (``None``
        where only the Grad-CAM failed; with ``on_error="collect"`` that failure
        is added to the batch's ``failures``).
    """
    from ..jobs import scaled
    from .images import _predictor, predict_images

    check_batch_options(on_error, overlap, pixel_size_um)  # once, before the bundle loads
    predictor = _predictor(bundle, device, precision, batch_size)
    explainer = Explainer(predictor)  # a network without feature maps fails before any work
    target = resolve_target(explainer.task, target)
    predictions = predict_images(
        predictor, images, tiling=tiling, overlap=overlap, pixel_size_um=pixel_size_um,
        on_error=on_error, progress=scaled(progress, 0, 50, 100, "predict: "), cancel=cancel)
    if isinstance(images, (str, os.PathLike, ImageInput)) or hasattr(images, "shape"):
        images = [images]
    images = list(images)
    # a folder expands to many files: explain each predicted file by its own path
    chosen = [Path(prediction.name) if isinstance(images[i], (str, os.PathLike)) else images[i]
              for i, prediction in zip(predictions.indices, predictions)]
    try:
        explained = explain_images(
            explainer, chosen, target=target, overlap=overlap, pixel_size_um=pixel_size_um,
            on_error=on_error, progress=scaled(progress, 50, 50, 100, ""), cancel=cancel)
    except BadInputError as err:  # every image failed: keep the predictions, say why
        if on_error != "collect":
            raise
        explained = PredictionBatch(failures=[ImageFailure(p.name, str(err), k)
                                              for k, p in enumerate(predictions)])
    by_position = dict(zip(explained.indices, explained))
    for failure in explained.failures:
        predictions.failures.append(ImageFailure(failure.image, "Grad-CAM: " + failure.error,
                                                 predictions.indices[failure.index]))
    return predictions, [by_position.get(k) for k in range(len(predictions))]
