"""Bad inputs of batch work (--manifest, --workers, --scheduler, folders and patterns).

Each is refused before any work with one line naming the option, file, line or column;
inputs stay byte-identical and no output appears.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from corpus_helpers import digests, stderr_lines

from napari_msc_morph.batch import FieldsManifestError, batch_client, read_fields_manifest
from napari_msc_morph.cli import main
from napari_msc_morph.errors import BadInputError, MissingDependencyError
from napari_msc_morph.io import write_tiff


@pytest.fixture
def plate(tmp_path):
    root = tmp_path / "plate"
    root.mkdir()
    labels = np.zeros((32, 32), np.uint16)
    labels[4:12, 4:14] = 1
    for k in range(2):
        write_tiff(labels, root / f"f{k}_cells.tif", pixel_size_um=0.5)
        write_tiff(np.full((32, 32), 100 + k, np.uint16), root / f"f{k}_RUNX2.tif",
                   pixel_size_um=0.5)
    pd.DataFrame({"field": ["f0", "f1"], "labels": ["f0_cells.tif", "f1_cells.tif"],
                  "channel_RUNX2": ["f0_RUNX2.tif", "f1_RUNX2.tif"]}).to_csv(
        root / "fields.csv", index=False)
    return root


def _refused(argv, capsys, root, out, *needles):
    before = digests(root)
    code = main(argv)
    lines = stderr_lines(capsys.readouterr().err)
    assert code == 2, lines
    error = [line for line in lines if ": error: " in line]
    assert len(error) == 1, lines
    for needle in needles:
        assert needle in error[0], (needle, error[0])
    assert digests(root) == before
    assert not out.exists()
    return error[0]


def test_unreachable_scheduler_is_one_line_naming_it(plate, tmp_path, capsys):
    out = tmp_path / "cells.csv"
    _refused(["measure", "--manifest", str(plate / "fields.csv"), "--out", str(out),
              "--scheduler", "tcp://127.0.0.1:9", "--scheduler-timeout", "1"],
             capsys, plate, out, "--scheduler tcp://127.0.0.1:9", "no Dask scheduler answered",
             "within 1 s")


@pytest.mark.parametrize("workers", ["0", "-2"])
def test_workers_must_be_one_or_more(plate, tmp_path, capsys, workers):
    out = tmp_path / "cells.csv"
    _refused(["measure", "--manifest", str(plate / "fields.csv"), "--out", str(out),
              "--workers", workers], capsys, plate, out, f"--workers {workers}", "1 or more")


def test_missing_distributed_names_the_extra(plate, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` fails
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    out = tmp_path / "cells.csv"
    _refused(["measure", "--manifest", str(plate / "fields.csv"), "--out", str(out),
              "--workers", "2"], capsys, plate, out, "napari-msc-morph[distributed]")
    with pytest.raises(MissingDependencyError, match=r"\[distributed\]"):
        with batch_client(workers=1):
            pass


def test_manifest_without_the_required_column(plate, tmp_path, capsys):
    pd.DataFrame({"field": ["f0"], "image": ["f0_cells.tif"]}).to_csv(plate / "wrong.csv",
                                                                    index=False)
    out = tmp_path / "cells.csv"
    _refused(["measure", "--manifest", str(plate / "wrong.csv"), "--out", str(out)],
             capsys, plate, out, "wrong.csv", "[labels]", "required column 'labels' is missing")


def test_manifest_rows_name_line_and_column(plate, tmp_path):
    pd.DataFrame({"field": ["f0", "f0", "f2"],
                  "labels": ["f0_cells.tif", "f1_cells.tif", ""],
                  "pixel_size_um": [0.5, -1, "abc"],
                  "channel_RUNX2": ["f0_RUNX2.tif", "gone.tif", "f1_RUNX2.tif"]}).to_csv(
        plate / "rows.csv", index=False)
    with pytest.raises(FieldsManifestError) as info:
        read_fields_manifest(plate / "rows.csv", required=("labels",), channels=True)
    text = str(info.value)
    assert "line 3 [field]: 'f0' is also the field of line 2" in text
    assert "line 3 [pixel_size_um]: '-1' is not a positive number of µm" in text
    assert "line 4 [pixel_size_um]: 'abc'" in text
    assert "line 3 [channel_RUNX2]:" in text and "gone.tif does not exist" in text
    assert "line 4 [labels]: empty" in text
    assert len(info.value.problems) == 5


def test_manifest_reads_fields_relative_to_its_folder(plate, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative paths start from the manifest, not the cwd
    pd.DataFrame({"labels": ["f0_cells.tif", "f1_cells.tif"], "sample_id": ["A", None],
                  "pixel_size_um": [0.65, None], "Channel_RUNX2": ["f0_RUNX2.tif:0", "f1_RUNX2.tif"],
                  "notes": ["kept", "ignored"]}).to_csv(plate / "ok.csv", index=False)
    fields = read_fields_manifest(Path("plate/ok.csv"), required=("labels",), channels=True)
    assert [f.name for f in fields] == ["f0_cells", "f1_cells"]
    assert fields[0].files["labels"] == str(plate / "f0_cells.tif")
    assert fields[0].channels == {"RUNX2": f"{plate / 'f0_RUNX2.tif'}:0"}
    assert (fields[0].sample_id, fields[1].sample_id) == ("A", None)
    assert (fields[0].pixel_size_um, fields[1].pixel_size_um) == (0.65, None)
    assert fields[0].line == 2 and fields[1].line == 3


def test_patterns_that_do_not_pair(plate, tmp_path, capsys):
    write_tiff(np.zeros((32, 32), np.uint16), plate / "extra_RUNX2.tif")
    out = tmp_path / "cells.csv"
    _refused(["measure", str(plate / "*_cells.tif"), "--channel", f"RUNX2={plate}/*_RUNX2.tif",
              "--out", str(out)], capsys, plate, out, "--channel RUNX2 gives 3 file(s)",
             "LABELS gives 2")


def test_pattern_without_matches(plate, tmp_path, capsys):
    out = tmp_path / "seg"
    _refused(["segment", "--nuclei", str(plate / "*_dapi.tif"), "--out", str(out)], capsys,
             plate, out, "*_dapi.tif", "no image file matches")


def test_manifest_and_files_together(plate, tmp_path, capsys):
    out = tmp_path / "cells.csv"
    _refused(["measure", str(plate / "f0_cells.tif"), "--manifest", str(plate / "fields.csv"),
              "--out", str(out)], capsys, plate, out, "--manifest", "not both")


def test_one_field_options_in_a_batch(plate, tmp_path, capsys):
    out = tmp_path / "cells.csv"
    _refused(["measure", "--manifest", str(plate / "fields.csv"), "--out", str(out),
              "--border-excluded", "3"], capsys, plate, out, "--border-excluded",
             "n_border_excluded")
    _refused(["segment", "--nuclei", str(plate / "*_RUNX2.tif"), "--out", str(tmp_path / "seg"),
              "--nuclei-out", str(tmp_path / "n.tif")], capsys, plate, tmp_path / "seg",
             "--nuclei-out")


def test_batch_output_must_be_a_folder_for_segment(plate, tmp_path, capsys):
    out = tmp_path / "labels.tif"
    _refused(["segment", "--nuclei", str(plate / "*_RUNX2.tif"), "--out", str(out)],
             capsys, plate, out, "--out", "folder")


def test_every_field_failing_is_an_error_not_an_empty_table(plate, tmp_path, capsys):
    for k in range(2):
        (plate / f"f{k}_cells.tif").write_bytes(b"broken")
    out = tmp_path / "cells.csv"
    _refused(["measure", "--manifest", str(plate / "fields.csv"), "--out", str(out)],
             capsys, plate, out, "No field could be processed", "f0_cells.tif")


def test_some_fields_failing_exit_3_with_an_errors_table(plate, tmp_path, capsys):
    (plate / "f1_cells.tif").write_bytes(b"broken")
    out = tmp_path / "cells.csv"
    assert main(["measure", "--manifest", str(plate / "fields.csv"), "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert "1 field(s) failed" in err and "f1_cells.tif" in err
    errors = pd.read_csv(tmp_path / "cells.errors.csv")
    assert list(errors["field"]) == ["f1"]
    assert list(pd.read_csv(out)["field"].unique()) == ["f0"]


def test_bad_cluster_options_in_the_library():
    with pytest.raises(BadInputError, match="give only one"):
        with batch_client(workers=2, scheduler="tcp://x:1"):
            pass
    with pytest.raises(BadInputError, match="--workers 0"):
        with batch_client(workers=0):
            pass
