"""One nuclear threshold per study, and whether group size differences survive the threshold.

A per-field Otsu moves each field's nuclear edge with its brightness, so a group of
brighter fields gets larger nuclei; :func:`size_robustness` shows the group median-size
ratio under each threshold method.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from ..errors import BadInputError
from ..jobs import CancelToken, ProgressFn, scaled
from .fields import Field
from .run import run_fields

__all__ = [
    "ROBUSTNESS_METHODS",
    "ROBUSTNESS_TABLE",
    "THRESHOLD_SCOPES",
    "robustness_table",
    "scale_note",
    "size_robustness",
    "study_nuclear_threshold",
]

#: ``segment``'s threshold scopes: each field its own cut, or one cut for the study.
THRESHOLD_SCOPES = ("field", "study")
#: Threshold methods compared by the size-robustness table (plus the study threshold).
ROBUSTNESS_METHODS = ("otsu", "li", "triangle")
#: Name of the size-robustness table ``segment_fields`` writes beside ``fields.csv``.
ROBUSTNESS_TABLE = "threshold_robustness.csv"


def signal_task(fld: Field, *, diameter, z_project: str, progress=None, cancel=None):
    """One field's share of the study's nuclear threshold: its pixel type and a pixel sample."""
    from ..channels import read_channel
    from ..io import resolve_pixel_size
    from ..morphology.segment import signal_sample

    image = read_channel(fld.files["nuclei"], z_project=z_project)
    pixel_size, _ = resolve_pixel_size(fld.pixel_size_um, [image])
    return str(image.data.dtype), signal_sample(image.data, diameter, pixel_size)


def study_nuclear_threshold(fields: list[Field], *, method: str = "otsu", diameter=None,
                            z_project: str = "max", client=None,
                            progress: ProgressFn | None = None,
                            cancel: CancelToken | None = None) -> float:
    """One nuclear detection threshold for all ``fields``: ``method`` on their
    background-corrected nuclear signal pooled (each field at its own scale)."""
    from ..morphology.segment import nuclear_threshold

    fields = list(fields)
    samples = run_fields(partial(signal_task, diameter=diameter, z_project=z_project),
                         fields, [f.name for f in fields], client=client,
                         progress=progress, cancel=cancel, verb="read")
    done = samples.succeeded()
    by_type: dict[str, list[str]] = {}
    for k, (dtype, _) in done:
        by_type.setdefault(dtype, []).append(fields[k].name)
    if len(by_type) > 1:
        # One cut on pooled 8-bit and 16-bit intensities sits far above every 8-bit
        # nucleus: those fields would come out empty, which reads as "no cells".
        kinds = "; ".join(f"{dtype}: {len(names)} field(s), e.g. {names[0]}"
                          for dtype, names in by_type.items())
        raise BadInputError(
            f"one nuclear threshold for the study needs every field at one bit depth, and "
            f"these differ ({kinds}); export every field at the same bit depth, or use "
            f"--threshold-scope field (each field its own threshold)")
    return nuclear_threshold([sample for _, (_, sample) in done], method)


def areas_task(fld: Field, *, diameter, z_project: str, methods: tuple, study: float,
               progress=None, cancel=None) -> dict:
    """Nuclear areas (px) of one field under each threshold method and the study's."""
    from ..channels import read_channel
    from ..io import resolve_pixel_size
    from ..morphology import segment_field

    image = read_channel(fld.files["nuclei"], z_project=z_project)
    pixel_size, _ = resolve_pixel_size(fld.pixel_size_um, [image])
    areas = {}
    for name, options in [*((m, {"threshold_method": m}) for m in methods),
                          ("study", {"threshold": study})]:
        labels = segment_field(image.data, diameter=diameter, pixel_size_um=pixel_size,
                               **options).nuclei
        areas[name] = np.bincount(labels.ravel())[1:]
    return areas


def size_robustness(fields: list[Field], groups: list, *, diameter=None, z_project="max",
                    reference: str | None = None, client=None,
                    progress: ProgressFn | None = None,
                    cancel: CancelToken | None = None) -> pd.DataFrame:
    """Per threshold method (:data:`ROBUSTNESS_METHODS` and the study's Otsu) and group:
    nuclei, median area (px) and its ratio to the ``reference`` group's (default: the
    first field's). A ratio that moves with the method is a threshold artefact."""
    study = study_nuclear_threshold(fields, diameter=diameter, z_project=z_project,
                                    client=client, progress=scaled(progress, 0, 20, 100),
                                    cancel=cancel)
    task = partial(areas_task, diameter=diameter, z_project=z_project,
                   methods=ROBUSTNESS_METHODS, study=study)
    results = run_fields(task, list(fields), [f.name for f in fields], client=client,
                         progress=scaled(progress, 20, 80, 100), cancel=cancel,
                         verb="segmented")
    order = list(dict.fromkeys(str(g) for g in groups))
    if reference is not None and str(reference) in order:
        order.remove(str(reference))
        order.insert(0, str(reference))
    pooled = {}
    for k, areas in results.succeeded():
        for method, values in areas.items():
            pooled.setdefault(method, {}).setdefault(str(groups[k]), []).append(values)
    rows = []
    for method in [*ROBUSTNESS_METHODS, "study"]:
        medians = {g: float(np.median(np.concatenate(v))) if sum(map(len, v)) else np.nan
                   for g, v in pooled.get(method, {}).items()}
        reference = medians.get(order[0], np.nan)
        for group in order:
            values = pooled.get(method, {}).get(group, [])
            rows.append({"threshold": method, "group": group,
                         "n_nuclei": int(sum(map(len, values))),
                         "median_area_px": medians.get(group, np.nan),
                         f"ratio_to_{order[0]}": medians.get(group, np.nan) / reference})
    return pd.DataFrame(rows)


def robustness_table(fields: list[Field], groups: list, *, backend: str = "classic",
                     diameter=None, z_project: str = "max", reference: str | None = None,
                     client=None, progress: ProgressFn | None = None,
                     cancel: CancelToken | None = None) -> tuple[pd.DataFrame | None, str | None]:
    """``(table, note)``: the size-robustness table of ``fields`` by ``groups``, or ``None``
    and why not (one group, a backend without threshold, mixed bit depths); with a table
    the note is :func:`scale_note`."""
    if len(set(map(str, groups))) < 2:
        return None, (f"size-robustness table skipped: it needs at least two groups, and the "
                      f"fields have {len(set(map(str, groups)))}")
    if backend != "classic":
        return None, (f"size-robustness table skipped: it compares the classic backend's "
                      f"thresholds, and backend {backend!r} has none")
    try:
        table = size_robustness(fields, groups, diameter=diameter, z_project=z_project,
                                reference=reference, client=client, progress=progress,
                                cancel=cancel)
    except BadInputError as error:  # mixed bit depths: no study threshold to compare
        return None, f"size-robustness table skipped: {error}"
    return table, scale_note(table)


def scale_note(table: pd.DataFrame) -> str | None:
    """Name the groups where the study threshold finds no nucleus but finds some elsewhere."""
    study = table[table["threshold"] == "study"]
    empty = study.loc[study["n_nuclei"] == 0, "group"].tolist()
    if not empty or not (study["n_nuclei"] > 0).any():
        return None
    return (f"the one study threshold finds no nuclei in group(s) {', '.join(empty)}: "
            "their fields are on another intensity scale than the others, so one threshold "
            "cannot serve them all; check their exposure and export settings, or use "
            "--threshold-scope field")
