"""Exporting result tables with their provenance: CSV (+ ``.meta.json``), XLSX or Parquet.

One engine call for every face; where each format keeps the metadata is listed in
docs/results-and-correlation.md.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from .errors import BadInputError, missing_dependency
from .io import atomic_path, json_default, write_xlsx
from .spreadsheet import write_csv

#: Suffix -> format name, the formats :func:`export_table` writes.
TABLE_FORMATS = {".csv": "CSV", ".xlsx": "Excel", ".parquet": "Parquet"}
#: Key of the metadata in a Parquet file's key-value metadata.
PARQUET_KEY = "napari_msc_morph"
#: Name of the metadata sheet in an XLSX export.
METADATA_SHEET = "metadata"
#: Name of the table's sheet in an XLSX export.
TABLE_SHEET = "table"


def sidecar_path(path: str | os.PathLike) -> Path:
    """Where the metadata of a CSV export lives: ``results.csv`` -> ``results.meta.json``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.meta.json")


def file_filters() -> str:
    """The save dialogs' filter string: ``CSV (*.csv);;Excel (*.xlsx);;Parquet (*.parquet)``."""
    return ";;".join(f"{name} (*{suffix})" for suffix, name in TABLE_FORMATS.items())


def path_for_filter(path: str, chosen_filter: str) -> str:
    """``path`` with the chosen filter's suffix added when the user typed none."""
    if Path(path).suffix:
        return path
    for suffix, name in TABLE_FORMATS.items():
        if chosen_filter.startswith(f"{name} ("):
            return path + suffix
    return path


def export_metadata(metadata: dict | None = None) -> dict:
    """The metadata stored with an export: plugin, version, UTC time, then ``metadata``."""
    from . import __version__

    base = {
        "plugin": "napari-msc-morph",
        "plugin_version": __version__,
        "exported_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    base.update(metadata or {})
    # plain JSON types only, so what is read back equals what was written
    return json.loads(json.dumps(base, default=json_default))


def _check_target(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in TABLE_FORMATS:
        allowed = ", ".join(TABLE_FORMATS)
        raise BadInputError(
            f"cannot export a table to {path.name!r}: the file name must end in one of "
            f"{allowed} (CSV, Excel or Parquet)."
        )
    if not path.parent.is_dir():
        raise BadInputError(
            f"cannot export to {path}: the folder {path.parent} does not exist; create it or "
            "choose another folder."
        )
    return suffix


def _need(package: str, extra: str, path: Path):
    return missing_dependency(package, extra, f"writing {path.name}; or choose a .csv file name")


def export_table(table: pd.DataFrame, path: str | os.PathLike,
                 metadata: dict | None = None) -> Path:
    """Write ``table`` to ``path`` (CSV, XLSX or Parquet by suffix) with its metadata.

    Parameters
    ----------
    table : DataFrame
        Written without its index.
    path : str or Path
        ``.csv``, ``.xlsx`` or ``.parquet``; the folder must exist.
    metadata : dict, optional
        JSON-able provenance, stored after :func:`export_metadata`'s own keys.

    Returns
    -------
    Path
    """
    path = Path(path)
    suffix = _check_target(path)
    meta = export_metadata(metadata)
    if suffix == ".parquet":
        pa = _need("pyarrow", "parquet", path)
        pq = _need("pyarrow.parquet", "parquet", path)
        arrow = pa.Table.from_pandas(_parquet_safe(table), preserve_index=False)
        schema_meta = dict(arrow.schema.metadata or {})
        schema_meta[PARQUET_KEY.encode()] = json.dumps(meta).encode("utf-8")
        with atomic_path(path) as tmp:
            pq.write_table(arrow.replace_schema_metadata(schema_meta), tmp)
    elif suffix == ".xlsx":
        rows = pd.DataFrame({"key": list(meta), "value": [_encode(v) for v in meta.values()]})
        write_xlsx(path, {TABLE_SHEET: table, METADATA_SHEET: rows})
    else:
        sidecar = sidecar_path(path)
        # the sidecar is renamed just before the table: a failure leaves both old files
        with atomic_path(path) as tmp_table, atomic_path(sidecar) as tmp_meta:
            write_csv(table, tmp_table)
            tmp_meta.write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def _encode(value) -> str:
    """An XLSX metadata cell: plain text stays readable; anything else is JSON."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return value
    return json.dumps(value)


def _decode(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def _parquet_safe(table: pd.DataFrame) -> pd.DataFrame:
    """Object columns mixing kinds (numbers and text) become text; Parquet needs one type."""
    def missing(v) -> bool:
        return v is None or (isinstance(v, float) and v != v)

    mixed = [c for c in table.columns if table[c].dtype == object
             and len({type(v) for v in table[c] if not missing(v)}) > 1]
    if mixed:
        table = table.copy()
        for column in mixed:
            table[column] = [None if missing(v) else str(v) for v in table[column]]
    return table


def read_table_metadata(path: str | os.PathLike) -> dict:
    """The metadata an :func:`export_table` file carries (``{}`` when it has none)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        pq = _need("pyarrow.parquet", "parquet", path)
        raw = (pq.read_schema(path).metadata or {}).get(PARQUET_KEY.encode())
        return json.loads(raw.decode("utf-8")) if raw else {}
    if suffix in (".xlsx", ".xls"):
        sheets = pd.ExcelFile(path).sheet_names
        if METADATA_SHEET not in sheets:
            return {}
        rows = pd.read_excel(path, sheet_name=METADATA_SHEET, dtype=str, keep_default_na=False)
        return {str(k): _decode(v) for k, v in zip(rows["key"], rows["value"])}
    sidecar = sidecar_path(path)
    if not sidecar.is_file():
        return {}
    try:
        return json.loads(sidecar.read_text(encoding="utf-8"))
    except ValueError as err:
        raise BadInputError(f"{sidecar.name} is not valid JSON ({err}); delete it or "
                            "export the table again.") from err


def model_provenance(bundle_path: str | os.PathLike) -> dict:
    """What an export records of a bundle, from ``model.json`` alone; an unreadable one
    gives its name and ``error``, so an export never fails for it."""
    from .models.bundle import read_bundle_config

    path = Path(bundle_path)
    record = {"bundle": path.name}
    try:
        config = read_bundle_config(path)
    except (OSError, ValueError) as err:
        record["error"] = str(err)
        return record
    record.update(model_id=config.model_id, weights_sha256=config.weights_sha256,
                  task=config.task, backbone=config.backbone, input_size=config.input_size,
                  bundle_package_version=config.package_version, created=config.created)
    return record


__all__ = ["METADATA_SHEET", "PARQUET_KEY", "TABLE_FORMATS", "export_metadata", "export_table",
           "file_filters", "model_provenance", "path_for_filter", "read_table_metadata",
           "sidecar_path"]
