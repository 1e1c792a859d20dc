"""Predict many images on a Dask cluster: one task per image, the model loaded once per worker.

Each task runs ``predict_images`` with the worker's cached Predictor, so results
and failures are a serial run's (with a fixed ``precision``).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from ..batch.run import FieldResults, run_fields
from ..jobs import CancelToken, ProgressFn

__all__ = ["MODEL_LOADS", "cached_predictor", "predict_fields", "predict_task"]

#: Every model load, ``(worker address or None, bundle path)``: one per worker and bundle.
MODEL_LOADS: list[tuple[str | None, str]] = []


def _worker_address() -> str | None:
    try:
        from dask.distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):  # not inside a Dask task
        return None


def _bundle_key(path: str) -> tuple:
    """The bundle's path, mtime and size: a changed file reloads."""
    from ..models.bundle import WEIGHTS_FILE

    resolved = Path(path).resolve()
    target = resolved / WEIGHTS_FILE if resolved.is_dir() else resolved
    stat = target.stat()
    return str(resolved), stat.st_mtime_ns, stat.st_size


# two bundles per process: a run uses one; a long-lived worker may see more
@functools.lru_cache(maxsize=2)
def cached_predictor(worker: str | None, bundle_key: tuple, device: str, precision: str,
                     batch_size: int | None):
    """This worker's Predictor for a bundle, loaded once."""
    from .predict import predictor_for

    MODEL_LOADS.append((worker, bundle_key[0]))
    return predictor_for(bundle_key[0], device, precision, batch_size)


def predict_task(image, *, bundle: str, device: str = "auto", precision: str = "auto",
                 batch_size: int | None = None, predictor=None, **options):
    """Predict one image, ``(path, pixel size or None)``, with this worker's predictor.

    ``options`` go to ``predict_images``; ``pixel_size_um`` only where the image has none.
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

    Options not listed are ``predict_images``'s.

    Parameters
    ----------
    bundle : path or Predictor
        A bundle every worker can read; without a cluster also a ready Predictor.
    images : sequence of path
        Image files or folders.
    pixel_sizes : sequence of float or None, optional
        Per input (a fields manifest's); ``None`` entries use ``pixel_size_um``.
    client : distributed.Client, optional
        Where to run; ``None``: here.

    Returns
    -------
    FieldResults
        As ``predict_images(..., on_error="collect")``.
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
