"""Bad inputs to the study-threshold and border options: exit 2 / BadInputError naming the
offending option, file or column; inputs and earlier outputs byte-identical afterwards."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from napari_msc_morph import cli
from napari_msc_morph.errors import BadInputError
from napari_msc_morph.io import write_tiff
from napari_msc_morph.morphology import pooled_thresholds


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _table(values):
    return pd.DataFrame({"RUNX2_mean": values, "RUNX2_integrated": 0.0})


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"method": "mean"}, "'mean'"),
    ({"control_mask": [True]}, "control_mask has 1 entries for 2 tables"),
    ({"control_mask": [False, False], "method": "control"}, "no table as a control"),
    ({"markers": ["OCN"]}, "'OCN_mean'"),
    ({"markers": ["RUNX2"], "names": ["neg.csv", "pos.csv"],
      "marker_columns": {"RUNX2": "RUNX2_nuc_mean"}}, "neg.csv"),
])
def test_pooled_thresholds_refuses_naming_the_input(kwargs, needle):
    tables = [_table([1.0, 2.0, 3.0]), _table([10.0, 20.0, 30.0])]
    with pytest.raises(BadInputError) as err:
        pooled_thresholds(tables, **kwargs)
    assert needle in str(err.value)


def test_pooled_thresholds_needs_distinct_values():
    with pytest.raises(BadInputError, match="'RUNX2': too few distinct"):
        pooled_thresholds([_table([5.0, 5.0])])
    with pytest.raises(BadInputError, match="no tables"):
        pooled_thresholds([])


@pytest.fixture
def field_files(tmp_path):
    labels = np.zeros((40, 40), np.int32)
    labels[5:15, 5:15], labels[20:30, 20:30] = 1, 2
    marker = np.where(labels == 1, 900.0, 100.0).astype(np.float32)
    write_tiff(labels, tmp_path / "cells.tif", pixel_size_um=0.5)
    write_tiff(marker, tmp_path / "RUNX2.tif", pixel_size_um=0.5)
    pd.DataFrame({"label": [1], "area_px": [100]}).to_csv(tmp_path / "no_marker.csv", index=False)
    pd.DataFrame({"marker": ["RUNX2"], "threshold": [50.0]}).to_csv(tmp_path / "th.csv", index=False)
    (tmp_path / "cells_out.csv").write_text("earlier output\n")
    return tmp_path


@pytest.mark.parametrize(("extra", "needle"), [
    (["--thresholds-from", "no_marker.csv"], "no_marker.csv"),
    (["--thresholds-from", "missing.csv"], "missing.csv"),
    (["--border-excluded", "-1"], "--border-excluded -1"),
    (["--write-thresholds", "th.csv"], "th.csv"),          # exists: not overwritten
])
def test_cli_measure_refuses_naming_the_option(field_files, capsys, extra, needle):
    folder = field_files
    before = _digest(folder)
    argv = ["measure", str(folder / "cells.tif"), "--channel", f"RUNX2={folder / 'RUNX2.tif'}",
            "--out", str(folder / "cells_out.csv"), "--overwrite"]
    argv += [str(folder / a) if a.endswith(".csv") else a for a in extra]
    if "--write-thresholds" in extra:
        argv.remove("--overwrite")
        argv[argv.index(str(folder / "cells_out.csv"))] = str(folder / "new.csv")
    assert cli.main(argv) == 2
    assert needle in capsys.readouterr().err
    assert _digest(folder) == before


@pytest.mark.parametrize("flags", [["--keep-border", "--exclude-border"],
                                   ["--exclude-border", "--keep-border"]])
def test_cli_segment_border_flags_are_exclusive(tmp_path, capsys, flags):
    image = np.zeros((40, 40), np.uint16)
    image[10:20, 10:20] = 1000
    write_tiff(image, tmp_path / "dapi.tif")
    before = _digest(tmp_path)
    with pytest.raises(SystemExit) as stop:
        cli.main(["segment", "--nuclei", str(tmp_path / "dapi.tif"), *flags,
                  "--out", str(tmp_path / "n.tif")])
    assert stop.value.code == 2
    assert "--keep-border" in capsys.readouterr().err
    assert _digest(tmp_path) == before
