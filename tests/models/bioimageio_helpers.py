"""Helpers the bioimage.io tests share (a unique module name: tests have no packages)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import torch

from napari_msc_morph.models import BundleConfig, create_backbone, save_bundle

#: timm's smallest test network: the export, validation and test_model take seconds.
BACKBONE = "test_resnet"


def tiny_bundle(path: Path, task: str = "osteogenic", seed: int = 0, **kw) -> Path:
    config = BundleConfig(task=task, backbone=BACKBONE, input_size=32, pixel_size_um=0.65,
                          **kw)
    torch.manual_seed(seed)
    model = create_backbone(BACKBONE, num_classes=config.num_classes, in_chans=config.in_chans)
    return save_bundle(model, config, path)


def rewrite_package(package: Path, out: Path, edit, drop=("model.json", "weights.safetensors"),
                    replace=None):
    """A copy of ``package`` with ``edit(yaml_dict)`` applied and the ``drop`` members removed.

    ``replace`` maps member names to new bytes.

    Stands in for a package written by another tool (no bundle attachments).
    """
    import yaml

    with zipfile.ZipFile(package) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename in drop:
                continue
            data = (replace or {}).get(info.filename) or src.read(info)
            if info.filename in ("bioimageio.yaml", "rdf.yaml"):
                content = yaml.safe_load(data)
                edit(content)
                data = yaml.safe_dump(content, sort_keys=False).encode()
            dst.writestr(info.filename, data)
    return out


def without_bundle(content: dict) -> None:
    """Drop the bundle attachments and our config section (as another tool's package)."""
    content.pop("attachments", None)
    content.get("config", {}).pop("napari_msc_morph", None)
