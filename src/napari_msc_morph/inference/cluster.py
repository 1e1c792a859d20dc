"""Predict many images on a Dask cluster: one task per image, the model loaded once per worker.

The batch loop (:func:`~napari_msc_morph.batch.run_fields`) with a predict
task: each task predicts its image with
:func:`~napari_msc_morph.inference.predict_images` and the worker's cached
:class:`~napari_msc_morph.inference.Predictor`, so an image's prediction, and
its failure, are the ones a serial ``msc-morph predict`` gives (with a fixed
``precision``; ``auto`` calibrates bf16 on the first tiles a predictor sees).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from ..batch.run import FieldResults, run_fields
from ..jobs import CancelToken, ProgressFn

__all__ = ["MODEL_LOADS", "cached_predictor", "predict_fields", "predict_task"]

#: Every model load a task did, as ``(worker address or None, bundle path)``: tests
#: and logs count them (one per worker and bundle, not one per image).
MODEL_LOADS: list[tuple[str | None, str]] = []


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


# two bundles per process: a run uses one; a long-lived worker may see more
@functools.lru_cache(maxsize=2)
def cached_predictor(worker: str | None, bundle_key: tuple, device: str, precision: str,
                     batch_size: int | None):
    """This worker's :class:`~napari_msc_morph.inference.Predictor` for a bundle, loaded once.

    ``bundle_key`` is ``_bundle_key(path)``, so a rewritten bundle loads again.
    """
    from .predict import predictor_for

    MODEL_LOADS.append((worker, bundle_key[0]))
    return predictor_for(bundle_key[0], device, precision, batch_size)


def predict_task(image, *, bundle: str, device: str = "auto", precision: str = "auto",
                 batch_size: int | None = None, predictor=None, **options):
    """Predict one image, ``(path, pixel size or None)``, with this worker's predictor.

    ``options``: ``tiling``, ``overlap`` and the batch's ``pixel_size_um``
    (used where the image has none of its own). Raises the image's error, as
    serially: the loop records it.
    """
    from . import predict_images

    if predictor is None:
        predictor = cached_predictor(_worker_address(), _bundle_key(bundle), device, precision,
                                     batch_size)
    path, pixel_size = image
    default_size = options.pop("pixel_size_um", None)
    return predict_images(predictor, [path], pixel_size_um=default_size if pixel_size is None
                          else pixel_size, prefetch=0, **options)[0]


def predict_fields(bundle, images, *, pixel_sizes=None, tiling: str | None = None,
                   overlap: float | None = None, device: str = "auto", precision: str = "auto",
                   batch_size: int | None = None, pixel_size_um: float | None = None,
                   client=None, progress: ProgressFn | None = None,
                   cancel: CancelToken | None = None) -> FieldResults:
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
    FieldResults
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
    from ..tiling import TILINGS
    from . import Predictor, expand_inputs
    from .inputs import check_options

    check_options("collect", overlap, pixel_size_um)
    if tiling is not None:
        TILINGS.entry(tiling)
    images = [images] if isinstance(images, (str, os.PathLike)) else list(images)
    pixel_sizes = list(pixel_sizes) if pixel_sizes is not None else [None] * len(images)
    failures: list = []
    items = expand_inputs(images, failures)  # (input index, path), as serially
    ready = isinstance(bundle, Predictor)
    if ready and client is not None:
        raise TypeError("a cluster's workers load the model themselves: pass the bundle's "
                        "path, not a Predictor.")
    task = functools.partial(
        predict_task, bundle="" if ready else str(Path(bundle).resolve()),
        predictor=bundle if ready else None, device=device, precision=precision,
        batch_size=batch_size, tiling=tiling, overlap=overlap, pixel_size_um=pixel_size_um)
    return run_fields(task, [(str(path), pixel_sizes[index]) for index, path in items],
                      [str(path) for _, path in items], indices=[k for k, _ in items],
                      failures=failures, what="image", verb="predicted", client=client,
                      progress=progress, cancel=cancel)
