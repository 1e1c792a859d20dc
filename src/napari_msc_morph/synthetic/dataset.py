"""Write a whole synthetic dataset: TIFF images with pixel size + ``manifest.csv``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..errors import BadInputError
from ..io import write_table, write_tiff
from ._common import BRIGHTFIELD_SIZE, check_choice, make_donor
from .brightfield import OSTEO_DAYS, PASSAGES, SOURCES, osteo_field, passage_field, source_field
from .fluorescence import if_field
from .neural import FATES, NSC_SIZE, nsc_field
from .strain import make_strain, strain_field


class _Kind(NamedTuple):
    default_size: tuple[int, int]
    classes: list[dict]  # manifest columns of each class, label first
    stem: str  # file name, formatted with the class columns and the image index k
    make: Callable | None  # (class columns, **field options) -> SyntheticField; None for "if"
    #: the donors are strains (S1, S2 ...) and each image's label is its strain
    strains: bool = False


_KINDS = {
    "passage": _Kind(BRIGHTFIELD_SIZE, [{"label": f"P{p}", "passage": p} for p in PASSAGES],
                     "P{passage:02d}_{k:02d}", lambda c, **kw: passage_field(c["passage"], **kw)),
    "osteo": _Kind(BRIGHTFIELD_SIZE,
                   [{"label": cond, "day": day, "condition": cond}
                    for day in OSTEO_DAYS for cond in ("induced", "control")],
                   "{condition}_d{day:02d}_{k:02d}",
                   lambda c, **kw: osteo_field(c["day"], c["condition"] == "induced", **kw)),
    "source": _Kind(BRIGHTFIELD_SIZE, [{"label": s, "source": s} for s in SOURCES],
                    "{label}_{k:02d}", lambda c, **kw: source_field(c["source"], **kw)),
    "nsc": _Kind(NSC_SIZE, [{"label": f, "fate": f} for f in FATES],
                 "{label}_{k:02d}", lambda c, **kw: nsc_field(c["fate"], **kw)),
    # strain identification: every strain through P1-P10; the label is the strain
    "strain": _Kind(BRIGHTFIELD_SIZE, [{"passage": p} for p in PASSAGES],
                    "P{passage:02d}_{k:02d}",
                    lambda c, donor, **kw: strain_field(c["passage"], strain=donor, **kw),
                    strains=True),
    # immunofluorescence: one "class"; the fields of a donor span differentiation 0-1
    "if": _Kind((512, 512), [{"label": "field"}], "field_{k:02d}", None),
}
KINDS = tuple(_KINDS)
IF_CELLS_PER_FIELD = 40
#: truth of a bright-field field copied into the manifest, where the kind has it
_TRUTH_COLUMNS = ("differentiation", "mineral_area_fraction", "arrangement", "fate_fraction",
                  "n_cells", "mean_cell_area_um2", "flat_fraction", "mean_neurite_length_um")


def image_seed(seed: int, *keys: int) -> int:
    """A 31-bit seed for one image, independent for each ``(seed, keys)``."""
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, *keys]).generate_state(1)[0] >> 1)


def write_dataset(
    kind: str,
    out: str | Path,
    n_donors: int = 3,
    per_class: int = 2,
    size: tuple[int, int] | None = None,
    seed: int = 0,
    rgb: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Write a labelled synthetic dataset of one kind to a folder.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS` (``"strain"``: each strain through P1–P10, labelled by strain;
        ``"if"``: immunofluorescence fields with labels and per-cell truth).
    out : str or Path
        Output folder (created). Images go to ``out/<donor>/``.
    n_donors : int
        Number of donors (``D1`` …), or of strains (``S1`` …) for ``"strain"``.
    per_class : int
        Images per class and donor (``"if"``: fields per donor, spanning differentiation 0–1).
    size : (int, int), optional
        ``(height, width)``; default: the kind's field size.
    seed : int
        Random seed; the same arguments write identical files.
    rgb : bool
        Colour (RGB) bright-field images; not available for ``"if"``.
    progress : callable, optional
        Called as ``progress(done, total)`` after each image.

    Returns
    -------
    pandas.DataFrame
        The manifest, also written to ``out/manifest.csv``: ``path`` (relative to ``out``),
        ``donor``, ``label``, the class columns, ``pixel_size_um``, ``seed`` and truth columns.
    """
    spec = _KINDS[check_choice(kind, "kind", KINDS)]
    n_donors = int(n_donors)
    per_class = int(per_class)
    if n_donors < 1:
        raise BadInputError(f"n_donors (--n-donors) must be at least 1, got {n_donors}")
    if per_class < 1:
        raise BadInputError(f"per_class (--per-class) must be at least 1, got {per_class}")
    if rgb and kind == "if":
        raise BadInputError("rgb=True (--rgb) is for bright-field kinds; immunofluorescence "
                            "fields are multichannel uint16: leave it out for 'if'")
    size = tuple(spec.default_size if size is None else size)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    make_unit = make_strain if spec.strains else make_donor
    donors = [make_unit(i + 1, seed=seed) for i in range(n_donors)]
    total = n_donors * len(spec.classes) * per_class
    rows = []
    for d_index, donor in enumerate(donors):
        unit = {"label": donor.donor_id, "strain": donor.donor_id} if spec.strains else {}
        for c_index, cls in enumerate(spec.classes):
            for k in range(per_class):
                field_seed = image_seed(seed, d_index, c_index, k)
                rel = Path(donor.donor_id) / f"{spec.stem.format(k=k, **cls)}.tif"
                row = {"path": rel.as_posix(), "donor": donor.donor_id, **unit, **cls}
                if spec.make is None:
                    row.update(_write_if(out, rel, per_class, k, size, field_seed))
                else:
                    field = spec.make(cls, donor=donor, size=size, rgb=rgb, seed=field_seed)
                    write_tiff(field.image, out / rel, pixel_size_um=field.pixel_size_um)
                    row.update(pixel_size_um=field.pixel_size_um, seed=field_seed)
                    row.update({key: field.truth[key] for key in _TRUTH_COLUMNS if key in field.truth})
                rows.append(row)
                if progress is not None:
                    progress(len(rows), total)
    manifest = pd.DataFrame(rows)
    write_table(manifest, out / "manifest.csv")
    return manifest


def _write_if(out, rel, per_class, k, size, field_seed) -> dict:
    differentiation = k / (per_class - 1) if per_class > 1 else 0.5
    field = if_field(size=size, n_cells=IF_CELLS_PER_FIELD, differentiation=differentiation, seed=field_seed)
    nuclei_rel, cells_rel, table_rel = (rel.with_name(f"{rel.stem}_{end}")
                                        for end in ("nuclei.tif", "cells.tif", "cells.csv"))
    write_tiff(field.stack(), out / rel, pixel_size_um=field.pixel_size_um, axes="CYX",
               channel_names=field.channel_names)
    write_tiff(field.nuclei, out / nuclei_rel, pixel_size_um=field.pixel_size_um, labels=True)
    write_tiff(field.cells, out / cells_rel, pixel_size_um=field.pixel_size_um, labels=True)
    write_table(field.truth, out / table_rel)
    return {
        "pixel_size_um": field.pixel_size_um,
        "seed": field_seed,
        "differentiation": differentiation,
        "n_cells": len(field.truth),
        "mean_cell_area_um2": float(field.truth["area_um2"].mean()),
        "channels": ";".join(field.channel_names),
        "nuclei_path": nuclei_rel.as_posix(),
        "cells_path": cells_rel.as_posix(),
        "cells_table_path": table_rel.as_posix(),
    }
