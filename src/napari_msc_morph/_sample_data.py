"""npe2 sample-data contributions (File > Open Sample > MSC Morph).

``sample_*`` return layer data from the synthetic engine (pixel size in ``scale``, the
truth in ``metadata``); the ``open_*`` commands make them in the background
(:func:`~.widgets.sample_loading.in_background`).
"""

from __future__ import annotations

import numpy as np

from . import synthetic
from .widgets.sample_loading import AXIS_KEY, generate, in_background

# A field the size of the passage study's camera is realistic but large; the
# time course holds 7 fields per condition, so it uses quarter-area fields.
PASSAGE_SERIES = (1, 4, 7, 10)
TIME_COURSE_SIZE = (972, 1296)
IF_SIZE = (1024, 1024)
#: The pixel size is in ``scale`` as µm: say so, or napari's scale bar reads "pixel".
UM_2D = ("micrometer", "micrometer")


def _brightfield_layer(field, name: str, metadata: dict):
    scale = (field.pixel_size_um, field.pixel_size_um)
    meta = {"pixel_size_um": field.pixel_size_um, "truth": dict(field.truth), **metadata}
    look = {"rgb": True} if field.image.ndim == 3 else {"colormap": "gray"}
    return (field.image, {"name": name, "scale": scale, "units": UM_2D, "metadata": meta, **look},
            "image")


def _stack_layer(fields, name: str, axis: str, values: list, metadata: dict, prefix: str = ""):
    """One image stack of ``fields`` along ``axis`` (scale 1: the ``values`` are not evenly
    spaced; :func:`~.widgets.sample_loading.label_stack_axis` shows them)."""
    pixel_size = fields[0].pixel_size_um
    meta = {"pixel_size_um": pixel_size, **metadata,
            AXIS_KEY: {"axis": axis, "values": list(values), "prefix": prefix}}
    units = ("day" if axis == "day" else "dimensionless", "micrometer", "micrometer")
    return (np.stack([f.image for f in fields]),
            {"name": name, "scale": (1.0, pixel_size, pixel_size), "axis_labels": (axis, "y", "x"),
             "units": units, "metadata": meta, "colormap": "gray"}, "image")


def sample_passage_series(size: tuple[int, int] = (1944, 2592), seed: int = 0):
    """One donor's MSCs at passages 1, 4, 7 and 10 (bright-field), one stack along ``passage``."""
    donor = synthetic.make_donor("D01", seed=seed)
    fields = generate([
        (lambda p=passage: synthetic.passage_field(p, donor=donor, size=size, seed=seed + p))
        for passage in PASSAGE_SERIES])
    meta = {"donor": "D01", "passages": list(PASSAGE_SERIES),
            "sample_ids": [f"D01_P{p}" for p in PASSAGE_SERIES],
            "truth": [dict(f.truth) for f in fields]}
    return [_stack_layer(fields, "D01_passages", "passage", PASSAGE_SERIES, meta, prefix="P")]


def sample_osteo_time_course(size: tuple[int, int] = TIME_COURSE_SIZE, seed: int = 0):
    """Osteogenic induction, days 0-21: an induced and a control stack (day on the slider)."""
    donor = synthetic.make_donor("D02", seed=seed)
    conditions = (("induced", True), ("control", False))
    days = list(synthetic.OSTEO_DAYS)
    made = generate([
        (lambda d=day, i=induced: synthetic.osteo_field(d, induced=i, donor=donor, size=size,
                                                        seed=seed + d))
        for _, induced in conditions for day in days])
    stacks = [(condition, made[k * len(days):(k + 1) * len(days)])
              for k, (condition, _) in enumerate(conditions)]
    return [_stack_layer(fields, f"D02_{condition}_days", "day", days, {
        "donor": "D02", "condition": condition, "days": days,
        "truth": {"differentiation": [f.truth.get("differentiation") for f in fields]}})
        for condition, fields in stacks]


def sample_if_field(size: tuple[int, int] = IF_SIZE, seed: int = 0):
    """An immunofluorescence field: DAPI, actin and marker channels, nuclei and cell labels."""
    n_cells = max(8, int(40 * size[0] * size[1] / (512 * 512)))
    (field,) = generate([lambda: synthetic.if_field(size=size, n_cells=n_cells, seed=seed)])
    scale = (field.pixel_size_um, field.pixel_size_um)
    layers = []
    for name, image in field.channels.items():
        low, high = np.percentile(image, (0.5, 99.8))
        layers.append((image, {
            "name": name, "scale": scale, "units": UM_2D,
            "colormap": field.channel_colormaps.get(name, "gray"), "blending": "additive",
            "contrast_limits": (float(low), float(max(high, low + 1))),
            "visible": name in ("DAPI", "actin", "RUNX2"),
            "metadata": {"pixel_size_um": field.pixel_size_um, "channel": name}}, "image"))
    truth_meta = {"pixel_size_um": field.pixel_size_um, "truth": field.truth.to_dict("list")}
    layers.append((field.nuclei, {"name": "nuclei", "scale": scale, "units": UM_2D,
                                  "metadata": truth_meta, "visible": False}, "labels"))
    layers.append((field.cells, {"name": "cells", "scale": scale, "units": UM_2D,
                                 "metadata": truth_meta, "opacity": 0.4}, "labels"))
    return layers


def sample_tissue_source(size: tuple[int, int] = TIME_COURSE_SIZE, seed: int = 0):
    """Umbilical cord (UC) and bone marrow (BM) MSCs side by side."""
    sources = ("umbilical_cord", "bone_marrow")
    fields = generate([
        (lambda i=i, source=source: synthetic.source_field(
            source, donor=synthetic.make_donor(f"D0{3 + i}", seed=seed), size=size, seed=seed + i))
        for i, source in enumerate(sources)])
    return [_brightfield_layer(field, f"{source}_MSC",
                               {"sample_id": f"{source}_MSC", "source": source})
            for source, field in zip(sources, fields)]


def sample_nsc_fate(size: tuple[int, int] = (1024, 1024), seed: int = 0):
    """Neural stem cell progeny: neurons, astrocytes and oligodendrocytes."""
    fates = ("neuron", "astrocyte", "oligodendrocyte")
    fields = generate([(lambda i=i, fate=fate: synthetic.nsc_field(fate, size=size, seed=seed + i))
                       for i, fate in enumerate(fates)])
    return [_brightfield_layer(field, f"NSC_{fate}", {"sample_id": f"NSC_{fate}", "fate": fate})
            for fate, field in zip(fates, fields)]


# The npe2 sample-data commands (napari.yaml): made off the GUI thread when a viewer is on screen.
open_passage_series = in_background(sample_passage_series, "the MSC passage series")
open_osteo_time_course = in_background(sample_osteo_time_course, "the osteogenic time course")
open_if_field = in_background(sample_if_field, "the immunofluorescence field")
open_tissue_source = in_background(sample_tissue_source, "the tissue-source pair")
open_nsc_fate = in_background(sample_nsc_fate, "the neural stem cell fates")
