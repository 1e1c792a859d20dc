"""Predict many images on a Dask cluster: one task per image, the model loaded once per worker.

Each task calls the one entry point,
:func:`~napari_msc_morph.inference.predict_images`, on its image with the
worker's cached :class:`~napari_msc_morph.inference.Predictor`, so an image's
prediction is the one a serial ``msc-morph predict`` gives (with a fixed
``precision``; ``auto`` calibrates bf16 on the first tiles a predictor sees).
The per-image results are merged back into one
:class:`~napari_msc_morph.inference.PredictionBatch` in input order, failures
included, so the CLI writes the same table, errors table and partial file.
"""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadInputError, Cancelled
from ..jobs import CancelToken, ProgressFn
from .run import run_fields

__all__ = ["MODEL_LOADS", "PredictOptions", "cached_predictor", "predict_fields", "predict_task"]

#: Every model load a task did, as ``(worker address or None, bundle path)``: tests
#: and logs count them (one per worker and bundle, not one per image).
MODEL_LOADS: list[tuple[str | None, str]] = []

#: Predictors kept per process: (worker, bundle key, device, precision, batch size) -> Predictor.
_PREDICTORS: dict = {}
_LOCK = threading.Lock()
#: Bundles a worker keeps loaded at once (a run uses one; a long-lived worker may see more).
_MAX_CACHED = 2


@dataclass(frozen=True)
class PredictOptions:
    """What every image of a predict batch shares."""

    bundle: str
    device: str = "auto"
    precision: str = "auto"
    batch_size: int | None = None
    tiling: str | None = None
    overlap: float | None = None
    pixel_size_um: float | None = None


def _worker_address() -> str | None:
    try:
        from dask.distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):  # not inside a Dask task
        return None


def _bundle_key(path: str) -> tuple:
    """The bundle's path and its weights' size and modification time (a changed file reloads)."""
    from ..models.bundle import WEIGHTS_FILE

    resolved = Path(path).resolve()
    target = resolved / WEIGHTS_FILE if resolved.is_dir() else resolved
    stat = target.stat()
    return str(resolved), stat.st_mtime_ns, stat.st_size


def cached_predictor(opts: PredictOptions):
    """This worker's :class:`~napari_msc_morph.inference.Predictor` for ``opts``, loaded once."""
    from ..inference import Predictor
    from ..models.bundle import load_bundle

    worker = _worker_address()
    key = (worker, _bundle_key(opts.bundle), opts.device, opts.precision, opts.batch_size)
    with _LOCK:  # a worker with several threads loads the model once too
        if key not in _PREDICTORS:
            while len(_PREDICTORS) >= _MAX_CACHED:
                _PREDICTORS.pop(next(iter(_PREDICTORS)))
            _PREDICTORS[key] = Predictor(load_bundle(opts.bundle), device=opts.device,
                                         precision=opts.precision, batch_size=opts.batch_size)
            MODEL_LOADS.append((worker, key[1][0]))
        return _PREDICTORS[key]


def predict_task(job):
    """Predict one image (``(path, pixel size or None), options``) -> PredictionBatch."""
    return _predict_with(cached_predictor(job[1]), job)


def _predict_with(predictor, job):
    from ..inference import PredictionBatch, predict_images

    (path, pixel_size), opts = job
    try:
        return predict_images(predictor, [path], tiling=opts.tiling, overlap=opts.overlap,
                              pixel_size_um=pixel_size if pixel_size is not None
                              else opts.pixel_size_um, on_error="collect")
    except BadInputError as err:
        if getattr(err, "failures", None):  # the image failed: its failure, as serially
            return PredictionBatch(failures=err.failures)
        raise


def predict_fields(bundle, images, *, pixel_sizes=None, tiling: str | None = None,
                   overlap: float | None = None, device: str = "auto", precision: str = "auto",
                   batch_size: int | None = None, pixel_size_um: float | None = None,
                   client=None, progress: ProgressFn | None = None,
                   cancel: CancelToken | None = None):
    """Predict images with one task per image: the batch ``predict_images`` on a cluster.

    Parameters
    ----------
    bundle : path or Predictor
        The model bundle (folder or ``.zip``), on a file system every worker sees;
        without a cluster also a ready :class:`~napari_msc_morph.inference.Predictor`.
    images : sequence of path
        Image files or folders (searched recursively), as for ``predict_images``.
    pixel_sizes : sequence of float or None, optional
        Per input, its pixel size (a fields manifest's ``pixel_size_um``);
        ``None`` entries use ``pixel_size_um``, then the file's metadata.
    tiling, overlap, device, precision, batch_size, pixel_size_um
        As for :func:`~napari_msc_morph.inference.predict_images`.
    client : distributed.Client, optional
        Where to run (:func:`~napari_msc_morph.batch.batch_client`); ``None``: here.
    progress, cancel
        The package's protocol (one step per image).

    Returns
    -------
    PredictionBatch
        As ``predict_images(..., on_error="collect")``: predictions in input
        order, ``indices`` into ``images``, ``failures`` (unreadable images, and
        tasks whose worker died) in input order.

    Raises
    ------
    BadInputError
        No image at all could be predicted, or a bad option.
    Cancelled, KeyboardInterrupt
        Carrying the finished images as ``err.partial``.
    """
    from ..inference import ImageFailure, PredictionBatch, Predictor
    from ..inference.images import _as_inputs, _nothing_predicted
    from ..tiling import TILINGS, check_overlap

    if tiling is not None:
        TILINGS.entry(tiling)
    if overlap is not None:
        check_overlap(overlap)
    images = [images] if isinstance(images, (str, os.PathLike)) else list(images)
    pixel_sizes = list(pixel_sizes) if pixel_sizes is not None else [None] * len(images)
    merged = PredictionBatch()
    items = _as_inputs(images, merged.failures)  # (input index, path), as serially
    task = predict_task
    if isinstance(bundle, Predictor):
        if client is not None:
            raise TypeError("a cluster's workers load the model themselves: pass the bundle's "
                            "path, not a Predictor.")
        task, bundle = functools.partial(_predict_with, bundle), ""
    else:
        bundle = str(Path(bundle).resolve())
    opts = PredictOptions(bundle, device, precision, batch_size, tiling, overlap, pixel_size_um)
    jobs = [((str(path), pixel_sizes[index]), opts) for index, path in items]
    names = [str(path) for _, path in items]
    try:
        results = run_fields(task, jobs, names, client=client, progress=progress,
                             cancel=cancel, what="image")
    except (Cancelled, KeyboardInterrupt) as stop:
        merged = _merge(merged, items, stop.partial, ImageFailure)
        merged.partial = True
        stop.partial = merged
        raise
    merged = _merge(merged, items, results, ImageFailure)
    if not merged:
        raise _nothing_predicted(merged.failures)
    return merged


def _merge(merged, items, results, ImageFailure):
    failed = {f.index: f for f in results.failures}
    for k, (index, path) in enumerate(items):
        if k in failed:
            merged.failures.append(ImageFailure(str(path), failed[k].error, index))
            continue
        batch = results.values[k]
        if batch is None:
            continue
        for prediction in batch:
            merged.append(prediction)
            merged.indices.append(index)
        merged.failures.extend(ImageFailure(f.image, f.error, index) for f in batch.failures)
    merged.failures.sort(key=lambda f: f.index)
    return merged
