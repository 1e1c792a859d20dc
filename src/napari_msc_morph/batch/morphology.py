"""Segment and measure fields: one task per field (one field is a batch of one).

The one path of ``msc-morph segment`` / ``measure``, the Study and the demo: each task
reads its field's files and calls the engine entry point, so a field's result is the
same alone, in a serial batch or on a worker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pandas as pd

from ..errors import BadInputError
from ..jobs import CancelToken, ProgressFn
from ..morphology.summary import no_threshold_warning
from .fields import CHANNEL_PREFIX, Field
from .run import FieldResults, run_fields
from .segment_thresholds import (
    ROBUSTNESS_TABLE,
    THRESHOLD_SCOPES,
    robustness_table,
    study_nuclear_threshold,
)

__all__ = [
    "MeasureBatch",
    "SegmentBatch",
    "SegmentedField",
    "measure_fields",
    "measure_task",
    "segment_fields",
    "segment_task",
    "study_thresholds",
    "with_keys",
]

#: Name of the table ``segment_fields`` writes beside the labels: a fields manifest for measure.
FIELDS_TABLE = "fields.csv"


# --------------------------------------------------------------------------- segment
@dataclass
class SegmentBatch:
    """Per-field outcome of :func:`segment_fields`: the ``fields.csv`` table, each field's
    :class:`SegmentedField` and failures, the study threshold (``threshold_scope="study"``),
    the size-robustness table (with groups) and notes for the user."""

    fields: pd.DataFrame
    results: FieldResults
    threshold: float | None = None
    robustness: pd.DataFrame | None = None
    notes: list = field(default_factory=list)


@dataclass
class SegmentedField:
    """One segmented field: its ``fields.csv`` row, summary line and notes (channels read)."""

    row: dict
    summary: str
    notes: list = field(default_factory=list)


def _run(task, jobs: list, fields: list[Field], client, progress, cancel) -> FieldResults:
    """:func:`run_fields`; a batch of one here runs its task directly, with the field's own
    progress steps and its own error."""
    if client is None and len(jobs) == 1:
        return FieldResults([task(jobs[0], progress=progress, cancel=cancel)], indices=[0])
    return run_fields(task, jobs, [f.name for f in fields], client=client, progress=progress,
                      cancel=cancel, verb="processed")


def _channel_note(image, role: str) -> list[str]:
    channel = image.metadata.get("channel")
    return [] if channel is None else [f"{role}: channel {channel!r} of {image.path}"]


def segment_task(job: tuple[Field, dict], *, diameter, threshold_method: str,
                 exclude_border: bool, backend: str, z_project: str,
                 threshold: float | None = None, device: str = "auto",
                 progress: ProgressFn | None = None,
                 cancel: CancelToken | None = None) -> SegmentedField:
    """Segment one field and write its label TIFFs to ``job[1]`` (role to path or ``None``)."""
    from ..channels import read_channel
    from ..io import resolve_pixel_size, write_tiff
    from ..morphology import segment_field

    fld, outputs = job
    nuclei_image = read_channel(fld.files["nuclei"], z_project=z_project)
    sources, cyto, notes = [nuclei_image], None, _channel_note(nuclei_image, "nuclei")
    names = {"nuclei": f"nuclei image {fld.files['nuclei']}"}
    if "cells" in fld.files:
        cyto_image = read_channel(fld.files["cells"], z_project=z_project)
        sources.append(cyto_image)
        notes += _channel_note(cyto_image, "cells")
        cyto = cyto_image.data
        names["cytoplasm"] = f"cytoplasm image {fld.files['cells']}"
    pixel_size, _ = resolve_pixel_size(fld.pixel_size_um, sources)  # labels keep the input's
    result = segment_field(nuclei_image.data, cyto, diameter=diameter, pixel_size_um=pixel_size,
                           threshold_method=threshold_method, threshold=threshold,
                           exclude_border=exclude_border, backend=backend, device=device,
                           input_names=names,
                           progress=progress, cancel=cancel)
    row = fld.keys()
    if fld.pixel_size_um is not None:  # a given size travels on; a file's stays the file's
        row["pixel_size_um"] = fld.pixel_size_um
    for role, labels in (("cells", result.cells), ("nuclei", result.nuclei)):
        if labels is not None and outputs.get(role) is not None:
            write_tiff(labels, outputs[role], pixel_size_um=pixel_size, labels=True)
            row["labels" if "labels" not in row else "nuclei_labels"] = Path(outputs[role]).name
    row.update({f"n_{key}": value for key, value in result.counts.items()})
    row["n_border_excluded"] = result.n_border_excluded
    if result.n_nuclei_without_cell is not None:
        row["n_nuclei_without_cell"] = result.n_nuclei_without_cell
    row["nucleus_diameter_px"] = round(result.scale.typical, 2)
    row["nucleus_diameter_source"] = result.scale.source
    return SegmentedField(row, result.summary(), notes)


def segment_fields(fields: list[Field], out_dir=None, *, label_files: list | None = None,
                   diameter=None, threshold_method: str = "otsu",
                   threshold_scope: str = "field", groups: list | None = None,
                   exclude_border: bool = True, backend: str = "classic",
                   device: str = "auto", z_project: str = "max", client=None,
                   progress: ProgressFn | None = None,
                   cancel: CancelToken | None = None) -> SegmentBatch:
    """Segment every field: one task per field (one field is a batch of one).

    With ``out_dir`` writes ``<field>_nuclei.tif`` (and ``<field>_cells.tif``) per field
    and ``fields.csv``, the measure manifest of the same fields (paths relative to it).

    Parameters
    ----------
    fields : list of Field
        Each with a ``nuclei`` file (and optionally ``cells``).
    out_dir : path, optional
        The output folder (created); needed unless ``label_files`` says where.
    label_files : list of dict, optional
        Per field ``{"nuclei": path, "cells": path}`` (either may be ``None``) instead
        of ``out_dir``'s names; no ``fields.csv`` is written then.
    diameter, threshold_method, exclude_border, backend, device, z_project
        As for :func:`~napari_msc_morph.morphology.segment_field` (checked once, here).
    threshold_scope : {"field", "study"}
        ``"study"``: one nuclear threshold on every field's signal pooled
        (:func:`study_nuclear_threshold`).
    groups : list, optional
        One group per field: adds the size-robustness table.
    client, progress, cancel
        Where to run (``None``: here) and the package's protocol (a step per field).

    Returns
    -------
    SegmentBatch
    """
    from ..io import write_table
    from ..morphology.field import check_backend_device
    from ..morphology.segment import THRESHOLD_METHODS, check_diameter_range

    # option errors once, up front, not once per field
    check_unique_outputs(fields)
    diameter = None if diameter is None else check_diameter_range(diameter)
    THRESHOLD_METHODS.entry(threshold_method)
    check_backend_device(backend, device)
    if threshold_scope not in THRESHOLD_SCOPES:
        raise BadInputError(f"threshold scope {threshold_scope!r}: choose one of "
                            f"{', '.join(THRESHOLD_SCOPES)}.")
    if groups is not None and len(groups) != len(fields):
        raise BadInputError(f"{len(groups)} group values for {len(fields)} fields; give one "
                            "group per field.")
    if backend != "classic" and threshold_scope == "study":
        raise BadInputError(f"--threshold-scope study sets the classic backend's nuclear "
                            f"threshold; backend {backend!r} has none (use --threshold-scope "
                            "field, or --backend classic).")
    threshold = None
    if threshold_scope == "study":
        threshold = study_nuclear_threshold(fields, method=threshold_method, diameter=diameter,
                                            z_project=z_project, client=client, cancel=cancel)
    task = partial(segment_task, diameter=diameter, threshold_method=threshold_method,
                   threshold=threshold, exclude_border=bool(exclude_border),
                   backend=backend, device=device, z_project=z_project)
    out = None if out_dir is None else Path(out_dir).resolve()
    write_manifest = label_files is None
    if write_manifest:
        out.mkdir(parents=True, exist_ok=True)
        label_files = [{role: str(out / f"{f.name}_{role}.tif") for role in ("cells", "nuclei")
                        if role in f.files} for f in fields]
    results = _run(task, list(zip(fields, label_files, strict=True)), fields, client, progress,
                   cancel)
    rows = []
    for k, done in results.succeeded():
        row = dict(done.row)
        if out is not None:
            channels = {f"{CHANNEL_PREFIX}{n}": spec for n, spec in fields[k].channels.items()}
            row.update({column: _relative_spec(spec, out)
                        for column, spec in {**fields[k].files, **channels}.items()})
        rows.append(row)
    table = pd.DataFrame(rows)
    if rows and write_manifest:
        write_table(table, out / FIELDS_TABLE)
    notes = []
    if threshold is not None:
        notes.append(f"one nuclear threshold for all {len(fields)} field(s): {threshold:.4g} "
                     f"above the local background ({threshold_method}, fields pooled)")
    robustness = None
    if groups is None:
        notes.append("size-robustness table skipped: it needs at least two groups "
                     "(msc-morph segment --manifest ... --group-by COLUMN)")
    else:
        robustness, note = robustness_table(fields, groups, backend=backend, diameter=diameter,
                                            z_project=z_project, client=client, cancel=cancel)
        notes += [note] if note else []
        if robustness is not None and out is not None and write_manifest:
            write_table(robustness, out / ROBUSTNESS_TABLE)
    return SegmentBatch(table, results, threshold, robustness, notes)


def _relative_spec(spec: str, folder: Path) -> str:
    from ..channels import parse_image_spec
    from ..io import path_for_file

    file, channel = parse_image_spec(spec)
    text = path_for_file(file, folder)
    return text if channel is None else f"{text}:{channel}"


# --------------------------------------------------------------------------- thresholds
def study_thresholds(markers, thresholds: dict | None = None,
                     thresholds_from=()) -> tuple[dict, dict]:
    """The study's positive-cell thresholds (one per marker, never per image) and sources.

    ``thresholds`` (source ``given``) win over ``thresholds_from``: a thresholds table
    (``marker``, ``threshold``: source ``file:<name>``) or earlier per-cell tables (Otsu
    over their cells pooled: ``pooled-otsu:<n> table(s)``). Other markers get none.

    Raises
    ------
    BadInputError
        A given threshold for a marker no field has, or a table without the
        marker's column.
    """
    from ..io import read_table
    from ..morphology import pooled_thresholds

    markers = list(markers)
    given = dict(thresholds or {})
    unknown = sorted(set(given) - set(markers))
    if unknown:
        raise BadInputError(f"thresholds for {unknown} but no channel of that name in any field "
                            f"(channels: {markers or 'none'}); check the --threshold names.")
    found, sources, cell_tables, names = {}, {}, [], []
    for path in thresholds_from if markers else ():
        table = read_table(path)
        if {"marker", "threshold"} <= set(table.columns):
            repeated = sorted(set(table["marker"][table["marker"].duplicated()].astype(str)))
            if repeated:  # which of the two values was meant cannot be known
                raise BadInputError(f"--thresholds-from {path}: marker(s) {repeated} are listed "
                                    "more than once; keep one threshold per marker.")
            for marker, value in zip(table["marker"], table["threshold"], strict=True):
                found[str(marker)] = float(value)
                sources[str(marker)] = f"file:{Path(path).name}"
        else:
            cell_tables.append(table)
            names.append(f"--thresholds-from {path}")
    wanted = [m for m in markers if m not in found]
    if cell_tables and wanted:
        pooled = pooled_thresholds(cell_tables, wanted, method="otsu", names=names)
        found.update(pooled)
        sources.update({m: f"pooled-otsu:{len(cell_tables)} table(s)" for m in pooled})
    found.update({name: float(value) for name, value in given.items()})
    sources.update(dict.fromkeys(given, "given"))
    keep = [m for m in found if m in markers]  # a file may hold more markers than this run
    return {m: found[m] for m in keep}, {m: sources[m] for m in keep}


# --------------------------------------------------------------------------- measure
@dataclass
class MeasureBatch:
    """Per-cell and per-field tables of :func:`measure_fields` (keys first), each field's
    ``(MeasureResult, pixel-size origin)``, the origins by field, the markers without a
    threshold and the batch's warnings."""

    table: pd.DataFrame
    summary: pd.DataFrame
    results: FieldResults
    pixel_origins: dict = field(default_factory=dict)
    missing_thresholds: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    def learn_thresholds(self, method: str, names: list[str]) -> dict:
        """One threshold per marker from this batch's cells (``names``: the fields')."""
        from ..morphology import pooled_thresholds

        done = self.results.succeeded()
        markers = list(dict.fromkeys(m for _, (r, _) in done for m in r.markers))
        tables = [result.table for _, (result, _) in done]
        return (pooled_thresholds(tables, markers, method=method,
                                  names=[names[k] for k, _ in done]) if markers else {})


def measure_task(fld: Field, *, pixel_size_um: float | None, thresholds: dict,
                 threshold_sources: dict, z_project: str,
                 size_weighting: str = "miles-lantuejoul",
                 progress: ProgressFn | None = None, cancel: CancelToken | None = None):
    """Measure one field: ``(MeasureResult, pixel-size origin)``."""
    from ..channels import parse_image_spec, read_channel
    from ..io import read_image, resolve_pixel_size
    from ..morphology import measure_field

    labels = read_image(parse_image_spec(fld.files["labels"])[0])
    sources, names, nuclei = [labels], {"labels": fld.files["labels"]}, None
    if "nuclei_labels" in fld.files:
        nuclei_image = read_image(parse_image_spec(fld.files["nuclei_labels"])[0])
        nuclei = nuclei_image.data
        sources.append(nuclei_image)
        names["nuclei"] = fld.files["nuclei_labels"]
    channels = {}
    for name, spec in fld.channels.items():
        image = read_channel(spec, z_project=z_project)
        channels[name] = image.data
        sources.append(image)
    given = fld.pixel_size_um if fld.pixel_size_um is not None else pixel_size_um
    pixel_size, origin = resolve_pixel_size(given, sources)
    # the summary names the convention the size was read from (OME, ImageJ, MicronsPerPixel ...)
    conventions = [s.pixel_size_source for s in sources if str(s.path) == origin]
    source = "user" if origin == "given" else (
        f"file: {conventions[0]}" if conventions and conventions[0] else "file")
    result = measure_field(labels.data, channels, nuclei, pixel_size,
                           thresholds={k: v for k, v in thresholds.items() if k in channels},
                           threshold_sources=threshold_sources,
                           n_border_excluded=fld.n_border_excluded,
                           input_names=names, size_weighting=size_weighting,
                           progress=progress, cancel=cancel, pixel_size_source=source)
    return result, origin


def measure_fields(fields: list[Field], *, pixel_size_um: float | None = None,
                   thresholds: dict | None = None, threshold_sources: dict | None = None,
                   z_project: str = "max", size_weighting: str = "miles-lantuejoul",
                   pool_thresholds: str | None = None, client=None,
                   progress: ProgressFn | None = None,
                   cancel: CancelToken | None = None) -> MeasureBatch:
    """Measure every field: one task per field, tables joined in input order.

    Parameters
    ----------
    fields : list of Field
        Each with a ``labels`` file, optionally ``nuclei_labels`` and channels.
    pixel_size_um : float, optional
        For fields without their own (then the files' metadata).
    thresholds, threshold_sources : dict, optional
        One positive-cell threshold per marker (:func:`study_thresholds`).
    pool_thresholds : str, optional
        A ``THRESHOLD_LEARNERS`` name: markers without a threshold get one learnt
        from every cell of the batch pooled.
    size_weighting : str
        As for :func:`~napari_msc_morph.morphology.measure_field`.
    client, progress, cancel
        Where to run (``None``: here) and the package's protocol (a step per field).

    Returns
    -------
    MeasureBatch
    """
    thresholds, sources = dict(thresholds or {}), dict(threshold_sources or {})
    task = partial(measure_task, pixel_size_um=pixel_size_um, thresholds=thresholds,
                   threshold_sources=sources, z_project=z_project, size_weighting=size_weighting)
    results = _run(task, list(fields), fields, client, progress, cancel)
    if pool_thresholds is not None:
        _pool_thresholds(results, fields, pool_thresholds, thresholds, sources)
    tables, summaries, origins, missing = [], [], {}, {}
    for k, (result, origin) in results.succeeded():
        keys = fields[k].keys()
        tables.append(with_keys(result.table, keys))
        summaries.append(with_keys(result.summary, keys))
        origins[fields[k].name] = origin
        missing.update(dict.fromkeys(result.missing_thresholds))
    warnings = [no_threshold_warning(list(missing))] if missing else []
    tables, summaries = ((pd.concat(parts, ignore_index=True) if parts else pd.DataFrame())
                         for parts in (tables, summaries))
    return MeasureBatch(tables, summaries, results, origins, list(missing), warnings)


def _pool_thresholds(results: FieldResults, fields: list[Field], method: str,
                     given: dict, sources: dict) -> None:
    """Summarise every field again with thresholds learnt from the batch's cells pooled."""
    from ..morphology import pooled_thresholds

    done = results.succeeded()
    wanted = list(dict.fromkeys(m for _, (r, _) in done for m in r.missing_thresholds))
    tables = [result.table for _, (result, _) in done if len(result.table)]
    if not wanted or not tables:
        return
    learnt = pooled_thresholds(tables, wanted, method=method,
                               names=[fields[k].name for k, (r, _) in done if len(r.table)])
    thresholds = {**given, **learnt}
    sources = {**sources, **dict.fromkeys(learnt, f"pooled-{method}:{len(tables)} fields")}
    for i, (result, origin) in enumerate(results):
        results[i] = (result.with_thresholds(
            {m: v for m, v in thresholds.items() if m in result.markers}, sources), origin)


def with_keys(table: pd.DataFrame, keys: dict) -> pd.DataFrame:
    """A copy of ``table`` with the ``keys`` columns first."""
    table = table.drop(columns=list(keys), errors="ignore")
    for position, (column, value) in enumerate(keys.items()):
        table.insert(position, column, value)
    return table


def check_unique_outputs(fields: list[Field]) -> None:
    """Field names become file names: refuse ones a file system cannot hold."""
    for fld in fields:
        if not fld.name or os.sep in fld.name or (os.altsep and os.altsep in fld.name) \
                or fld.name in (".", ".."):
            raise BadInputError(f"field {fld.name!r} (line {fld.line}) cannot name a file; "
                                "give the field a plain id without slashes.")
