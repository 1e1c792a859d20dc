"""Checks that turn a network's own failures into messages naming the option to change."""

from __future__ import annotations

from ..errors import BadInputError
from .optim import OPTIMIZERS

__all__ = ["check_network_takes_crops", "check_weights_finite"]


def _native_size(model) -> int | None:
    """The input side a fixed-size network (a ViT) was built for, if it says."""
    size = getattr(getattr(model, "patch_embed", None), "img_size", None)
    if size is None:
        size = (getattr(model, "pretrained_cfg", None) or {}).get("input_size", (None,))[-1:]
    if isinstance(size, (tuple, list)):
        size = size[-1] if size else None
    return int(size) if size else None


def check_network_takes_crops(model, config, device: str) -> None:
    """One training-mode forward pass on blank crops; a BadInputError names ``--input-size``/``--batch-size``.

    Batch-normalisation statistics are restored afterwards.
    """
    import torch

    batch = min(int(config.batch_size), 2)
    x = torch.zeros(batch, config.in_chans, config.input_size, config.input_size, device=device)
    buffers = {k: v.clone() for k, v in model.state_dict().items()
               if "running_" in k or "num_batches_tracked" in k}
    was_training = model.training
    model.train()
    try:
        with torch.no_grad():
            model(x)
    except (AssertionError, RuntimeError) as err:
        native = _native_size(model)
        hint = (f"it is built for {native} px inputs: give --input-size {native}"
                if native and native != config.input_size else "give another --input-size")
        raise BadInputError(
            f"backbone {config.backbone!r} cannot take {config.input_size} px crops "
            f"(--input-size): {err} ({hint}, or choose a convolutional backbone such as "
            "resnet50, which takes any size)."
        ) from None
    except ValueError as err:
        if "more than 1 value per channel" not in str(err):
            raise
        raise BadInputError(
            f"batch size {config.batch_size} (--batch-size) is too small for "
            f"{config.backbone!r} at {config.input_size} px: its batch normalisation needs more "
            "than one value per channel during training. Give --batch-size 2 or more (8 or 16 "
            "is usual), or a larger --input-size."
        ) from None
    finally:
        if buffers:
            model.load_state_dict(buffers, strict=False)
        model.train(was_training)


def check_weights_finite(model, config, epoch: int, device: str) -> None:
    """Raise :class:`BadInputError` naming ``--lr`` when the weights or a fixed crop's output overflow."""
    import torch

    finite = all(bool(torch.isfinite(p).all()) for p in model.parameters())
    if finite:
        noise = torch.randn(1, config.in_chans, config.input_size, config.input_size,
                            generator=torch.Generator().manual_seed(0)).to(device)
        was_training = model.training
        model.eval()
        with torch.no_grad():
            finite = bool(torch.isfinite(model(noise)).all())
        model.train(was_training)
    if finite:
        return
    raise BadInputError(
        f"training diverged in epoch {epoch}: the network's weights overflowed (its output is "
        f"NaN or infinite), so "
        f"the learning rate {config.learning_rate:g} (--lr) is too high for this "
        f"{config.optimizer} run. Lower --lr (the {config.optimizer} default is "
        f"{OPTIMIZERS.entry(config.optimizer).extra['lr']:g}) and train again with --overwrite."
    )
