"""Tiled inference of one array with a model bundle: :class:`Predictor`.

Faces call :func:`napari_msc_morph.inference.predict_images`; this module is its
kernel. Crops are normalised batch by batch, so memory stays bounded; the speed
choices (channels-last, autocast, the checked CPU bfloat16) are explained in
docs/prediction.md.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Generator
from dataclasses import dataclass, field

import numpy as np

from ..batch.run import drain
from ..errors import BadInputError
from ..jobs import CancelToken
from ..models.backbones import DEVICES, resolve_device
from ..models.bundle import ModelBundle, load_bundle
from ..models.calibration import calibrated_softmax
from ..models.checks import check_probabilities
from ..models.tasks import PREDICTED_CLASS_COLUMN, TaskSpec
from ..registry import Registry
from ..tiling import grid_layout
from .crops import tile_image
from .ordinal import interval_columns, task_score
from .preprocess import ImageLayout

__all__ = [
    "Prediction",
    "Predictor",
    "predict_image",
    "predictor_for",
    "CALIBRATION_TILES",
    "BF16_MIN_AGREEMENT",
    "DEVICES",
    "PRECISIONS",
]

logger = logging.getLogger(__name__)

#: Crops run in both float32 and bfloat16 before the CPU picks bfloat16.
CALIBRATION_TILES = 16
#: Lowest top-1 agreement with float32 at which bfloat16 is used on a CPU.
BF16_MIN_AGREEMENT = 0.99

#: Inference precisions (``--precision`` choices): each entry holds the autocast dtype of a
#: forward pass (``None``: float32, no autocast); ``auto`` is decided per device.
PRECISIONS: Registry = Registry("precision")
PRECISIONS.add("auto", None,
               "fp16 autocast on a GPU; bf16 on a CPU only where it agrees with fp32")
PRECISIONS.add("fp32", None, "float32 everywhere: slowest, reproducible")
PRECISIONS.add("bf16", "bfloat16", "bfloat16 autocast (CPUs with native bf16, GPUs)")
PRECISIONS.add("fp16", "float16", "float16 autocast (GPUs only)", gpu_only=True)

# bf16 decisions per weights hash, shared by all predictors in this process.
_BF16_AGREEMENT: dict[str, float] = {}


@dataclass
class Prediction:
    """The result for one image: a 2D plane, or a stack summarised over its planes.

    Attributes
    ----------
    probabilities : ndarray, shape (n_classes,)
        Mean of ``tile_probabilities`` (n_tiles, n_classes).
    boxes : ndarray, shape (n_tiles, 4)
        ``(y0, x0, y1, x1)`` in image pixels of the plane.
    maps : dict of str to ndarray
        ``grid`` tiling only: the task score and ``p_<class>`` per tile, (n_rows, n_cols);
        a stack's leading axes come first.
    map_scale, map_translate : tuple of float or None
        Where map pixels sit on the plane, in image pixels.
    plane : tuple of int
        Index of the plane in a stack (``()`` for a 2D image or a whole stack).
    notices : list of str
        What was adapted (channels converted, padding, NaN pixels ...).
    pixel_size_source : str
        ``file``, ``layer``, ``user``, ``given`` or ``assumed_from_model``.
    planes : list of Prediction
        A stack's per-plane predictions (empty for a 2D image).
    explanation : Explanation or None
        From ``predict_images(..., explain=True)``.
    """

    task: TaskSpec
    probabilities: np.ndarray
    tile_probabilities: np.ndarray
    boxes: np.ndarray
    tiling: str
    model_id: str = ""
    maps: dict = field(default_factory=dict)
    map_scale: tuple | None = None
    map_translate: tuple | None = None
    plane: tuple = ()
    notices: list = field(default_factory=list)
    device: str = "cpu"
    precision: str = "fp32"
    name: str = ""
    pixel_size_um: float | None = None
    pixel_size_source: str = ""
    planes: list = field(default_factory=list)
    leading_shape: tuple = ()
    explanation: object = None

    @property
    def predicted_class(self) -> str:
        return self.task.class_names[int(np.argmax(self.probabilities))]

    @property
    def n_tiles(self) -> int:
        return int(len(self.boxes))

    @property
    def scores(self) -> dict:
        score = task_score(self.task, self.probabilities)
        return {} if score is None else {self.task.score: float(score)}

    def row(self) -> dict:
        """One table row: class, ``p_<class>``, intervals, score, tiles, pixel size."""
        row = {
            "task": self.task.name,
            "model_id": self.model_id,
            "tiling": self.tiling,
            PREDICTED_CLASS_COLUMN: self.predicted_class,
        }
        for column, p in zip(self.task.probability_columns, self.probabilities):
            row[column] = float(p)
        row.update(interval_columns(self.task, self.probabilities))
        row.update(self.scores)
        row["n_tiles"] = self.n_tiles
        row["pixel_size_um"] = self.pixel_size_um
        row["pixel_size_source"] = self.pixel_size_source or "unknown"
        return row


def _cpu_has_fast_bf16() -> bool:
    import torch

    cpu = getattr(torch, "cpu", None)
    for probe in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
        fn = getattr(cpu, probe, None)
        try:
            if fn is not None and fn():
                return True
        except Exception:  # private API; absent or failing means "no"
            continue
    return False


class Predictor:
    """A bundle's network prepared for fast tiled inference.

    Parameters
    ----------
    bundle : ModelBundle, str or Path
        A loaded bundle (its model is moved to ``device``, channels-last, in place), or
        its folder/``.zip``.
    device : str, default "auto"
        One of :data:`DEVICES`.
    precision : str, default "auto"
        One of :data:`PRECISIONS`.
    batch_size : int, optional
        Crops per forward pass; default 8 on CPU, 32 on a GPU.
    """

    def __init__(
        self,
        bundle,
        device: str = "auto",
        precision: str = "auto",
        batch_size: int | None = None,
    ):
        import torch

        if precision not in PRECISIONS:
            raise BadInputError(
                f"precision must be one of {tuple(PRECISIONS.names())}, got {precision!r}."
            )
        if not isinstance(bundle, ModelBundle):
            bundle = load_bundle(bundle)
        self.config = bundle.config
        self.source = f"bundle {bundle.path.name if bundle.path else self.config.model_id}"
        self.task = bundle.task
        self.device = resolve_device(device)
        self.device_type = self.device.split(":")[0]
        if PRECISIONS.entry(precision).extra.get("gpu_only") and self.device_type == "cpu":
            raise BadInputError(f"precision {precision} needs a GPU; on a CPU use auto, bf16 "
                                "or fp32.")
        if batch_size is not None and int(batch_size) < 1:
            raise BadInputError(f"batch size must be at least 1, got {batch_size}.")
        default_batch = 8 if self.device_type == "cpu" else 32
        self.batch_size = int(batch_size) if batch_size else default_batch
        self.model = bundle.model.eval().to(self.device)
        if self.device_type != "mps":
            self.model = self.model.to(memory_format=torch.channels_last)
        self.bf16_agreement: float | None = None
        self._calibration = [0, 0]  # tiles compared, tiles agreeing
        self.precision = self._initial_precision(precision)

    # -- precision -----------------------------------------------------------------
    def _initial_precision(self, requested: str) -> str:
        if requested != "auto":
            return requested
        if self.device_type == "cuda":
            return "fp16"
        if self.device_type != "cpu" or not _cpu_has_fast_bf16():
            return "fp32"
        recorded = self.config.metrics.get("bf16_top1_agreement")
        if recorded is None:
            recorded = _BF16_AGREEMENT.get(self.config.weights_sha256)
        if recorded is not None:
            self.bf16_agreement = float(recorded)
            return "bf16" if self.bf16_agreement >= BF16_MIN_AGREEMENT else "fp32"
        return "calibrating"

    def autocast(self, precision: str):
        """The context a forward pass at ``precision`` (not ``auto``) runs in."""
        import torch

        dtype = PRECISIONS.get(precision)
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=getattr(torch, dtype))

    def tensor(self, batch: np.ndarray):
        """A normalised batch (B, C, h, w) on the device, channels-last where it pays."""
        import torch

        x = torch.from_numpy(batch).to(self.device)
        if self.device_type != "mps":
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def _forward(self, x, precision: str) -> np.ndarray:
        import torch

        with torch.inference_mode(), self.autocast(precision):
            logits = self.model(x)
        return calibrated_softmax(logits, self.config)  # softmax(logits / T), T from the bundle

    def run_batch(self, batch: np.ndarray) -> np.ndarray:
        """Class probabilities for a normalised batch (B, C, h, w) float32."""
        x = self.tensor(batch)
        if self.precision != "calibrating":
            return self._forward(x, self.precision)
        reference = self._forward(x, "fp32")
        candidate = self._forward(x, "bf16")
        self._calibration[0] += len(reference)
        self._calibration[1] += int((reference.argmax(1) == candidate.argmax(1)).sum())
        if self._calibration[0] >= CALIBRATION_TILES:
            self.bf16_agreement = self._calibration[1] / self._calibration[0]
            _BF16_AGREEMENT[self.config.weights_sha256] = self.bf16_agreement
            self.precision = "bf16" if self.bf16_agreement >= BF16_MIN_AGREEMENT else "fp32"
        return reference

    # -- images ---------------------------------------------------------------------
    def predict(self, image, **kwargs) -> Prediction:
        """Predict one 2D plane; arguments as :meth:`predict_steps`."""
        results = drain(self.predict_steps(image, **kwargs))
        if len(results) != 1:
            raise BadInputError(
                f"{kwargs.get('name', 'image')} is a stack of {len(results)} planes; "
                "use predict_stack() or predict_steps()."
            )
        return results[0]

    def predict_stack(self, image, **kwargs) -> list[Prediction]:
        """Predict every 2D plane of a stack; one :class:`Prediction` per plane."""
        return drain(self.predict_steps(image, **kwargs))

    def predict_steps(
        self,
        image,
        tiling: str | None = None,
        overlap: float | None = None,
        rgb: bool | None = None,
        name: str = "image",
        pixel_size_um: float | None = None,
        cancel: CancelToken | None = None,
        layout: ImageLayout | None = None,
    ) -> Generator[tuple[int, int], None, list[Prediction]]:
        """Yields ``(tiles_done, tiles_total)`` after each batch; returns one
        :class:`Prediction` per plane.

        Parameters
        ----------
        image : array_like
            ``(..., H, W)`` or ``(..., H, W, 3)``, any dtype; only the crops in flight
            are loaded, so lazy arrays stay lazy.
        tiling : str, optional
            One of :data:`~napari_msc_morph.tiling.TILINGS`; default the bundle's.
        overlap : float, optional
            Grid overlap (fraction of a crop); default the bundle's.
        rgb : bool, optional
            Whether the last axis is colour; guessed when ``None``.
        name : str
            The layer or file name, for messages.
        pixel_size_um : float, optional
            Beyond 10% off the model's, planes are resampled to it; boxes and maps
            come back in image pixels.
        cancel : CancelToken, optional
            Checked before each batch.
        layout : ImageLayout, optional
            The image's axes, already checked.
        """
        tiled = tile_image(image, self.config, tiling=tiling, overlap=overlap, rgb=rgb,
                           name=name, pixel_size_um=pixel_size_um, layout=layout)
        layout, boxes, factor = tiled.layout, tiled.boxes, tiled.factor
        padded_shape = tiled.padded_shape
        notices = []
        if layout.rgb and self.config.in_chans == 1:
            notices.append(f"{name} is RGB but the model takes grayscale; converted to luminance.")
        elif not layout.rgb and self.config.in_chans == 3:
            notices.append(f"{name} is grayscale but the model takes RGB; the channel was "
                           "replicated.")
        if factor != 1.0:
            notices.append(
                f"{name} has {pixel_size_um:g} µm/px but the model was trained at "
                f"{self.config.pixel_size_um:g} µm/px; it was resampled by 1/{factor:g} "
                "for prediction."
            )
        if tiled.padded:
            notices.append(
                f"{name} ({layout.plane_shape[0]}x{layout.plane_shape[1]} px) is smaller than the "
                f"model's {tiled.crop} px crop; it was reflect-padded to "
                f"{padded_shape[0]}x{padded_shape[1]}."
            )
        planes = layout.plane_indices()
        total = len(boxes) * len(planes)
        done = 0
        results = []
        for index in planes:
            normalise, batches = tiled.plane_batches(
                index, boxes, self.batch_size, cancel, f"Prediction on {name} was cancelled.")
            probs = np.empty((len(boxes), self.task.num_classes), dtype=np.float64)
            for start, chunk, batch in batches:
                probs[start : start + len(chunk)] = check_probabilities(  # before any table
                    self.run_batch(batch), f"{name}{_plane_label(index)}", self.source)
                done += len(chunk)
                yield done, total
            plane_notices = list(notices)
            if normalise.nonfinite_pixels:
                plane_notices.append(
                    f"{name}{_plane_label(index)}: {normalise.nonfinite_pixels} NaN/Inf pixel "
                    f"values in the crops were replaced by the median intensity "
                    f"({normalise.fill:g})."
                )
            # boxes and maps are computed on the resampled plane; give them back in image pixels
            result = Prediction(
                task=self.task, probabilities=probs.mean(axis=0), tile_probabilities=probs,
                boxes=boxes * factor if factor != 1.0 else boxes, tiling=tiled.tiling,
                model_id=self.config.model_id, plane=tuple(int(i) for i in index),
                notices=plane_notices, device=self.device, pixel_size_um=pixel_size_um,
                precision="fp32" if self.precision == "calibrating" else self.precision)
            if tiled.tiling == "grid":
                grid = grid_layout(padded_shape, self.config.input_size, tiled.overlap)
                per_class = probs.reshape(grid.n_rows, grid.n_cols, -1)
                score = task_score(self.task, per_class)
                if score is not None:
                    result.maps[self.task.score] = score.astype(np.float32)
                for k, column in enumerate(self.task.probability_columns):
                    result.maps[column] = per_class[..., k].astype(np.float32)
                result.map_scale = tuple(float(v) * factor for v in grid.map_scale)
                result.map_translate = tuple(float(v) * factor for v in grid.map_translate)
            results.append(result)
        return results

def _plane_label(index) -> str:
    return f" (plane {', '.join(str(i) for i in index)})" if index else ""


def predictor_for(bundle, device: str = "auto", precision: str = "auto",
                  batch_size: int | None = None) -> Predictor:
    """A :class:`Predictor` of a bundle path, a loaded bundle, or a Predictor (used as it is)."""
    if isinstance(bundle, Predictor):
        return bundle
    return Predictor(bundle, device=device, precision=precision, batch_size=batch_size)


def predict_image(bundle, image, tiling: str | None = None, device: str = "auto",
                  **kwargs) -> Prediction:
    """Predict one 2D plane with a bundle or a :class:`Predictor`.

    ``**kwargs`` are those of :meth:`Predictor.predict_steps`, plus ``precision`` and
    ``batch_size`` for a bundle.
    """
    predictor = predictor_for(bundle, device, kwargs.pop("precision", "auto"),
                              kwargs.pop("batch_size", None))
    return predictor.predict(image, tiling=tiling, **kwargs)
