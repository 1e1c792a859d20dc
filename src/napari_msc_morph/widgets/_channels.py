"""Which image layers are the channels of one image (the Segment and Measure docks' defaults).

Channels of one image share a file path (reader, Split RGB) or an in-memory base name
(``name``, ``name [1]``); an empty or constant channel is never a default. Columns are named
after the marker (:func:`marker_names`), never the file, so every image's tables pool.
"""

from __future__ import annotations

import re
import weakref

import numpy as np

from ..errors import BadInputError
from ._layers import is_in_memory

#: napari's suffix for a layer whose name was taken (and for Split RGB's channels).
DUPLICATE_SUFFIX = re.compile(r"\s*\[\d+\]$")
#: Suffixes of the Labels layers the Segment dock makes ("<image> nuclei").
SEGMENTATION_SUFFIXES = (" nuclei", " cells")
#: ``labels.metadata`` key where the Segment dock names the image it segmented.
SEGMENTED_FROM_KEY = "segmented_from"
#: ``labels.metadata`` key where the Segment dock names the colour it used of an RGB image
#: (``"blue"``): after a later Split RGB, the channel of that colour is the one segmented.
SEGMENTED_COLOUR_KEY = "segmented_colour"
#: ``layer.metadata`` key of a channel's marker: the file's channel name (the reader's),
#: or the name the user gave in the Measure dock (the writer saves it in the file too).
MARKER_KEY = "channel"
#: Column prefix of the channel the nuclei were segmented from (its role, whatever the stain).
DNA_ROLE = "DNA"
#: Colormaps napari's Split RGB gives the channels of an RGB image.
RGB_COLOURS = ("red", "green", "blue")

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
    """``("file", path)`` for a layer read from a file; ``("split", base name)`` for an
    in-memory layer sharing its base name with another (Split RGB, ``channel_axis``); else None.
    """
    path = layer_path(layer)
    if path is not None:
        return ("file", path)
    base = base_name(layer.name)
    siblings = [other for other in layers if other is not layer
                and layer_path(other) is None and base_name(other.name) == base]
    return ("split", base) if siblings else None


def source_image(labels, layers):
    """The open image layer ``labels`` were segmented from (after a Split RGB: that colour)."""
    by_name = {layer.name: layer for layer in layers}
    meta = getattr(labels, "metadata", None) or {}
    source = by_name.get(meta.get(SEGMENTED_FROM_KEY))
    for suffix in SEGMENTATION_SUFFIXES:
        if source is None and labels.name.endswith(suffix):
            source = by_name.get(labels.name[: -len(suffix)])
    colour = meta.get(SEGMENTED_COLOUR_KEY)
    if source is not None and colour and not getattr(source, "rgb", False):
        # Split RGB gave the RGB layer's name to its red channel: the colour used is the source
        family = image_family(source, layers)
        split = [layer for layer in layers if family is not None
                 and image_family(layer, layers) == family
                 and getattr(getattr(layer, "colormap", None), "name", None) == colour]
        source = split[0] if split else source
    return source


def column_safe(name) -> str:
    """``name`` as a column prefix: runs of other characters than letters and digits
    become one ``_`` ("Ki-67 (488)" -> "Ki_67_488"); ``""`` when nothing is left."""
    return re.sub(r"[^0-9A-Za-z]+", "_", str(name)).strip("_")


def channel_name(layer_name: str, file_channel: str | None = None) -> str:
    """A marker as a column prefix: the file's channel name, else the layer name without
    napari's ``[n]`` ("RUNX2 [1]" -> "RUNX2"): every image's RUNX2 fills ``RUNX2_*``."""
    return column_safe(file_channel or base_name(layer_name)) or "channel"


def check_marker_name(layer_name: str, marker: str, layers) -> str:
    """The column prefix of ``marker`` typed for channel ``layer_name``."""
    if layer_name not in layers:
        raise BadInputError(f"Channel layer “{layer_name}” is no longer open.")
    prefix = column_safe(marker)
    if not prefix:
        raise BadInputError(f"Marker name “{marker}” for channel layer “{layer_name}” has no "
                            "letters or digits: type the marker, e.g. RUNX2.")
    return prefix


def dna_channel(labels, nuclei, images):
    """The DNA stain: the source image of ``labels``, else of ``nuclei``; None if unknown."""
    sources = (source_image(layer, images) for layer in (labels, nuclei) if layer is not None)
    return next((source for source in sources if source is not None), None)


def marker_names(layers, dna=None) -> dict[str, str]:
    """The prefix of each image layer's columns (``RUNX2`` -> ``RUNX2_mean``), by layer name.

    In this order: the marker the file or the user named (``metadata["channel"]``);
    ``DNA`` for ``dna``; the colour of a Split RGB channel; else the layer name without ``[n]``.
    """
    layers = list(layers)
    families = [image_family(layer, layers) for layer in layers]
    colours = [getattr(getattr(layer, "colormap", None), "name", None) for layer in layers]
    split = set()  # families whose layers are coloured red/green/blue, one colour each
    for family in set(families) - {None}:
        used = [c for f, c in zip(families, colours) if f == family and c in RGB_COLOURS]
        if len(used) >= 2 and len(set(used)) == len(used):
            split.add(family)
    names = {}
    for layer, family, colour in zip(layers, families, colours):
        named = column_safe((getattr(layer, "metadata", None) or {}).get(MARKER_KEY) or "")
        if named:
            names[layer.name] = named
        elif dna is not None and layer is dna:
            names[layer.name] = DNA_ROLE
        elif family in split and colour in RGB_COLOURS:
            names[layer.name] = colour
        else:
            names[layer.name] = channel_name(layer.name)
    return names


def signal_spread(layer) -> float | None:
    """Max minus min of an in-memory layer's pixels; ``None`` for a lazy layer (never read
    on the GUI thread)."""
    data = _pixels(layer)
    if not is_in_memory(data) or data.size == 0:
        return None
    cached = _SPREAD.get(layer)
    if cached is None or cached[0] != id(data):
        cached = _SPREAD[layer] = (id(data), float(np.ptp(data)))
    return cached[1]


def has_signal(layer) -> bool:
    """Whether a layer may hold signal: not known to be empty or constant (a channel with
    NaN pixels is offered: measuring it explains what is wrong)."""
    spread = signal_spread(layer)
    return spread is None or not spread <= 0


def default_channels(labels, images, column_name) -> list[str]:
    """The image layers the Measure dock ticks for ``labels`` by default, in list order.

    The channels of the labels' source image (every image for labels of unknown origin)
    of the labels' plane size, not RGB, not empty or constant, one per column name
    (``column_name(layer)``) and per set of pixels: the source first, then by signal.
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
    # a grey RGB export splits into three copies of one stain: the first is kept
    ranked = sorted(members, key=lambda layer: (layer is not source,
                                                -(signal_spread(layer) or 0.0)))
    kept: list = []
    for layer in ranked:
        if not any(column_name(layer) == column_name(other) or _same_pixels(layer, other)
                   for other in kept):
            kept.append(layer)
    chosen = set(map(id, kept))
    return [layer.name for layer in members if id(layer) in chosen]


def _same_pixels(layer, other) -> bool:
    """Whether two in-memory layers hold the same pixels (spreads compared first: cheap)."""
    spread = signal_spread(layer)
    if spread is None or spread != signal_spread(other):
        return False
    return np.array_equal(_pixels(layer), _pixels(other))


def _pixels(layer):
    return layer.data[0] if getattr(layer, "multiscale", False) else layer.data
