"""What a training run records in its model bundle: the ``BundleConfig`` and its ``metrics``."""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd

from ._json import json_safe
from .config import TrainConfig
from .splits import record_split

__all__ = ["bundle_config_for", "bundle_metrics", "history_lists", "update_bundle_metrics"]


def bundle_config_for(config: TrainConfig, class_names, pixel_size_um, normalization,
                      metrics: dict | None = None):
    """The :class:`~napari_msc_morph.models.BundleConfig` of a model trained with ``config``."""
    from ..models import BundleConfig

    mean, std = normalization
    return BundleConfig(
        task=config.task,
        backbone=config.backbone,
        input_size=config.input_size,
        class_names=tuple(class_names),
        in_chans=config.in_chans,
        mean=tuple(mean),
        std=tuple(std),
        pixel_size_um=pixel_size_um,
        tiling=config.tiling,
        intensity=config.intensity,
        metrics=dict(metrics or {}),
        description=(
            f"Trained by napari-msc-morph on {config.task} ({config.backbone}, "
            f"{config.input_size} px"
            + (f", fields read at 1/{config.downscale} resolution" if config.downscale > 1 else "")
            + ")."
        ),
    )


def history_lists(history: list[dict]) -> dict:
    """The learning curves as ``{column: [value per epoch]}`` (JSON-ready)."""
    keys = [k for k in history[0] if k not in ("train_seconds",)]
    return {k: [json_safe(r.get(k)) for r in history] for k in keys}


def bundle_metrics(row: dict, history: list[dict], table: pd.DataFrame, config: TrainConfig,
                   best_epoch: int, monitor: str, pretrained_source: str | None = None) -> dict:
    """model.json ``metrics``: the best epoch's numbers, the split, the curves and every resolved setting."""
    metrics = {k: v for k, v in row.items() if k not in ("epoch", "train_seconds")}
    metrics.update({
        "best_epoch": best_epoch,
        "epochs_trained": len(history),
        "monitor": monitor,
        "split_by": config.split_by or "image",
        "n_images": {s: int((table["split"] == s).sum()) for s in ("train", "val", "test")},
        "history": history_lists(history),
    })
    resolved = {"lr": config.learning_rate, "momentum": config.resolved_momentum}
    metrics.update({key: resolved.get(key, getattr(config, key)) for key in (
        "seed", "optimizer", "scheduler", "learning_rate", "downscale", "crops_per_field", "recipe",
        "lr", "momentum", "weight_decay", "batch_size", "epochs", "early_stopping",
        "plateau_patience", "crop", "input_size", "tiling", "backbone", "in_chans")})
    metrics.update({
        "augment": asdict(config.augment),
        "pretrained": pretrained_source or (
            "imagenet" if config.pretrained else "none (trained from scratch)"),
    })
    metrics["split_assignment"] = record_split(table, config.split_by)
    if config.split_by and config.split_by in table.columns:
        metrics["n_groups"] = {
            s: int(table.loc[table["split"] == s, config.split_by].nunique())
            for s in ("train", "val", "test")
        }
    return json_safe(metrics)


def update_bundle_metrics(bundle_path, extra: dict) -> dict:
    """Merge ``extra`` into a bundle's ``model.json`` metrics (same weights); return them."""
    from ..models import load_bundle, save_bundle

    bundle = load_bundle(bundle_path)
    config = bundle.config
    config.metrics = {**config.metrics, **json_safe(extra)}
    save_bundle(bundle.model, config, bundle_path)  # keeps model_id: it is not empty
    return config.metrics
