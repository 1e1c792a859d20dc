"""Model bundles, timm backbones and prediction tasks."""

from .backbones import DEVICES, create_backbone, normalization, resolve_device
from .bundle import BundleConfig, ModelBundle, load_bundle, read_bundle_config, save_bundle
from .tasks import TASKS, TaskSpec, get_task

__all__ = [
    "DEVICES",
    "BundleConfig",
    "ModelBundle",
    "TASKS",
    "TaskSpec",
    "create_backbone",
    "get_task",
    "load_bundle",
    "normalization",
    "read_bundle_config",
    "resolve_device",
    "save_bundle",
]
