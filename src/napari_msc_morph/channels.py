"""Pick one channel (and project z) from a multichannel microscope file.

The channel axis comes from the file's axes metadata; shape decides only without
it, and only when the answer is unambiguous.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np

from .errors import BadInputError
from .io import LoadedImage, read_image
from .registry import Registry

logger = logging.getLogger(__name__)

__all__ = ["Z_PROJECTIONS", "parse_image_spec", "read_channel", "select_channel"]

_RGB_NAMES = {"r": 0, "red": 0, "g": 1, "green": 1, "b": 2, "blue": 2}

#: How a z-stack becomes one plane.
Z_PROJECTIONS: Registry = Registry("z projection")
Z_PROJECTIONS.add("max", lambda stack, axis: stack.max(axis=axis),
                  "maximum-intensity projection over z (the usual choice for IF stacks)")
Z_PROJECTIONS.add("mean", lambda stack, axis: stack.mean(axis=axis),
                  "mean over z (keeps intensities comparable between stacks)")
Z_PROJECTIONS.add("none", None, "keep the stack (an error where one plane is needed)")


def parse_image_spec(spec: str) -> tuple[Path, str | None]:
    """Split ``"stack.tif:DAPI"`` / ``"stack.tif:0"`` into a path and a channel; an
    existing file's whole name (``C:\\data\\x.tif``) is a path."""
    text = str(spec)
    if Path(text).exists() or ":" not in text:
        return Path(text), None
    path, _, channel = text.rpartition(":")
    if not path or not channel or "/" in channel or "\\" in channel:
        return Path(text), None
    return Path(path), channel


def _channel_index(loaded: LoadedImage, channel: str, size: int, rgb: bool) -> int:
    names = loaded.channel_names
    if channel.lstrip("-").isdigit():
        index = int(channel)
        if not 0 <= index < size:
            raise BadInputError(
                f"{loaded.path}: channel {index} does not exist; the file has {size} "
                f"channel(s): 0-{size - 1}{' (' + ', '.join(names) + ')' if names else ''}."
            )
        return index
    lowered = [n.lower() for n in names]
    if channel.lower() in lowered:
        return lowered.index(channel.lower())
    if rgb and channel.lower() in _RGB_NAMES:
        return _RGB_NAMES[channel.lower()]
    known = ", ".join(names) if names else ("R, G, B" if rgb else f"indices 0-{size - 1}")
    raise BadInputError(f"{loaded.path}: no channel named {channel!r}; choose one of: {known}.")


def signal_colour(rgb: np.ndarray) -> int:
    """The colour (0 red, 1 green, 2 blue) carrying an RGB export's stain: the widest spread."""
    return int(np.argmax([float(np.std(rgb[..., i])) for i in range(3)]))


def select_channel(loaded: LoadedImage, channel: str | int | None = None,
                   z_project: str = "max") -> LoadedImage:
    """The 2D plane (or z-stack with ``z_project="none"``) of one channel.

    Parameters
    ----------
    loaded : LoadedImage
    channel : str or int, optional
        Index or name (``R``/``G``/``B`` for RGB); required with several channels.
    z_project : str
        One of :data:`Z_PROJECTIONS`.

    Returns
    -------
    LoadedImage
        ``metadata["channel"]`` says which channel was used.
    """
    data = np.asarray(loaded.data)
    axes = loaded.axes or ""
    rgb = axes.endswith("S") or (not axes and data.ndim == 3 and data.shape[-1] in (3, 4))
    channel_axis = data.ndim - 1 if rgb else loaded.channel_axis
    if channel_axis is None and data.ndim == 3 and (
            (not axes and data.shape[0] <= 8) or (axes[:1] in ("Q", "I") and channel is not None)):
        # no axes metadata (or tifffile's "unknown" axis): a short leading axis is channels
        channel_axis = 0
    used = None
    if channel_axis is not None and data.shape[channel_axis] > 1:
        size = data.shape[channel_axis]
        if channel is None and rgb:
            channel = "RGB"[signal_colour(data)]
            logger.info("%s: RGB export, using its %s channel (the one with signal)",
                        loaded.path, channel)
        if channel is None:
            raise BadInputError(
                f"{loaded.path} has {size} channels"
                f"{' (' + ', '.join(loaded.channel_names) + ')' if loaded.channel_names else ''}"
                f"; say which one with {loaded.path.name}:CHANNEL (an index or a name)."
            )
        index = _channel_index(loaded, str(channel), size, rgb)
        data = np.take(data, index, axis=channel_axis)
        names = loaded.channel_names
        used = names[index] if index < len(names) else ("RGB"[index] if rgb else str(index))
        axes = axes[:channel_axis] + axes[channel_axis + 1:] if axes else axes
    elif channel not in (None, "0", 0):
        raise BadInputError(f"{loaded.path} has one channel; drop ':{channel}'.")
    if "Z" in axes and data.shape[axes.index("Z")] > 1:
        projection = Z_PROJECTIONS.get(z_project)
        if projection is not None:
            data = projection(data, axes.index("Z"))
            axes = axes.replace("Z", "")
    metadata = dict(loaded.metadata, channel=used, channel_index=None if used is None else index)
    return dataclasses.replace(loaded, data=data, axes=axes or None, metadata=metadata,
                               channel_names=[used] if used else [])


def read_channel(spec: str, z_project: str = "max") -> LoadedImage:
    """Read ``FILE[:CHANNEL]`` into one plane (see :func:`select_channel`)."""
    path, channel = parse_image_spec(spec)
    return select_channel(read_image(path), channel, z_project=z_project)
