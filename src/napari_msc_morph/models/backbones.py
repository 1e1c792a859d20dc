"""Backbones from timm, built without any download unless the user asks.

``create_backbone`` is the one place the package builds a network. It checks
the name against timm's registry with a helpful error, and can load
pretrained weights from a local ``.safetensors`` file (for offline machines or
the lab's own ImageNet weights) through timm's ``pretrained_cfg_overlay``.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from ._timm import import_timm

__all__ = ["create_backbone", "check_backbone_name", "classifier_out_features", "resolve_device"]


def check_backbone_name(name: str) -> None:
    """Raise ``ValueError`` if ``name`` is not a timm model name.

    The message suggests close names (``resnext50`` -> ``resnext50_32x4d``).
    """
    timm = import_timm()

    if not isinstance(name, str) or not name:
        raise ValueError(f"Backbone name must be a non-empty string, got {name!r}.")
    if timm.is_model(name):
        return
    known = timm.list_models()
    # Names that extend what was typed first (resnext50 -> resnext50_32x4d).
    close = [m for m in known if m.startswith(name)][:3]
    close += [m for m in difflib.get_close_matches(name, known, n=5, cutoff=0.6) if m not in close]
    hint = f" Did you mean: {', '.join(close[:5])}?" if close else ""
    raise ValueError(
        f"Unknown timm backbone {name!r}.{hint} "
        "See timm.list_models() for the names timm provides."
    )


def create_backbone(
    name: str,
    num_classes: int,
    in_chans: int = 3,
    pretrained: bool = False,
    pretrained_file: str | os.PathLike | None = None,
    **kwargs,
):
    """Build a timm classification network.

    Parameters
    ----------
    name : str
        A timm model name, e.g. ``"resnext50_32x4d"``, ``"resnet50"``,
        ``"convnext_tiny"``, ``"efficientnet_b0"``; tests use ``"resnet10t"``.
    num_classes : int
        Number of outputs of the classification head.
    in_chans : int, default 3
        Input channels (1 for grayscale models; timm adapts the stem).
    pretrained : bool, default False
        Load pretrained (ImageNet) weights. With ``pretrained_file`` unset this
        lets timm fetch them from the internet, which only works online.
    pretrained_file : path, optional
        A local ``.safetensors`` file with the backbone's pretrained weights
        (a different head size is dropped and re-initialised by timm). Implies
        that ``pretrained`` is on. Pickled ``.pth``/``.pt`` files are refused.
    **kwargs
        Passed to :func:`timm.create_model` (e.g. ``drop_rate``).

    Returns
    -------
    torch.nn.Module

    Examples
    --------
    >>> net = create_backbone("resnet10t", num_classes=3)
    >>> net.num_classes
    3
    """
    timm = import_timm()

    check_backbone_name(name)
    if int(num_classes) < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}.")
    if int(in_chans) not in (1, 3):
        raise ValueError(f"in_chans must be 1 (grayscale) or 3 (RGB), got {in_chans}.")
    if pretrained_file is not None:
        path = Path(pretrained_file)
        if not path.is_file():
            raise FileNotFoundError(f"Pretrained weights file {path} does not exist.")
        if path.suffix.lower() != ".safetensors":
            raise ValueError(
                f"Pretrained weights {path.name} must be a .safetensors file; pickled "
                "checkpoints (.pth/.pt/.bin) are not loaded because unpickling can run "
                "code. Convert them once with safetensors.torch.save_file()."
            )
        kwargs["pretrained_cfg_overlay"] = dict(file=str(path))
        pretrained = True
    return timm.create_model(
        name,
        pretrained=bool(pretrained),
        num_classes=int(num_classes),
        in_chans=int(in_chans),
        **kwargs,
    )


def classifier_out_features(model) -> int | None:
    """Number of outputs of a timm model's head, or ``None`` if unknown."""
    num = getattr(model, "num_classes", None)
    if isinstance(num, int):
        return num
    try:
        head = model.get_classifier()
    except Exception:  # not a timm model
        return None
    return getattr(head, "out_features", None)


def resolve_device(device: str | None = "auto") -> str:
    """Turn ``"auto"`` into ``"cuda"``, then ``"mps"``, then ``"cpu"``; check the others.

    Raises ``ValueError`` if the requested device is not available here.
    """
    import torch

    device = (device or "auto").lower()
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    base = device.split(":")[0]
    if base == "cuda" and not torch.cuda.is_available():
        raise ValueError("Device 'cuda' was requested but no CUDA GPU is available; use 'auto' or 'cpu'.")
    if base == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError("Device 'mps' was requested but is not available; use 'auto' or 'cpu'.")
    if base not in ("cpu", "cuda", "mps"):
        raise ValueError(f"Unknown device {device!r}; use auto, cpu, cuda or mps.")
    return device
