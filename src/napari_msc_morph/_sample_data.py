"""npe2 sample-data contributions (File > Open Sample > MSC Morph).

Each function returns napari ``LayerData`` tuples built from the synthetic
engine, with the pixel size in ``scale`` (µm) and the hidden truth in the
layer metadata, so every widget can be tried without microscope images.
"""

from __future__ import annotations

import numpy as np

from . import synthetic

# A field the size of the passage study's camera is realistic but large; the
# time course holds 7 fields per condition, so it uses quarter-area fields.
PASSAGE_SERIES = (1, 4, 7, 10)
TIME_COURSE_SIZE = (972, 1296)
IF_SIZE = (1024, 1024)


def _brightfield_layer(field, name: str, metadata: dict):
    scale = (field.pixel_size_um, field.pixel_size_um)
    meta = {"pixel_size_um": field.pixel_size_um, "truth": dict(field.truth), **metadata}
    kwargs = {"name": name, "scale": scale, "metadata": meta, "colormap": "gray"}
    if field.image.ndim == 3:
        kwargs.pop("colormap")
        kwargs["rgb"] = True
    return (field.image, kwargs, "image")


def sample_passage_series(size: tuple[int, int] = (1944, 2592), seed: int = 0):
    """One donor's MSCs at passages 1, 4, 7 and 10 (bright-field, phase contrast)."""
    donor = synthetic.make_donor("D01", seed=seed)
    layers = []
    for passage in PASSAGE_SERIES:
        field = synthetic.passage_field(passage, donor=donor, size=size, seed=seed + passage)
        layers.append(
            _brightfield_layer(
                field,
                name=f"D01_P{passage}",
                metadata={"sample_id": f"D01_P{passage}", "donor": "D01", "passage": passage},
            )
        )
    return layers


def sample_osteo_time_course(size: tuple[int, int] = TIME_COURSE_SIZE, seed: int = 0):
    """Osteogenic induction, days 0-21: an induced and a control stack (day on the slider)."""
    donor = synthetic.make_donor("D02", seed=seed)
    layers = []
    for condition, induced in (("induced", True), ("control", False)):
        fields = [
            synthetic.osteo_field(day, induced=induced, donor=donor, size=size, seed=seed + day)
            for day in synthetic.OSTEO_DAYS
        ]
        stack = np.stack([f.image for f in fields])
        pixel_size = fields[0].pixel_size_um
        meta = {
            "pixel_size_um": pixel_size,
            "donor": "D02",
            "condition": condition,
            "days": list(synthetic.OSTEO_DAYS),
            "truth": {"differentiation": [f.truth.get("differentiation") for f in fields]},
        }
        layers.append(
            (
                stack,
                {
                    "name": f"D02_{condition}_days",
                    "scale": (1.0, pixel_size, pixel_size),
                    "metadata": meta,
                    "colormap": "gray",
                },
                "image",
            )
        )
    return layers


def sample_if_field(size: tuple[int, int] = IF_SIZE, seed: int = 0):
    """An immunofluorescence field: DAPI, actin and marker channels, nuclei and cell labels."""
    n_cells = max(8, int(40 * size[0] * size[1] / (512 * 512)))
    field = synthetic.if_field(size=size, n_cells=n_cells, seed=seed)
    scale = (field.pixel_size_um, field.pixel_size_um)
    layers = []
    for name, image in field.channels.items():
        low, high = np.percentile(image, (0.5, 99.8))
        layers.append(
            (
                image,
                {
                    "name": name,
                    "scale": scale,
                    "colormap": field.channel_colormaps.get(name, "gray"),
                    "blending": "additive",
                    "contrast_limits": (float(low), float(max(high, low + 1))),
                    "visible": name in ("DAPI", "actin", "RUNX2"),
                    "metadata": {"pixel_size_um": field.pixel_size_um, "channel": name},
                },
                "image",
            )
        )
    truth_meta = {"pixel_size_um": field.pixel_size_um, "truth": field.truth.to_dict("list")}
    layers.append((field.nuclei, {"name": "nuclei", "scale": scale, "metadata": truth_meta,
                                  "visible": False}, "labels"))
    layers.append((field.cells, {"name": "cells", "scale": scale, "metadata": truth_meta,
                                 "opacity": 0.4}, "labels"))
    return layers


def sample_tissue_source(size: tuple[int, int] = TIME_COURSE_SIZE, seed: int = 0):
    """Umbilical cord (UC) and bone marrow (BM) MSCs side by side."""
    layers = []
    for i, source in enumerate(("umbilical_cord", "bone_marrow")):
        donor = synthetic.make_donor(f"D0{3 + i}", seed=seed)
        field = synthetic.source_field(source, donor=donor, size=size, seed=seed + i)
        layers.append(
            _brightfield_layer(field, name=f"{source}_MSC",
                               metadata={"sample_id": f"{source}_MSC", "source": source})
        )
    return layers


def sample_nsc_fate(size: tuple[int, int] = (1024, 1024), seed: int = 0):
    """Neural stem cell progeny: neurons, astrocytes and oligodendrocytes."""
    layers = []
    for i, fate in enumerate(("neuron", "astrocyte", "oligodendrocyte")):
        field = synthetic.nsc_field(fate, size=size, seed=seed + i)
        layers.append(
            _brightfield_layer(field, name=f"NSC_{fate}",
                               metadata={"sample_id": f"NSC_{fate}", "fate": fate})
        )
    return layers
