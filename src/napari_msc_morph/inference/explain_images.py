"""Grad-CAM heat maps of many images: the one entry point ``msc-morph explain`` calls
(the Predict dock's "Explain" is ``predict_images(..., explain=True)``).

Inputs are handled exactly as by :func:`~napari_msc_morph.inference.predict_images`
(files, folders, arrays, :class:`~napari_msc_morph.inference.ImageInput`; the same
pixel-size policy; the same loop, ``on_error="collect"`` for batch faces), and each
image gives an :class:`~napari_msc_morph.inference.explain.Explanation` whose heat
map is aligned pixel for pixel with the image.

Examples
--------
>>> from napari_msc_morph.inference import explain_images
>>> maps = explain_images("osteo.zip", ["a.tif"], target="induced")  # doctest: +SKIP
>>> maps[0].heatmap.shape  # the image plane's (H, W)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..batch.run import FieldResults
from ..jobs import CancelToken, ProgressFn
from .explain import Explainer, Explanation, resolve_target
from .inputs import ImageInput, check_options, label_result, run_images, with_messages

__all__ = ["explain_images", "explain_one", "explainer_for"]

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
) -> FieldResults:
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
    FieldResults
        A list of :class:`~napari_msc_morph.inference.explain.Explanation`, one
        per image that worked, with ``failures`` and ``indices``.

    Raises
    ------
    BadInputError
        No images, an unknown target/tiling, a network without convolutions.
    Cancelled
        When ``cancel`` is set (``err.partial`` holds the finished maps when collecting).
    """
    check_options(on_error, overlap, pixel_size_um)  # once, before the bundle loads
    explainer = explainer_for(bundle, device, precision, batch_size)
    target = resolve_target(explainer.task, target)  # before reading any image
    return run_images(
        images, lambda item: explain_one(explainer, item, target, overlap, cancel, tiling),
        model_pixel_size=explainer.config.pixel_size_um, tiling=tiling,
        pixel_size_um=pixel_size_um, on_error=on_error, verb="explained", progress=progress,
        cancel=cancel, prefetch=0, on_result=on_result)


def explain_one(explainer, item: ImageInput, target: str, overlap: float | None,
                cancel: CancelToken | None, tiling: str | None = None, start: int = 0,
                span: int = 1):
    """Grad-CAM of one loaded image (a generator of progress); returns its Explanation."""
    steps = explainer.explain_steps(
        item.data, target=target, tiling=tiling, overlap=overlap, rgb=item.rgb,
        name=item.message_name, pixel_size_um=item.pixel_size_um, cancel=cancel,
        layout=item.layout)
    explanation = yield from with_messages(steps, f"{item.message_name}: Grad-CAM ", start,
                                           span)
    label_result(explanation, item)
    for notice in explanation.notices:
        logger.info("%s", notice)
    return explanation
