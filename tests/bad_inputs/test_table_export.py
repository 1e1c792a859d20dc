"""Bad inputs to table exports: unknown suffix, no pyarrow, missing folder; nothing is touched."""

from __future__ import annotations

import builtins
import sys

import pandas as pd
import pytest
from corpus_helpers import snapshot

from napari_msc_morph.errors import BadInputError, MissingDependencyError
from napari_msc_morph.io import read_table
from napari_msc_morph.table_export import export_table, read_table_metadata


@pytest.fixture
def folder(tmp_path):
    """A folder with earlier exports that must stay byte-identical."""
    frame = pd.DataFrame({"layer": ["a"], "os_score": [0.5]})
    export_table(frame, tmp_path / "results.csv", {"run": 1})
    export_table(frame, tmp_path / "results.xlsx", {"run": 1})
    export_table(frame, tmp_path / "results.parquet", {"run": 1})
    return tmp_path


FRAME = pd.DataFrame({"layer": ["b"], "os_score": [0.9]})


@pytest.mark.parametrize("name", ["results.txt", "results.tsv", "results", "results.xls"])
def test_unknown_suffix_names_the_allowed_ones(folder, name):
    before = snapshot(folder)
    with pytest.raises(BadInputError) as info:
        export_table(FRAME, folder / name, {})
    message = str(info.value)
    assert repr(name) in message
    assert ".csv" in message and ".xlsx" in message and ".parquet" in message
    assert snapshot(folder) == before


def test_missing_pyarrow_names_the_parquet_extra(folder, monkeypatch):
    real_import = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    for module in [m for m in list(sys.modules) if m.split(".")[0] == "pyarrow"]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    before = snapshot(folder)
    with pytest.raises(MissingDependencyError) as info:
        export_table(FRAME, folder / "results.parquet", {})
    assert "[parquet]" in str(info.value) and "results.parquet" in str(info.value)
    with pytest.raises(MissingDependencyError, match=r"\[parquet\]"):
        read_table(folder / "results.parquet")
    with pytest.raises(MissingDependencyError, match=r"\[parquet\]"):
        read_table_metadata(folder / "results.parquet")
    assert snapshot(folder) == before


def test_missing_target_folder_is_named(folder):
    before = snapshot(folder)
    target = folder / "not there" / "results.csv"
    with pytest.raises(BadInputError) as info:
        export_table(FRAME, target, {})
    assert "not there" in str(info.value) and "does not exist" in str(info.value)
    assert not target.parent.exists()
    assert snapshot(folder) == before


def test_broken_sidecar_is_named(folder):
    (folder / "results.meta.json").write_text("{not json")
    with pytest.raises(BadInputError, match=r"results\.meta\.json"):
        read_table_metadata(folder / "results.csv")
