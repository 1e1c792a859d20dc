"""One labelled colour bar per score, however many images carry a map of it.

Maps of a score share colormap and range, so the first *visible* map of each score shows
napari's colour bar (top right, clear of notifications) with a text overlay naming the
score, range and unit (napari's bar has no title); the others hide theirs.
"""

from __future__ import annotations

import textwrap
import weakref

from ..models.tasks import SCORES
from ._panel import CoalescedRefresh

#: Metadata key the Predict dock puts on every score-map layer (its score's name).
MAP_KEY = "msc_morph_score_map"
#: Where colour bars and their labels go (napari's toasts cover the bottom right).
POSITION = "top_right"
#: Canvas overlay names: ``msc_morph_legend_<score>``.
OVERLAY_PREFIX = "msc_morph_legend_"
#: Units of the scores' values (probabilities and scores in [0, 1] have none).
UNITS = {"expected_passage": "passage number", "os_score": "no unit"}
#: Widest line of a colour bar's label (characters): on a laptop the canvas can be ~320 px
#: wide, and a one-line label ran into the day label on the other side of it.
LABEL_WIDTH = 24
#: Viewers whose layer list is already watched -> their coalesced legend refresh.
_WATCHED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def score_label(score: str, limits) -> str:
    """``os_score: Osteogenic Score, 0-1 (no unit)``, wrapped at :data:`LABEL_WIDTH`."""
    low, high = (float(v) for v in limits)
    if score in SCORES:
        title = SCORES.help(score).split(":")[0].split(" in [")[0]
    elif score.startswith("p_"):
        title = f"probability of {score[2:]}"
    else:
        title = score
    unit = UNITS.get(score, "probability" if score.startswith("p_") else "no unit")
    text = f"{score}: {title}, {low:g}\u2013{high:g} ({unit})"
    return textwrap.fill(text, LABEL_WIDTH, break_long_words=False, break_on_hyphens=False)


def _score_maps(viewer) -> dict[str, list]:
    maps: dict[str, list] = {}
    for layer in viewer.layers:
        score = (getattr(layer, "metadata", None) or {}).get(MAP_KEY)
        if score and getattr(layer, "colorbar", None) is not None:
            maps.setdefault(score, []).append(layer)
    return maps


def refresh_score_legends(viewer) -> dict[str, str]:
    """Show one colour bar and label per score with a visible map; returns score -> layer name."""
    from napari.components.overlays import TextOverlay

    overlays = viewer.canvas.overlays
    shown: dict[str, str] = {}
    maps = _score_maps(viewer)
    if maps:
        viewer.canvas.overlay_tiling.top_right = "vertical"  # each label above its bar
    for score, layers in maps.items():
        carrier = next((layer for layer in layers if layer.visible), None)
        for layer in layers:
            layer.colorbar.position = POSITION
            layer.colorbar.visible = layer is carrier
        key = OVERLAY_PREFIX + score
        if key not in overlays:
            overlays[key] = TextOverlay(position=POSITION, font_size=10, visible=False)
        if carrier is not None:
            overlays[key].text = score_label(score, carrier.contrast_limits)
            shown[score] = carrier.name
        overlays[key].visible = carrier is not None
    for key in overlays:
        if key.startswith(OVERLAY_PREFIX) and key[len(OVERLAY_PREFIX):] not in maps:
            overlays[key].visible = False
    return shown


def show_score_legend(viewer, map_layer) -> None:
    """Called for every new score-map layer: watch it and refresh the legends."""
    if viewer not in _WATCHED:
        alive = weakref.ref(viewer)
        refresh = CoalescedRefresh(None, lambda: alive() and refresh_score_legends(alive()))
        _WATCHED[viewer] = refresh  # napari holds a bound method (schedule) weakly
        viewer.layers.events.removed.connect(refresh.schedule)
    map_layer.events.visible.connect(lambda _event: refresh_score_legends(viewer))
    refresh_score_legends(viewer)
