"""Grad-CAM heat maps of a bundle's network, stitched over a whole field.

Crops are tiled, resampled and normalised exactly as for prediction; each crop's
map is upsampled to the crop and overlapping crops are blended with a tent
window. The method and its limits are in docs/explain.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

import numpy as np

from ..batch.run import FieldResults, drain
from ..errors import BadInputError, MissingDependencyError
from ..jobs import CancelToken, ProgressFn
from ..models.calibration import calibrated_softmax
from .crops import tile_image
from .inputs import ImageInput, check_options, label_result, run_images, with_messages
from .predict import predictor_for
from .preprocess import ImageLayout

__all__ = [
    "PREDICTED_TARGET",
    "Explainer",
    "Explanation",
    "blend_window",
    "cover_field",
    "explain_images",
    "explain_one",
    "explainer_for",
    "gradcam_layer",
    "resolve_target",
]

logger = logging.getLogger(__name__)

#: ``--target`` value that explains each crop's own predicted class.
PREDICTED_TARGET = "predicted"
#: Explain's default tiling: a grid covers the whole field.
DEFAULT_TILING = "grid"


@dataclass
class Explanation:
    """A Grad-CAM heat map of one image (a 2D plane, or a stack plane by plane).

    Attributes
    ----------
    heatmap : ndarray of float32
        ``(..., H, W)``, scaled to [0, 1] per plane.
    target : str
        The explained class, or ``"predicted"`` (each crop's own top class).
    probabilities : ndarray, shape (n_classes,)
        Mean calibrated probabilities of the tiling's own crops: what ``predict`` gives.
    raw_max : list of float
        Per plane, the map's maximum before scaling.
    coverage : float
        Fraction of the field's pixels inside at least one crop.
    """

    heatmap: np.ndarray
    target: str
    target_layer: str
    class_names: tuple
    probabilities: np.ndarray
    tile_targets: np.ndarray
    tiling: str
    raw_max: list = field(default_factory=list)
    coverage: float = 1.0
    model_id: str = ""
    name: str = ""
    pixel_size_um: float | None = None
    pixel_size_source: str = ""
    device: str = "cpu"
    precision: str = "fp32"
    notices: list = field(default_factory=list)

    @property
    def predicted_class(self) -> str:
        return self.class_names[int(np.argmax(self.probabilities))]

    @property
    def target_label(self) -> str:
        """What the map explains, for layer and file names."""
        return "predicted class" if self.target == PREDICTED_TARGET else self.target


def resolve_target(task, target: str | None) -> str:
    """``target`` checked against ``task``'s classes; ``None`` gives the positive class,
    else ``"predicted"``."""
    if target is None or str(target).strip() == "":
        return task.positive_class or PREDICTED_TARGET
    target = str(target).strip()
    if target == PREDICTED_TARGET or target in task.class_names:
        return target
    choices = ", ".join([*task.class_names, PREDICTED_TARGET])
    raise BadInputError(
        f"target class (--target) {target!r} is not a class of this {task.name} model; "
        f"choose one of: {choices}."
    )


def gradcam_layer(model) -> tuple[str, object]:
    """``(name, module)`` of the last convolutional stage of ``model``.

    timm's ``feature_info`` names it; other networks get their last child holding a
    ``Conv2d`` (or the last ``Conv2d``). A network without one (a ViT) is refused.
    """
    import torch

    info = getattr(model, "feature_info", None)
    if info is not None:
        try:
            last = info[-1]
            name = last["module"] if isinstance(last, dict) else info.module_name()[-1]
            module = model.get_submodule(name)
        except (AttributeError, IndexError, KeyError, TypeError):
            module = None
        if module is not None:
            if any(isinstance(m, torch.nn.Conv2d) for m in module.modules()):
                return name, module
            raise BadInputError(
                f"the last stage ({name!r}) of the network ({type(model).__name__}) has no "
                "convolution (a vision transformer?); Grad-CAM needs a CNN backbone (ResNet, "
                "ResNeXt, ConvNeXt, EfficientNet ...).")
    candidates = [(name, child) for name, child in model.named_children()
                  if any(isinstance(m, torch.nn.Conv2d) for m in child.modules())]
    if candidates:
        return candidates[-1]
    convs = [(name, m) for name, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)]
    if convs:
        return convs[-1]
    raise BadInputError(
        f"the network ({type(model).__name__}) has no convolutional layer; Grad-CAM needs a "
        "CNN backbone (ResNet, ResNeXt, ConvNeXt, EfficientNet ...)."
    )


def blend_window(crop: int) -> np.ndarray:
    """A (crop, crop) tent weight: a crop's border, with least context, counts least."""
    ramp = np.minimum(np.arange(crop) + 0.5, crop - np.arange(crop) - 0.5) / (crop / 2.0)
    ramp = np.clip(ramp, 1.0 / crop, 1.0).astype(np.float32)
    return np.outer(ramp, ramp)


def cover_field(boxes: np.ndarray, shape, crop: int) -> np.ndarray:
    """A centred grid's boxes plus rows/columns flush with the borders: the whole field."""
    h, w = int(shape[0]), int(shape[1])
    ys = sorted(set(int(v) for v in boxes[:, 0]) | {0, h - crop})
    xs = sorted(set(int(v) for v in boxes[:, 1]) | {0, w - crop})
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    yy, xx = yy.ravel(), xx.ravel()
    return np.stack([yy, xx, yy + crop, xx + crop], axis=1).astype(np.int64)


class Explainer:
    """Grad-CAM of a bundle's network, crop by crop, stitched over the field.

    Parameters
    ----------
    bundle : ModelBundle, Predictor, str or Path
        A bundle, its path, or a ready Predictor (its settings are used).
    device, precision, batch_size
        As for :class:`~.predict.Predictor`.
    """

    def __init__(self, bundle, device: str = "auto", precision: str = "auto",
                 batch_size: int | None = None):
        try:
            from captum.attr import LayerAttribution, LayerGradCam
        except ImportError:
            raise MissingDependencyError("captum", purpose="Grad-CAM attribution maps") from None
        self._attribution = LayerAttribution
        self.predictor = predictor_for(bundle, device, precision, batch_size)
        self.config, self.task = self.predictor.config, self.predictor.task
        self.device = self.predictor.device
        self.layer_name, layer = gradcam_layer(self.predictor.model)
        self._gradcam = LayerGradCam(self.predictor.model, layer)
        self._layer_ndim: int | None = None
        self._logits = None  # the class scores of captum's own forward pass
        layer.register_forward_hook(self._keep_layer_ndim)
        self.predictor.model.register_forward_hook(self._keep_logits)

    @property
    def precision(self) -> str:
        precision = self.predictor.precision
        return "fp32" if precision == "calibrating" else precision

    def _keep_layer_ndim(self, module, inputs, output):
        self._layer_ndim = getattr(output, "ndim", None)

    def _keep_logits(self, module, inputs, output):
        self._logits = output.detach()

    # -- one batch ---------------------------------------------------------------------
    def cam_batch(self, batch: np.ndarray, target: str) -> tuple[np.ndarray, np.ndarray,
                                                                  np.ndarray]:
        """Maps upsampled to the crop (B, h, w), probabilities and explained class of a batch."""
        import torch

        predictor = self.predictor
        x = predictor.tensor(batch)
        autocast = predictor.autocast(self.precision)
        if target == PREDICTED_TARGET:  # the targets need a forward pass of their own
            with torch.no_grad(), autocast:
                targets = predictor.model(x).argmax(dim=1)
        else:
            targets = torch.full((len(x),), self.task.class_names.index(target),
                                 dtype=torch.long, device=x.device)
        self._logits = None
        with torch.enable_grad(), autocast:
            cam = self._gradcam.attribute(x, target=targets, relu_attributions=True)
        if self._layer_ndim != 4:
            raise BadInputError(
                f"module {self.layer_name!r} of {self.config.backbone} gives "
                f"{self._layer_ndim}-D outputs, not feature maps; Grad-CAM needs a CNN backbone.")
        # softmax(logits / T) with the bundle's temperature, as predict gives them
        probs = calibrated_softmax(self._logits, self.config)
        cam = self._attribution.interpolate(cam.detach().float(), tuple(batch.shape[-2:]),
                                            "bilinear")
        cams = cam[:, 0].clamp_min_(0).cpu().numpy().astype(np.float32)
        return cams, probs, targets.cpu().numpy()

    # -- images ------------------------------------------------------------------------
    def explain(self, image, **kwargs) -> Explanation:
        """Explain one image (2D plane or stack); arguments as :meth:`explain_steps`."""
        return drain(self.explain_steps(image, **kwargs))

    def explain_steps(
        self,
        image,
        target: str | None = None,
        tiling: str | None = None,
        overlap: float | None = None,
        rgb: bool | None = None,
        name: str = "image",
        pixel_size_um: float | None = None,
        cancel: CancelToken | None = None,
        layout: ImageLayout | None = None,
    ) -> Generator[tuple[int, int], None, Explanation]:
        """Yields ``(tiles_done, tiles_total)``; returns the :class:`Explanation`.

        Arguments as :meth:`~.predict.Predictor.predict_steps`, plus ``target`` (see
        :func:`resolve_target`); the default tiling is ``grid`` (the whole field).
        """
        target = resolve_target(self.task, target)
        tiled = tile_image(image, self.config, tiling=tiling or DEFAULT_TILING, overlap=overlap,
                           rgb=rgb, name=name, pixel_size_um=pixel_size_um, layout=layout)
        layout, boxes, factor, tiling = tiled.layout, tiled.boxes, tiled.factor, tiled.tiling
        crop, work_shape, padded = tiled.crop, tiled.work_shape, tiled.padded_shape
        predicted = {tuple(int(v) for v in box) for box in boxes}
        if tiling == DEFAULT_TILING:
            boxes = cover_field(boxes, padded, crop)
        # probabilities only from the tiling's own crops, so they equal predict's
        in_prediction = np.array([tuple(int(v) for v in box) in predicted for box in boxes])
        covered = np.zeros(padded, dtype=bool)
        for y0, x0, y1, x1 in boxes:
            covered[y0:y1, x0:x1] = True
        coverage = float(covered[:work_shape[0], :work_shape[1]].mean())
        window = blend_window(crop)
        planes = layout.plane_indices()
        heatmap = np.zeros(layout.leading_shape + layout.plane_shape, dtype=np.float32)
        probs = np.empty((len(planes) * len(boxes), self.task.num_classes))
        targets = np.empty(len(planes) * len(boxes), dtype=np.int64)
        raw_max, done, total = [], 0, len(boxes) * len(planes)
        for index in planes:
            _, batches = tiled.plane_batches(index, boxes, self.predictor.batch_size, cancel,
                                             f"Grad-CAM of {name} was cancelled.")
            weighted = np.zeros(padded, dtype=np.float32)
            weights = np.zeros(padded, dtype=np.float32)
            for _, chunk, batch in batches:
                cams, p, t = self.cam_batch(batch, target)
                for cam, (y0, x0, y1, x1) in zip(cams, chunk):
                    weighted[y0:y1, x0:x1] += cam * window
                    weights[y0:y1, x0:x1] += window
                probs[done:done + len(chunk)], targets[done:done + len(chunk)] = p, t
                done += len(chunk)
                yield done, total
            stitched = np.divide(weighted, weights, out=np.zeros_like(weighted),
                                 where=weights > 0)[:work_shape[0], :work_shape[1]]
            stitched = _back_to_image(stitched, layout.plane_shape, factor)
            peak = float(stitched.max()) if stitched.size else 0.0
            raw_max.append(peak)
            heatmap[index] = stitched / peak if peak > 0 else 0.0
        return Explanation(
            heatmap=np.clip(heatmap, 0.0, 1.0, out=heatmap), target=target,
            target_layer=self.layer_name, class_names=self.task.class_names,
            probabilities=probs[np.tile(in_prediction, len(planes))].mean(axis=0),
            tile_targets=targets, tiling=tiling,
            raw_max=raw_max, coverage=coverage, model_id=self.config.model_id, name=name,
            pixel_size_um=pixel_size_um, device=self.device, precision=self.precision,
            notices=self._notices(name, target, raw_max, coverage, tiling, factor),
        )

    def _notices(self, name, target, raw_max, coverage, tiling, factor) -> list[str]:
        notices = []
        if factor != 1.0:
            notices.append(f"{name} was resampled by 1/{factor:g} to the model's "
                           f"{self.config.pixel_size_um:g} µm/px; its Grad-CAM map was brought "
                           "back to the image's pixels.")
        if coverage < 1.0:
            notices.append(f"{name}: the {tiling} tiling saw {100 * coverage:.0f}% of the field; "
                           "the rest of the Grad-CAM map is 0 (use --tiling grid for the whole "
                           "field).")
        if raw_max and max(raw_max) <= 0:
            label = "its predicted class" if target == PREDICTED_TARGET else f"class {target!r}"
            notices.append(f"{name}: no region raised the score of {label}; the Grad-CAM map "
                           "is 0 everywhere.")
        return notices


def _back_to_image(stitched: np.ndarray, plane_shape, factor: float) -> np.ndarray:
    """The stitched map resampled from model pixels onto the image plane's."""
    if factor == 1.0 and stitched.shape == tuple(plane_shape):
        return stitched.astype(np.float32, copy=False)
    if float(factor).is_integer():
        # block averages: each model pixel spans factor x factor image pixels from (0, 0)
        k = int(factor)
        up = np.repeat(np.repeat(stitched, k, axis=0), k, axis=1)[:plane_shape[0], :plane_shape[1]]
        pad = ((0, plane_shape[0] - up.shape[0]), (0, plane_shape[1] - up.shape[1]))
        return np.pad(up, pad, mode="edge").astype(np.float32, copy=False)
    from skimage.transform import resize

    return resize(stitched, tuple(plane_shape), order=1, mode="edge",
                  anti_aliasing=False, preserve_range=True).astype(np.float32)


def explainer_for(bundle, device: str = "auto", precision: str = "auto",
                  batch_size: int | None = None) -> Explainer:
    """An :class:`Explainer` of a bundle, its path or a Predictor; an Explainer as it is."""
    if isinstance(bundle, Explainer):
        return bundle
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
    images : sequence
        As for :func:`~napari_msc_morph.inference.predict_images`, like the other options.
    target : str, optional
        See :func:`resolve_target`.
    tiling : str, optional
        Default ``grid`` (the whole field); ``six``/``center`` explain only their crops.
    on_result : callable, optional
        ``on_result(explanation, image_input)`` as each image is done; its errors are
        not collected.

    Returns
    -------
    FieldResults
        One :class:`Explanation` per image that worked, with ``failures``.
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
