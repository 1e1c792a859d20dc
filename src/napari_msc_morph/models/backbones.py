"""Backbones from timm, built without any download unless the user asks; devices.

:func:`create_backbone` is the one place the package builds a network.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from ..errors import BadInputError
from ..registry import Registry
from ._timm import import_timm

__all__ = [
    "DEVICES",
    "check_backbone_name",
    "classifier_out_features",
    "create_backbone",
    "normalization",
    "pretrained_source",
    "resolve_device",
    "resolve_weights_file",
]


def check_backbone_name(name: str) -> None:
    """Refuse a name that is not a timm model, suggesting close names."""
    timm = import_timm()

    if not isinstance(name, str) or not name:
        raise BadInputError(f"Backbone name must be a non-empty string, got {name!r}.")
    if timm.is_model(name):
        return
    known = timm.list_models()
    # Names that extend what was typed first (resnext50 -> resnext50_32x4d).
    close = [m for m in known if m.startswith(name)][:3]
    close += [m for m in difflib.get_close_matches(name, known, n=5, cutoff=0.6) if m not in close]
    hint = f" Did you mean: {', '.join(close[:5])}?" if close else ""
    raise BadInputError(
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
        A timm model name, e.g. ``"resnext50_32x4d"``.
    num_classes : int
        Outputs of the classification head.
    in_chans : int, default 3
        1 for grayscale models (timm adapts the stem).
    pretrained : bool, default False
        Load ImageNet weights (from timm's cache or the internet).
    pretrained_file : path, optional
        A local ``.safetensors`` file of pretrained weights; implies ``pretrained``.
    **kwargs
        Passed to :func:`timm.create_model`.

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
        raise BadInputError(f"num_classes must be at least 1, got {num_classes}.")
    if int(in_chans) not in (1, 3):
        raise BadInputError(f"in_chans must be 1 (grayscale) or 3 (RGB), got {in_chans}.")
    if pretrained_file is not None:
        path = resolve_weights_file(pretrained_file)
        kwargs["pretrained_cfg_overlay"] = dict(file=str(path))
        pretrained = True
    try:
        return timm.create_model(name, pretrained=bool(pretrained), num_classes=int(num_classes),
                                 in_chans=int(in_chans), **kwargs)
    except OSError as err:  # weights neither cached nor downloadable (no network)
        if not pretrained or pretrained_file is not None:
            raise
        raise BadInputError(f"{_no_download_message(name)} ({err})") from err


def resolve_weights_file(weights) -> Path:
    """The ``.safetensors`` file ``weights`` names: a file, or a folder holding just one."""
    path = Path(weights).expanduser()
    if path.is_dir():
        found = sorted(path.rglob("model.safetensors")) or sorted(path.rglob("*.safetensors"))
        if len(found) != 1:
            raise BadInputError(
                f"--weights folder {path} holds {len(found)} .safetensors files; name the "
                "file itself (--weights FILE.safetensors)."
            )
        path = found[0]
    if not path.is_file():
        raise BadInputError(
            f"--weights file {path} does not exist; give a .safetensors file with the "
            "backbone's ImageNet weights, or train from scratch with --no-pretrained."
        )
    if path.suffix.lower() != ".safetensors":
        raise BadInputError(
            f"--weights {path.name} must be a .safetensors file; pickled "
            "checkpoints (.pth/.pt/.bin) are not loaded because unpickling can run "
            "code. Convert them once with safetensors.torch.save_file()."
        )
    return path


def _cached_timm_weights(name: str) -> str | None:
    """Where timm finds ``name``'s pretrained weights without a download, if anywhere."""
    from huggingface_hub import try_to_load_from_cache

    timm = import_timm()
    cfg = timm.models.get_pretrained_cfg(name)
    if cfg is None:
        return None
    if cfg.file and Path(cfg.file).is_file():
        return str(cfg.file)
    if cfg.hf_hub_id:
        repo, _, revision = cfg.hf_hub_id.partition("@")
        for filename in ("model.safetensors", "open_clip_model.safetensors", "pytorch_model.bin"):
            found = try_to_load_from_cache(repo, filename, revision=revision or None)
            if isinstance(found, str):  # not None, nor the "known to be missing" marker
                return found
    if cfg.url:
        import torch

        cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(cfg.url).name
        if cached.is_file():
            return str(cached)
    return None


def _no_download_message(name: str, hub: str | None = None) -> str:
    example = f" (e.g. {hub}'s model.safetensors copied from a machine with internet)" if hub else ""
    return (f"Backbone {name!r} should start from ImageNet weights, but none are cached and "
            "this machine is offline (or HF_HUB_OFFLINE is set). "
            f"Give them with --weights FILE.safetensors{example}, or train from scratch with "
            "--no-pretrained.")


def pretrained_source(name: str, pretrained: bool, weights=None) -> str:
    """Where a network's starting weights come from, checked before any work.

    ``"none (trained from scratch)"``, ``"file <path>"``, ``"timm cache <path>"`` or
    ``"timm download <hub id>"``; refused when none can be had (``HF_HUB_OFFLINE``).
    """
    if weights is not None:
        return f"file {resolve_weights_file(weights)}"
    if not pretrained:
        return "none (trained from scratch)"
    check_backbone_name(name)
    cached = _cached_timm_weights(name)
    if cached is not None:
        return f"timm cache {cached}"
    timm = import_timm()
    cfg = timm.models.get_pretrained_cfg(name)
    hub = (cfg.hf_hub_id or cfg.url) if cfg is not None else None
    if not hub:
        raise BadInputError(
            f"timm has no pretrained weights for backbone {name!r}; give them with "
            "--weights FILE.safetensors, or train from scratch with --no-pretrained."
        )
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:  # read from the environment when huggingface_hub is imported
        raise BadInputError(_no_download_message(name, hub))
    return f"timm download {hub}"


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


def normalization(backbone, in_chans: int = 3) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel ``(mean, std)`` from timm's data config of a network or a timm name.

    A grayscale network gets the RGB values' average, what a gray image repeated
    to RGB would see.
    """
    timm = import_timm()
    from timm.data import resolve_data_config, resolve_model_data_config

    if isinstance(backbone, str):
        check_backbone_name(backbone)
        pretrained_cfg = timm.models.get_pretrained_cfg(backbone)
        config = resolve_data_config(
            pretrained_cfg=pretrained_cfg.to_dict() if pretrained_cfg is not None else {})
    else:
        config = resolve_model_data_config(backbone)
    mean = tuple(float(v) for v in config["mean"])
    std = tuple(float(v) for v in config["std"])
    if int(in_chans) == len(mean):
        return mean, std
    if int(in_chans) == 1:
        return (sum(mean) / len(mean),), (sum(std) / len(std),)
    return (mean * in_chans)[:in_chans], (std * in_chans)[:in_chans]


# --------------------------------------------------------------------------- devices
#: Where a network runs: each entry resolves a ``--device`` value to a torch device
#: string, or ``None`` when unavailable; ``auto`` takes the highest ``priority``;
#: ``distributed`` names the torch.distributed backend.
DEVICES: Registry = Registry("device")


@DEVICES.register("auto", help="the fastest available: CUDA, then Apple MPS, then the CPU",
                  priority=-1)
def _auto(device: str) -> str:
    ranked = sorted((e for e in map(DEVICES.entry, DEVICES) if e.name != "auto"),
                    key=lambda e: -e.extra.get("priority", 0))
    return next(found for e in ranked if (found := e.value(e.name)) is not None)


@DEVICES.register("cpu", help="the CPU (always available)", priority=0, distributed="gloo")
def _cpu(device: str) -> str:
    return device


@DEVICES.register("cuda", help="an NVIDIA GPU through CUDA (`cuda:1` picks the second)",
                  priority=2, distributed="nccl")
def _cuda(device: str) -> str | None:
    import torch

    return device if torch.cuda.is_available() else None


@DEVICES.register("mps", help="an Apple-silicon GPU through Metal", priority=1)
def _mps(device: str) -> str | None:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return device if mps is not None and mps.is_available() else None


def resolve_device(device: str | None = "auto") -> str:
    """The torch device string for a :data:`DEVICES` name; refused when unavailable."""
    device = (device or "auto").lower()
    base = device.split(":")[0]
    if base not in DEVICES or (base == "auto" and device != "auto"):
        raise BadInputError(
            f"Unknown device {device!r}; use one of {', '.join(DEVICES.names())}."
        )
    found = DEVICES.get(base)(device)
    if found is None:
        raise BadInputError(
            f"Device {base!r} was requested but is not available here; use 'auto' or 'cpu'."
        )
    return found
