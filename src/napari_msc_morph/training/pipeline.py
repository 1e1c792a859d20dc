"""The training data pipeline: manifest -> split table -> fields in memory -> crop batches.

Items are requested by key ``epoch * len + index`` (:class:`EpochSampler`), so each
sample's augmentation never depends on worker scheduling.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from ..jobs import CancelToken, ProgressFn, check_cancelled, report
from ._inputs import jittered_input
from .augment import color_jitter, random_crop, sample_rng
from .config import TrainConfig
from .data import (
    ManifestError,
    load_field,
    load_manifest,
    missing_class_problems,
    resolve_class_names,
    validate_manifest,
)
from .integrity import merge_duplicates
from .splits import assign_splits

logger = logging.getLogger(__name__)

__all__ = [
    "CropDataset",
    "EpochSampler",
    "consensus_pixel_size",
    "load_fields",
    "make_loader",
    "prepare_table",
    "warn_small_fields",
]


def prepare_table(manifest, config: TrainConfig, dedupe: bool = False) -> tuple[pd.DataFrame, tuple]:
    """``(table with a split column, class_names)`` of ``manifest`` for ``config``, or ManifestError.

    With ``dedupe`` repeated images are merged (listed in ``table.attrs["merged"]``).
    """
    from ..models import get_task

    task = get_task(config.task)
    source = manifest if not isinstance(manifest, pd.DataFrame) else "manifest table"
    table = load_manifest(manifest)
    merged: list[str] = []
    if dedupe:
        table, merged = merge_duplicates(table)
        for note in merged:
            logger.warning("--dedupe: %s", note)
    class_names = resolve_class_names(table, task, config.class_names)
    validate_manifest(table, class_names, group_column=config.split_by, source=source)
    table = assign_splits(table, split_by=config.split_by, val=config.val, test=config.test,
                          seed=config.seed)
    problems = missing_class_problems(table, class_names)
    if problems:
        raise ManifestError(source, problems)
    table.attrs["merged"] = merged
    return table, tuple(class_names)


def load_fields(
    paths: Iterable,
    downscale: int,
    transform: Callable | None = None,
    *,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    done: int = 0,
    total: int = 0,
) -> tuple[list, list]:
    """``(fields, pixel sizes)`` of ``paths`` at training resolution, each passed through ``transform``."""
    out, sizes = [], []
    for k, path in enumerate(paths):
        check_cancelled(cancel, "Training cancelled while reading images.")
        loaded = load_field(path, downscale)
        out.append(loaded.data if transform is None else transform(loaded.data))
        sizes.append(loaded.pixel_size_um)
        report(progress, done + k + 1, total, f"reading images {done + k + 1}/{total}")
    return out, sizes


def consensus_pixel_size(sizes: list) -> float | None:
    """The pixel size the bundle records: the median of the known ones (warns on spread)."""
    known = [s for s in sizes if s is not None]
    if not known:
        return None
    if len(known) < len(sizes):
        warnings.warn(
            f"{len(sizes) - len(known)} of {len(sizes)} training images carry no pixel size; "
            "the bundle records the others' median.",
            stacklevel=3,
        )
    med = float(np.median(known))
    if max(abs(s / med - 1) for s in known) > 0.05:
        warnings.warn(
            f"Training images have different pixel sizes ({min(known):.3g}-{max(known):.3g} µm); "
            f"the bundle records the median {med:.3g} µm.",
            stacklevel=3,
        )
    return med


def warn_small_fields(paths, fields, input_size: int) -> None:
    """Warn when fields are smaller than the crop (their crops get mirrored edges)."""
    small = [p for p, f in zip(paths, fields, strict=True) if min(f.shape[:2]) < input_size]
    if small:
        warnings.warn(
            f"{len(small)} training field(s) (e.g. {Path(small[0]).name}) are smaller than the "
            f"{input_size} px crop at this resolution; their crops are mirrored at the edges. "
            "Use a smaller --input-size or a lower downscale.",
            stacklevel=3,
        )


class CropDataset:
    """Random augmented crops of raw in-memory fields, keyed ``epoch * len + index``."""

    def __init__(self, fields: list[np.ndarray], normalizers: list, targets,
                 config: TrainConfig):
        self.fields = fields
        self.normalizers = normalizers
        self.targets = np.asarray(targets, dtype=np.int64)
        self.config = config

    def __len__(self) -> int:
        return len(self.fields) * self.config.crops_per_field

    def __getitem__(self, key):
        import torch

        epoch, index = divmod(int(key), len(self))
        i_field = index // self.config.crops_per_field
        rng = sample_rng(self.config.seed, epoch, index)
        augment = self.config.augment
        crop = random_crop(self.fields[i_field], self.config.input_size, rng, augment,
                           position=self.config.crop)
        x = jittered_input(crop, self.normalizers[i_field],
                           lambda unit: color_jitter(unit, rng, augment))
        return torch.from_numpy(x), torch.tensor(self.targets[i_field])


class EpochSampler:
    """Yields ``epoch * n + i`` for a seeded permutation ``i`` of the samples.

    Under torchrun each process takes every ``world_size``-th key from its ``rank`` on (padded
    as ``DistributedSampler`` does); ``max_samples`` caps this process's share.
    """

    def __init__(self, n: int, seed: int, max_samples: int | None = None, rank: int = 0,
                 world_size: int = 1):
        self.n, self.seed, self.max_samples = n, seed, max_samples
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def __len__(self):
        share = -(-self.n // self.world_size)
        return share if self.max_samples is None else min(share, self.max_samples)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self):
        entropy = [int(self.seed) & 0xFFFFFFFF, self.epoch, 0x5A7]
        order = np.random.default_rng(np.random.SeedSequence(entropy)).permutation(self.n)
        if self.world_size > 1:
            order = np.resize(order, -(-self.n // self.world_size) * self.world_size)
            order = order[self.rank::self.world_size]
        return iter((self.epoch * self.n + order[: len(self)]).tolist())


def make_loader(dataset: CropDataset, config: TrainConfig, pin_memory: bool, rank: int = 0,
                world_size: int = 1):
    """The DataLoader over ``dataset``; call ``loader.sampler.set_epoch`` each epoch.

    ``rank``/``world_size``: this process's shard under torchrun (:mod:`.distributed`).
    """
    import torch

    max_samples = (None if config.max_train_batches is None
                   else config.max_train_batches * config.batch_size)
    sampler = EpochSampler(len(dataset), config.seed, max_samples, rank, world_size)
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=config.batch_size,
        sampler=sampler,
        num_workers=config.num_workers,
        persistent_workers=config.num_workers > 0,
        pin_memory=pin_memory,
        drop_last=len(sampler) > config.batch_size,
    )
