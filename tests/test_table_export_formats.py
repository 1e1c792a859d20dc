"""export_table: CSV/XLSX/Parquet with provenance metadata, read back equal; atomic writes."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

import napari_msc_morph
from napari_msc_morph import io as io_module
from napari_msc_morph.io import read_table
from napari_msc_morph.table_export import (
    METADATA_SHEET,
    PARQUET_KEY,
    export_table,
    file_filters,
    model_provenance,
    path_for_filter,
    read_table_metadata,
    sidecar_path,
)

METADATA = {
    "table": "results",
    "models": [{"model_id": "osteogenic-resnet10t-1234abcd", "weights_sha256": "ab" * 32}],
    "layers": {"field 1": {"pixel_size_um": 0.65, "prediction": {"tiling": "grid",
                                                                  "device": "cpu"}}},
    "note": "1.0",          # text that looks like a number stays text
    "threshold": 0.25,
    "empty": None,
}


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "layer": ["field 1", "field 2", "field 3"],
        "os_score": [0.25, 0.5, np.nan],
        "n_cells": [12, 40, 7],
        "condition": ["induced", None, "control"],
    })


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_round_trip_keeps_data_and_metadata(tmp_path, suffix):
    frame = _frame()
    path = export_table(frame, tmp_path / f"results{suffix}", METADATA)
    assert path == tmp_path / f"results{suffix}"
    pd.testing.assert_frame_equal(read_table(path), frame, check_dtype=False)
    meta = read_table_metadata(path)
    assert meta["plugin_version"] == napari_msc_morph.__version__
    assert meta["plugin"] == "napari-msc-morph"
    assert meta["exported_utc"].endswith("+00:00")
    assert {k: meta[k] for k in METADATA} == METADATA
    # nothing but the table (and, for CSV only, its sidecar) is left in the folder
    expected = {path.name} | ({sidecar_path(path).name} if suffix == ".csv" else set())
    assert {p.name for p in tmp_path.iterdir()} == expected


def test_where_the_metadata_lives(tmp_path):
    frame = _frame()
    csv = export_table(frame, tmp_path / "cells.csv", {"labels_layer": "cells"})
    sidecar = tmp_path / "cells.meta.json"
    assert json.loads(sidecar.read_text())["labels_layer"] == "cells"
    xlsx = export_table(frame, tmp_path / "cells.xlsx", {"labels_layer": "cells"})
    sheets = pd.read_excel(xlsx, sheet_name=None)
    assert list(sheets) == ["table", METADATA_SHEET]
    rows = dict(zip(sheets[METADATA_SHEET]["key"], sheets[METADATA_SHEET]["value"]))
    assert rows["labels_layer"] == "cells"               # plain text stays readable
    import pyarrow.parquet as pq

    parquet = export_table(frame, tmp_path / "cells.parquet", {"labels_layer": "cells"})
    raw = pq.read_schema(parquet).metadata[PARQUET_KEY.encode()]
    assert json.loads(raw)["labels_layer"] == "cells"
    assert read_table_metadata(csv)["labels_layer"] == "cells"


def test_csv_and_sidecar_are_replaced_together(tmp_path, monkeypatch):
    path = tmp_path / "results.csv"
    export_table(_frame(), path, {"run": 1})
    before = path.read_bytes(), sidecar_path(path).read_bytes()
    # both are written to temporary files in the same folder, then renamed over the targets
    renamed = []
    real_replace = os.replace
    monkeypatch.setattr(io_module.os, "replace",
                        lambda src, dst: (renamed.append((src, dst)), real_replace(src, dst)))
    export_table(_frame().head(1), path, {"run": 2})
    assert [os.path.basename(dst) for _, dst in renamed] == ["results.meta.json", "results.csv"]
    assert all(os.path.dirname(src) == str(tmp_path) for src, _ in renamed)
    assert read_table_metadata(path)["run"] == 2 and len(read_table(path)) == 1

    # a failure while writing the table leaves both old files byte-identical
    export_table(_frame(), path, {"run": 1})
    before = path.read_bytes(), sidecar_path(path).read_bytes()

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        export_table(_frame().head(1), path, {"run": 3})
    assert (path.read_bytes(), sidecar_path(path).read_bytes()) == before
    assert {p.name for p in tmp_path.iterdir()} == {"results.csv", "results.meta.json"}


def test_parquet_with_mixed_text_and_numbers(tmp_path):
    frame = pd.DataFrame({"layer": ["a", "b"], "day": [7, "d14"]})   # a user typed text
    path = export_table(frame, tmp_path / "mixed.parquet", {})
    assert read_table(path)["day"].tolist() == ["7", "d14"]


def test_table_without_metadata_reads_empty(tmp_path):
    _frame().to_csv(tmp_path / "plain.csv", index=False)
    _frame().to_excel(tmp_path / "plain.xlsx", index=False)
    _frame().to_parquet(tmp_path / "plain.parquet", index=False)
    for name in ("plain.csv", "plain.xlsx", "plain.parquet"):
        assert read_table_metadata(tmp_path / name) == {}


def test_model_provenance_reads_model_json_only(tmp_path):
    import torch

    from napari_msc_morph.models import BundleConfig, create_backbone, save_bundle

    config = BundleConfig(task="osteogenic", backbone="resnet10t", input_size=64)
    torch.manual_seed(0)
    bundle = save_bundle(create_backbone("resnet10t", num_classes=2), config,
                         tmp_path / "osteo.zip")
    record = model_provenance(bundle)
    assert record["bundle"] == "osteo.zip"
    assert record["model_id"].startswith("osteogenic-resnet10t-")
    assert len(record["weights_sha256"]) == 64 and record["task"] == "osteogenic"
    broken = model_provenance(tmp_path / "missing.zip")
    assert broken["bundle"] == "missing.zip" and "error" in broken


def test_dialog_filter_adds_the_suffix_the_user_left_out():
    assert file_filters() == "CSV (*.csv);;Excel (*.xlsx);;Parquet (*.parquet)"
    assert path_for_filter("/data/results", "Parquet (*.parquet)") == "/data/results.parquet"
    assert path_for_filter("/data/results", "Excel (*.xlsx)") == "/data/results.xlsx"
    assert path_for_filter("/data/results.csv", "Parquet (*.parquet)") == "/data/results.csv"
