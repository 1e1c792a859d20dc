"""A study in one call: a folder of fields -> tidy per-cell, per-field and per-sample tables.

The one path of ``msc-morph study`` and the Study dock, through
:func:`~napari_msc_morph.batch.segment_fields` and :func:`~napari_msc_morph.batch.measure_fields`.
Each field's cells are cached with a signature of its files and the options, so a re-run
with one more field processes only that field.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import USER_ERRORS, BadInputError
from ..jobs import CancelToken, ProgressFn, scaled
from .fields import Field
from .morphology import with_keys
from .run import FieldFailure, error_text, failures_table
from .segment_thresholds import ROBUSTNESS_TABLE, robustness_table, scale_note
from .study_design import StudyField, sample_keys

__all__ = ["DNA_NAMES", "Study", "find_dna_channel", "run_study"]

#: Channel names taken as the DNA stain when the file names its channels.
DNA_NAMES = ("dapi", "hoechst", "dna", "nuclei", "nucleus", "h33342", "draq5", "sytox")
CELLS_TABLE, FIELDS_TABLE, SAMPLES_TABLE, ERRORS_TABLE = (
    "cells.csv", "fields.csv", "samples.csv", "errors.csv")


@dataclass
class Study:
    """What :func:`run_study` produced (the tables are also in ``out_dir``)."""

    cells: pd.DataFrame
    fields: pd.DataFrame
    samples: pd.DataFrame
    failures: list = field(default_factory=list)
    thresholds: dict = field(default_factory=dict)
    threshold_sources: dict = field(default_factory=dict)
    n_new: int = 0
    warnings: list = field(default_factory=list)
    out_dir: Path | None = None
    keys: list = field(default_factory=list)  # after ``file`` and ``field`` in every table
    robustness: pd.DataFrame | None = None


def find_dna_channel(fld: StudyField) -> str | None:
    """The channel named like a DNA stain, or ``None`` where the reader picks it (one
    channel, an RGB export); several channels and none named so: :class:`BadInputError`."""
    from ..io import read_image

    if fld.channel_files:
        named = [c for c in fld.channel_files if c.strip().lower() in DNA_NAMES]
        if named:
            return named[0]
        raise BadInputError(f"field {fld.name}: none of its channel files "
                            f"({', '.join(fld.channel_files)}) is named like a DNA stain; say "
                            "which one holds DAPI/Hoechst (--dna, or the Study dock's DNA "
                            "channel).")
    path = fld.path
    image = read_image(path, lazy=True)
    axis = image.channel_axis
    if axis is None or image.data.shape[axis] == 1:
        return None
    for index, name in enumerate(image.channel_names):
        if name.strip().lower() in DNA_NAMES:
            return name if image.channel_names.count(name) == 1 else str(index)
    names = ", ".join(image.channel_names) or f"indices 0-{image.data.shape[axis] - 1}"
    raise BadInputError(f"{path} has {image.data.shape[axis]} channels ({names}) and none is "
                        "named like a DNA stain; say which one holds DAPI/Hoechst (an index or a "
                        "name: --dna, or the Study dock's DNA channel).")


def run_study(fields: list[StudyField], out_dir, *, dna: str | None = None,
              cytoplasm: str | None = None, markers: dict | None = None,
              pixel_size_um: float | None = None, diameter=None,
              threshold_method: str = "otsu", threshold_scope: str = "field",
              marker_threshold: str = "otsu",
              control: tuple[str, str] | None = None, exclude_border: bool = True,
              backend: str = "classic", device: str = "auto", group_by: str | None = None,
              client=None, progress: ProgressFn | None = None,
              cancel: CancelToken | None = None) -> Study:
    """Segment and measure every field of a study and write its tidy tables.

    Parameters
    ----------
    fields : list of StudyField
        From :func:`~napari_msc_morph.batch.study_design.study_fields`.
    out_dir : path
        The study folder (created): tables, labels and the cache.
    dna, cytoplasm : str, optional
        Channels (index or name) of the DNA stain (default: :func:`find_dna_channel`)
        and of a cytoplasm stain (whole cells).
    markers : dict of str to str, optional
        Marker name (``RUNX2``) to its channel.
    pixel_size_um : float, optional
        One pixel size for every field (else each file's metadata).
    diameter, threshold_method, threshold_scope, exclude_border, backend, device
        As for :func:`~napari_msc_morph.batch.segment_fields`.
    group_by : str, optional
        A sample key: adds ``threshold_robustness.csv`` (ratios to the ``control``
        group when ``control`` names the same key).
    marker_threshold : str
        How the one threshold per marker is learnt from every cell (``THRESHOLD_LEARNERS``).
    control : (str, str), optional
        ``(key, value)`` of the control fields.
    client, progress, cancel
        Where to run and the package's protocol.

    Returns
    -------
    Study
    """
    from ..morphology import pooled_thresholds
    from ..morphology.summary import THRESHOLD_LEARNERS

    markers = dict(markers or {})
    THRESHOLD_LEARNERS.entry(marker_threshold)
    if marker_threshold == "control" and control is None:
        raise BadInputError("marker threshold 'control' needs the control fields: give "
                            "--control KEY=VALUE (e.g. condition=control).")
    if not fields:
        raise BadInputError("the study has no field.")
    if group_by is not None and group_by not in sample_keys(fields):
        raise BadInputError(f"group by {group_by!r}: no field has that key (keys: "
                            f"{', '.join(sample_keys(fields)) or 'none'}; they come from "
                            "--pattern or --sheet).")
    out = Path(out_dir).resolve()
    (out / "labels").mkdir(parents=True, exist_ok=True)
    (out / "cache").mkdir(exist_ok=True)
    options = {"dna": dna, "cytoplasm": cytoplasm, "markers": markers,
               "pixel_size_um": pixel_size_um,
               "diameter": None if diameter is None else [float(d) for d in diameter],
               "threshold_method": threshold_method, "threshold_scope": threshold_scope,
               "exclude_border": bool(exclude_border), "backend": backend}
    if threshold_scope == "study":  # one threshold over every field: a new one changes it for all
        options["fields"] = sorted(f.name for f in fields)
    todo = [f for f in fields if _cached(out, f, options) is None]
    failures = _process(todo, out, options, device, client,
                        scaled(progress, 0, 100 if group_by is None else 80, 100), cancel)
    failed = {f.field for f in failures}
    done = [(f, _cached(out, f, options)) for f in fields if f.name not in failed]
    done = [(f, result) for f, result in done if result is not None]
    if not done:
        raise BadInputError(f"no field of the study could be processed ({len(failures)} "
                            f"failed); see {out / ERRORS_TABLE}.") if failures else \
            BadInputError("no field of the study could be processed.")
    tables = [result.table for _, (result, _) in done]
    control_mask = None
    if control is not None:
        key, value = control
        if not any(key in f.keys for f, _ in done):
            raise BadInputError(f"--control {key}={value}: no field has the key {key!r} "
                                f"(keys: {', '.join(sample_keys(fields)) or 'none'}).")
        control_mask = [f.keys.get(key) == value for f, _ in done]
        if not any(control_mask):
            raise BadInputError(f"--control {key}={value}: no field has {key} = {value!r}.")
    thresholds = (pooled_thresholds(tables, list(markers), method=marker_threshold,
                                    control_mask=control_mask,
                                    names=[f.name for f, _ in done]) if markers else {})
    source = f"pooled-{marker_threshold}:{len(done)} fields"
    sources = dict.fromkeys(thresholds, source)
    results = [(f, result.with_thresholds(thresholds, sources), counts)
               for f, (result, counts) in done]
    study = _tables(results, fields, thresholds, sources, failures, len(todo) - len(failures))
    study.out_dir = out
    if group_by is not None:
        reference = control[1] if control is not None and control[0] == group_by else None
        study.robustness = _robustness(out, [f for f, _ in done], group_by, reference, options,
                                       study.warnings, client,
                                       scaled(progress, 80, 20, 100, "size robustness: "),
                                       cancel)
    _write(study, out, options, fields)
    return study


# --------------------------------------------------------------------------- processing
def _segment_spec(f: StudyField, options: dict) -> Field:
    """The field as ``segment_fields`` takes it: its DNA (and cytoplasm) channel."""
    # without --dna each file says (a mixed folder of RGB exports and OME stacks works)
    dna = options["dna"] if options["dna"] is not None else find_dna_channel(f)
    files = {"nuclei": f.spec(dna)}
    if options["cytoplasm"] is not None:
        files["cells"] = f.spec(options["cytoplasm"])
    return Field(f.name, files, pixel_size_um=options["pixel_size_um"])


def _process(todo: list[StudyField], out: Path, options: dict, device: str, client, progress,
             cancel) -> list[FieldFailure]:
    """Segment and measure the new fields; keep each one's cells in the cache."""
    from . import measure_fields, segment_fields

    if not todo:
        return []

    seg_fields, failures = [], []
    for k, f in enumerate(todo):
        try:
            seg_fields.append(_segment_spec(f, options))
        except USER_ERRORS as err:  # this field's file; the others go on
            failures.append(FieldFailure(f.name, error_text(err, f.name), k))
    if not seg_fields:
        return failures
    segmented = segment_fields(seg_fields, out / "labels",
                               diameter=options["diameter"],
                               threshold_method=options["threshold_method"],
                               threshold_scope=options["threshold_scope"],
                               exclude_border=options["exclude_border"],
                               backend=options["backend"], device=device, client=client,
                               progress=scaled(progress, 0, 70, 100, "segment: "),
                               cancel=cancel)
    failures += segmented.results.failures
    rows = {row["field"]: row for row in segmented.fields.to_dict("records")}
    labels = out / "labels"
    measure = []
    for f in todo:
        row = rows.get(f.name)
        if row is None:
            continue
        files = {"labels": str(labels / row["labels"])}
        if isinstance(row.get("nuclei_labels"), str):
            files["nuclei_labels"] = str(labels / row["nuclei_labels"])
        measure.append(Field(f.name, files, {m: f.spec(c)
                                             for m, c in options["markers"].items()},
                             pixel_size_um=options["pixel_size_um"],
                             n_border_excluded=int(row["n_border_excluded"])))
    if measure:
        batch = measure_fields(measure, client=client,
                               progress=scaled(progress, 70, 30, 100, "measure: "),
                               cancel=cancel)
        failures += batch.results.failures
        by_name = {fld.name: fld for fld in todo}
        for k, (result, _origin) in batch.results.succeeded():
            name = measure[k].name
            _store(out, by_name[name], options, result, rows[name])
    return failures


def _robustness(out: Path, done: list[StudyField], group_by: str, reference: str | None,
                options: dict, warnings: list, client, progress, cancel) -> pd.DataFrame | None:
    """The size-robustness table by ``group_by``, cached (it segments every field 4 times)."""
    from ..io import read_table, write_json, write_table

    grouped = [f for f in done if str(f.keys.get(group_by, "")).strip()]
    if len(grouped) < len(done):
        warnings.append(f"{len(done) - len(grouped)} field(s) have no {group_by!r} (e.g. "
                        f"{next(f.name for f in done if f not in grouped)}): left out of "
                        f"{ROBUSTNESS_TABLE}.")
    groups = [str(f.keys[group_by]) for f in grouped]
    signature = hashlib.sha256(json.dumps(
        [group_by, reference, [(f.name, g, _signature(f, options))
                               for f, g in zip(grouped, groups, strict=True)]]).encode()).hexdigest()
    cached, meta = out / "cache" / ROBUSTNESS_TABLE, out / "cache" / "robustness.json"
    if cached.exists() and meta.exists() and \
            json.loads(meta.read_text()).get("signature") == signature:
        table = read_table(cached, text_columns=["group"])
        warnings += [note] if (note := scale_note(table)) else []
        return table
    table, note = robustness_table([_segment_spec(f, options) for f in grouped], groups,
                                   backend=options["backend"], diameter=options["diameter"],
                                   reference=reference, client=client, progress=progress,
                                   cancel=cancel)
    warnings += [note] if note else []
    if table is None:
        return None
    write_table(table, cached)
    write_json({"signature": signature}, meta)
    return table


def _signature(f: StudyField, options: dict) -> str:
    files = [(path, os.stat(path)) for path in f.files()]
    text = json.dumps({"files": [(path, stat.st_size, stat.st_mtime_ns) for path, stat in files],
                       "options": options}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _store(out: Path, f: StudyField, options: dict, result, segment_row: dict) -> None:
    from ..io import atomic_path, write_json

    cache = out / "cache"
    with atomic_path(cache / f"{f.name}.cells.csv") as tmp:
        result.table.to_csv(tmp, index=False)
    meta = {"signature": _signature(f, options), "attrs": dict(result.table.attrs),
            "pixel_size_um": result.pixel_size_um, "markers": result.markers,
            "marker_columns": result.marker_columns,
            "n_border_excluded": result.n_border_excluded,
            "pixel_size_source": result.pixel_size_source,
            # counts and the nucleus diameter used (given, from the pixel size, or estimated)
            "segmentation": {k: v for k, v in segment_row.items()
                             if k.startswith(("n_", "nucleus_diameter"))}}
    write_json(meta, cache / f"{f.name}.json")


def _cached(out: Path, f: StudyField, options: dict):
    """The field's cached ``(MeasureResult, segmentation counts)``; ``None`` if absent or stale."""
    from ..morphology.field import MeasureResult

    meta_path, cells_path = out / "cache" / f"{f.name}.json", out / "cache" / f"{f.name}.cells.csv"
    if not (meta_path.exists() and cells_path.exists()):
        return None
    meta = json.loads(meta_path.read_text())
    if meta.get("signature") != _signature(f, options):
        return None
    table = pd.read_csv(cells_path)
    attrs = meta["attrs"]
    if attrs.get("image_shape") is not None:
        attrs["image_shape"] = tuple(attrs["image_shape"])
    table.attrs = attrs
    result = MeasureResult(table, pd.DataFrame(), meta["pixel_size_um"], meta["markers"],
                           marker_columns=meta["marker_columns"],
                           n_border_excluded=meta["n_border_excluded"],
                           pixel_size_source=meta["pixel_size_source"])
    return result, meta["segmentation"]


# --------------------------------------------------------------------------- tables
def _tables(results, fields, thresholds, sources, failures, n_new) -> Study:
    from ..morphology import summarize_cells

    keys = sample_keys(fields)
    cells, rows = [], []
    for f, result, counts in results:
        ids = {"file": f.path, "field": f.name, **{k: f.keys.get(k, "") for k in keys}}
        cells.append(with_keys(result.table, ids))
        rows.append(with_keys(result.summary.assign(**counts), ids))
    cells = pd.concat(cells, ignore_index=True)
    per_field = pd.concat(rows, ignore_index=True)
    samples = pd.DataFrame()
    warnings = []
    unsized = [f.name for f, result, _ in results if result.pixel_size_um is None]
    if unsized:
        warnings.append(f"{len(unsized)} of {len(results)} field(s) have no pixel size in their "
                        f"file (e.g. {unsized[0]}): their sizes are in pixels; give "
                        "the pixel size (the microscope's µm per pixel: --pixel-size-um, or the "
                        "Study dock's Pixel size) for µm.")
    if keys:
        parts = []
        for values, part in cells.groupby(keys, sort=True, dropna=False):  # tuples (pandas 2)
            pooled = part.drop(columns=["file", "field", *keys])
            pooled.attrs = {}  # fields of different sizes: no single field area
            row = summarize_cells(pooled, thresholds=thresholds, threshold_sources=sources,
                                  warn=False).drop(columns=["n_border_excluded"])
            fields_of = per_field[(per_field[keys] == list(values)).all(axis=1)]
            row.insert(0, "n_fields", len(fields_of))
            if "cell_density_per_mm2" in fields_of:
                row["cell_density_per_mm2_mean"] = fields_of["cell_density_per_mm2"].mean()
            parts.append(with_keys(row, dict(zip(keys, values, strict=True))))
        samples = pd.concat(parts, ignore_index=True)
    else:
        warnings.append("no sample keys (give --pattern or --sheet): no per-sample table.")
    return Study(cells, per_field, samples, list(failures), thresholds, sources, n_new, warnings,
                 keys=keys)


def _write(study: Study, out: Path, options: dict, fields) -> None:
    from ..io import path_for_file
    from ..table_export import export_table

    metadata = {"study": {"options": options, "n_fields": len(fields),
                          "marker_thresholds": study.thresholds,
                          "marker_threshold_sources": study.threshold_sources,
                          "sample_keys": sample_keys(fields)}}
    for table, name in ((study.cells, CELLS_TABLE), (study.fields, FIELDS_TABLE)):
        export_table(table.assign(file=[path_for_file(p, out) for p in table["file"]]),
                     out / name, metadata)
    if not study.samples.empty:
        export_table(study.samples, out / SAMPLES_TABLE, metadata)
    if study.robustness is not None:
        export_table(study.robustness, out / ROBUSTNESS_TABLE, metadata)
    elif (out / ROBUSTNESS_TABLE).exists():
        (out / ROBUSTNESS_TABLE).unlink()  # an earlier run's groups or fields
    errors = out / ERRORS_TABLE
    if study.failures:
        export_table(failures_table(study.failures), errors, metadata)
    elif errors.exists():
        errors.unlink()  # an earlier run's failures, now processed
