"""Which image layers are the channels of one image (the Segment and Measure docks' defaults).

A biologist opens several fields one after the other; after "Split RGB" an RGB export
becomes three layers of which one or two are empty. The docks' defaults follow one
image: the layers that came from the same file (the reader and napari's Split RGB keep
the file's path in ``layer.metadata``), or the split channels of one in-memory image
(napari names them ``name``, ``name [1]``, ``name [2]``). An empty or constant channel
is never a default.
"""

from __future__ import annotations

import re
import weakref

import numpy as np

from ._layers import is_in_memory

#: napari's suffix for a layer whose name was taken (and for Split RGB's channels).
DUPLICATE_SUFFIX = re.compile(r"\s*\[\d+\]$")
#: Suffixes of the Labels layers the Segment dock makes ("<image> nuclei").
SEGMENTATION_SUFFIXES = (" nuclei", " cells")
#: ``labels.metadata`` key where the Segment dock names the image it segmented.
SEGMENTED_FROM_KEY = "segmented_from"

# layer -> (id of its data, spread of its values): a layer's pixels are read once, not
# on every layer-list event (a 4k x 4k 16-bit channel costs ~30 ms)
_SPREAD: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def base_name(name: str) -> str:
    """A layer name without napari's ``[n]`` suffix."""
    return DUPLICATE_SUFFIX.sub("", name)


def named_like(names, words) -> list[str]:
    """The names that contain one of ``words`` (case-insensitive), in order."""
    return [n for n in names if any(w in n.lower() for w in words)]


def cells_first(names: list[str]) -> str | None:
    """The last whole-cell labels among ``names`` (cell size is the signal), else the last."""
    cells = named_like(names, ("cell",))
    return (cells or names or [None])[-1]


def layer_path(layer) -> str | None:
    """The file a layer was read from (the plugin's reader, napari's reader, Split RGB)."""
    path = (getattr(layer, "metadata", None) or {}).get("path")
    if not path:
        path = getattr(getattr(layer, "source", None), "path", None)
    return str(path) if path else None


def image_family(layer, layers) -> tuple | None:
    """What ``layer`` shares with the other channels of its image, or ``None`` if nothing.

    ``("file", path)`` for a layer read from a file; ``("split", name)`` for an
    in-memory layer whose name (without ``[n]``) another in-memory image layer shares:
    napari's Split RGB, or a multichannel array added with ``channel_axis``.
    """
    path = layer_path(layer)
    if path is not None:
        return ("file", path)
    base = base_name(layer.name)
    siblings = [other for other in layers if other is not layer
                and layer_path(other) is None and base_name(other.name) == base]
    return ("split", base) if siblings else None


def source_image(labels, layers):
    """The image layer ``labels`` were segmented from, when it is still open."""
    by_name = {layer.name: layer for layer in layers}
    named = (getattr(labels, "metadata", None) or {}).get(SEGMENTED_FROM_KEY)
    if named in by_name:
        return by_name[named]
    for suffix in SEGMENTATION_SUFFIXES:
        if labels.name.endswith(suffix) and labels.name[: -len(suffix)] in by_name:
            return by_name[labels.name[: -len(suffix)]]
    return None


def signal_spread(layer) -> float | None:
    """Max minus min of an in-memory layer's pixels (0: empty or constant); ``None`` when
    the layer is lazy (reading it on the GUI thread would freeze the viewer)."""
    data = layer.data[0] if getattr(layer, "multiscale", False) else layer.data
    if not is_in_memory(data) or data.size == 0:
        return None
    try:
        cached = _SPREAD.get(layer)
    except TypeError:  # not weakly referenceable: no cache
        cached = None
    if cached is not None and cached[0] == id(data):
        return cached[1]
    spread = float(np.ptp(data))
    try:
        _SPREAD[layer] = (id(data), spread)
    except TypeError:
        pass
    return spread


def has_signal(layer) -> bool:
    """Whether a layer may hold signal: not known to be empty or constant (a channel with
    NaN pixels is offered: measuring it explains what is wrong)."""
    spread = signal_spread(layer)
    return spread is None or not spread <= 0


def default_channels(labels, images, column_name) -> list[str]:
    """The image layers the Measure dock ticks for ``labels`` by default, in list order.

    The channels of the image the labels were segmented from (same file, or the same
    split image; for an in-memory image, the other in-memory layers that are no split
    image's channel); for labels of unknown origin, every image layer.
    Only layers of the labels' plane size, never an empty or constant one, never an
    RGB layer, and one layer per column name (``column_name(layer)``): the segmented
    image itself first, else the one with the most signal (a grey RGB export splits
    into three copies of one stain).
    """
    plane = tuple(labels.data.shape[-2:])
    source = source_image(labels, images)
    if source is None:  # labels of unknown origin (painted, or opened alone): any image
        members = list(images)
    else:
        family = image_family(source, images)
        members = [layer for layer in images if image_family(layer, images) == family]
    members = [layer for layer in members if not getattr(layer, "rgb", False)
               and tuple(layer.data.shape[-2:]) == plane and has_signal(layer)]
    best: dict[str, object] = {}
    for layer in members:
        key = column_name(layer)
        held = best.get(key)
        if held is None or (held is not source and (layer is source or _stronger(layer, held))):
            best[key] = layer
    chosen = set(map(id, best.values()))
    return [layer.name for layer in members if id(layer) in chosen]


def _stronger(layer, other) -> bool:
    return (signal_spread(layer) or 0.0) > (signal_spread(other) or 0.0)
