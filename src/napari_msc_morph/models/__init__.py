"""Model bundles, timm backbones and prediction tasks.

See :mod:`napari_msc_morph.models.bundle` for the bundle format.
"""

from .backbones import create_backbone, resolve_device
from .bundle import BundleConfig, ModelBundle, load_bundle, read_bundle_config, save_bundle
from .tasks import TASKS, TaskSpec, get_task

__all__ = [
    "BundleConfig",
    "ModelBundle",
    "TASKS",
    "TaskSpec",
    "create_backbone",
    "get_task",
    "load_bundle",
    "read_bundle_config",
    "resolve_device",
    "save_bundle",
]
