"""Outputs never destroy inputs: every writing command checks its outputs before any work.

Each refused case asserts exit 2, one stderr line naming the offending option and
path, and that every file in the workspace (inputs and pre-existing outputs) is
byte-identical afterwards and no new file appeared.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from corpus_helpers import snapshot, stderr_lines

from napari_msc_morph.cli import main
from napari_msc_morph.io import read_image, write_tiff
from napari_msc_morph.synthetic import if_field


@pytest.fixture(scope="module")
def bundle_source(tmp_path_factory):
    import torch

    from napari_msc_morph.models import BundleConfig, create_backbone, save_bundle

    config = BundleConfig(task="osteogenic", backbone="resnet10t", input_size=64, tiling="six")
    torch.manual_seed(0)
    model = create_backbone("resnet10t", num_classes=config.num_classes, in_chans=3)
    return save_bundle(model, config, tmp_path_factory.mktemp("bundle") / "model")


@pytest.fixture
def work(tmp_path, monkeypatch):
    """Inputs and pre-existing outputs in the current folder, named as a user would."""
    field = if_field(size=(96, 96), n_cells=4, seed=2)
    px = field.pixel_size_um
    write_tiff(field.cells, tmp_path / "cells.tif", pixel_size_um=px)
    write_tiff(field.nuclei, tmp_path / "nuclei.tif", pixel_size_um=px)
    write_tiff(field.channels["DAPI"], tmp_path / "dapi.tif", pixel_size_um=px)
    names = ["DAPI", "actin", "RUNX2"]
    write_tiff(np.stack([field.channels[n] for n in names]), tmp_path / "stack.tif",
               pixel_size_um=px, axes="CYX", channel_names=names)
    rng = np.random.default_rng(0)
    write_tiff(rng.integers(0, 256, (80, 80, 3), dtype=np.uint8), tmp_path / "images" / "a.tif",
               pixel_size_um=0.5)
    (tmp_path / "manifest.csv").write_text("path,label,donor\nimages/a.tif,P1,D1\n")
    pd.DataFrame({"sample_id": ["s1", "s2"], "osscore": [0.1, 0.9]}).to_csv(
        tmp_path / "scores.csv", index=False)
    pd.DataFrame({"sample_id": ["s1", "s2"], "marker": ["RUNX2"] * 2, "value": [1.0, 2.0]}
                 ).to_csv(tmp_path / "readouts.csv", index=False)
    # outputs of an earlier run, which must survive
    (tmp_path / "old.csv").write_text("label,area_px\n1,99\n")
    write_tiff(np.ones((8, 8), np.uint16), tmp_path / "old.tif")
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "keep.txt").write_text("an earlier report\n")
    (tmp_path / "notes.txt").write_text("a regular file, not a folder\n")
    (tmp_path / "table.csv").mkdir()  # a folder with a file's name
    (tmp_path / "run.train").mkdir()
    (tmp_path / "run.train" / "checkpoint.json").write_text("{}\n")
    (tmp_path / "alias.tif").symlink_to(tmp_path / "cells.tif")
    monkeypatch.chdir(tmp_path)
    return tmp_path


TRAIN = ["train", "manifest.csv", "--task", "passage", "--backbone", "test_resnet"]

# (id, argv, fragments the one error line must contain)
REFUSED = [
    # an output that is an input
    ("measure-out-is-the-labels", ["measure", "cells.tif", "--out", "cells.tif"],
     ["--out cells.tif", "label image", "would destroy it"]),
    ("measure-out-is-the-labels-even-with-overwrite",
     ["measure", "cells.tif", "--out", "cells.tif", "--overwrite"], ["--out cells.tif"]),
    ("measure-out-is-a-symlink-to-the-labels", ["measure", "cells.tif", "--out", "alias.tif"],
     ["--out alias.tif", "label image", "cells.tif"]),
    ("measure-summary-is-the-nuclei", ["measure", "cells.tif", "--nuclei", "nuclei.tif",
                                       "--out", "t.csv", "--summary", "nuclei.tif"],
     ["--summary nuclei.tif", "--nuclei label image"]),
    ("measure-out-is-a-channel-spec-file", ["measure", "cells.tif", "--channel",
                                            "RUNX2=stack.tif:RUNX2", "--out", "stack.tif"],
     ["--out stack.tif", "--channel RUNX2 image"]),
    ("segment-out-is-the-input-image", ["segment", "--nuclei", "dapi.tif", "--out", "dapi.tif"],
     ["--out dapi.tif", "--nuclei image"]),
    ("segment-nuclei-out-is-a-spec-file", ["segment", "--nuclei", "stack.tif:0", "--cells",
                                           "stack.tif:1", "--out", "c.tif", "--nuclei-out",
                                           "stack.tif"],
     ["--nuclei-out stack.tif", "--nuclei image"]),
    ("segment-two-outputs-one-path", ["segment", "--nuclei", "dapi.tif", "--cells", "dapi.tif",
                                      "--out", "l.tif", "--nuclei-out", "l.tif"],
     ["--out and --nuclei-out", "l.tif"]),
    ("predict-out-inside-the-image-folder", ["predict", "model", "images", "--out",
                                             "images/pred.csv"],
     ["--out images/pred.csv", "inside the image input folder images"]),
    ("predict-score-maps-inside-the-image-folder",
     ["predict", "model", "images", "--out", "p.csv", "--tiling", "grid", "--score-maps",
      "images/maps"], ["--score-maps images/maps", "inside"]),
    ("evaluate-out-inside-the-bundle", ["evaluate", "model", "manifest.csv", "--out",
                                        "model/report"],
     ["--out model/report", "inside the model bundle folder model"]),
    ("evaluate-report-folder-holds-the-manifest",
     ["evaluate", "model", "report/keep.txt", "--out", "report", "--overwrite"],
     ["--out report holds the manifest", "report/keep.txt", "a folder of its own"]),
    ("predict-score-maps-folder-holds-an-image",
     ["predict", "model", "images/a.tif", "--out", "p.csv", "--tiling", "grid", "--score-maps",
      "images", "--overwrite"], ["--score-maps images holds the image input"]),
    ("correlate-out-is-the-scores", ["correlate", "scores.csv", "readouts.csv", "--out",
                                     "scores.csv"], ["--out scores.csv", "scores table"]),
    ("correlate-out-is-the-readouts-overwrite",
     ["correlate", "scores.csv", "readouts.csv", "--out", "readouts.csv", "--overwrite"],
     ["--out readouts.csv", "readouts table"]),
    # the suffix says something else than the command writes
    ("measure-table-suffix", ["measure", "cells.tif", "--out", "cells.txt"],
     ["--out cells.txt", ".csv or .xlsx", "cells.csv"]),
    ("segment-labels-suffix", ["segment", "--nuclei", "dapi.tif", "--out", "labels.csv"],
     ["--out labels.csv", ".tif or .tiff"]),
    ("correlate-table-suffix", ["correlate", "scores.csv", "readouts.csv", "--out", "r.tif"],
     ["--out r.tif", ".csv or .xlsx"]),
    ("train-bundle-suffix", [*TRAIN, "--out", "model.csv"], ["--out model.csv", ".zip"]),
    ("synth-folder-suffix", ["synth", "if", "--out", "data.tif"],
     ["--out data.tif", "folder"]),
    ("evaluate-folder-suffix", ["evaluate", "model", "manifest.csv", "--out", "report.json"],
     ["--out report.json", "folder"]),
    ("measure-out-is-a-folder", ["measure", "cells.tif", "--out", "table.csv"],
     ["--out table.csv is a folder"]),
    # nothing can be written there (a parent that is a regular file fails even for root)
    ("measure-parent-is-a-file", ["measure", "cells.tif", "--out", "notes.txt/cells.csv"],
     ["--out notes.txt/cells.csv", "notes.txt is a file, not a folder"]),
    ("segment-grandparent-is-a-file", ["segment", "--nuclei", "dapi.tif", "--out",
                                       "notes.txt/sub/l.tif"],
     ["--out notes.txt/sub/l.tif", "notes.txt is a file"]),
    ("train-parent-is-a-file", [*TRAIN, "--out", "notes.txt/model"],
     ["--out notes.txt/model", "notes.txt is a file"]),
    ("synth-parent-is-a-file", ["synth", "if", "--out", "notes.txt/data"],
     ["--out notes.txt/data", "notes.txt is a file"]),
    # an existing output is kept without --overwrite
    ("measure-existing-table-kept", ["measure", "cells.tif", "--out", "old.csv"],
     ["--out old.csv already exists", "--overwrite"]),
    ("measure-existing-summary-kept", ["measure", "cells.tif", "--out", "t.csv", "--summary",
                                       "old.csv"], ["--summary old.csv already exists"]),
    ("segment-existing-labels-kept", ["segment", "--nuclei", "dapi.tif", "--out", "old.tif"],
     ["--out old.tif already exists", "--overwrite"]),
    ("correlate-existing-table-kept", ["correlate", "scores.csv", "readouts.csv", "--out",
                                       "old.csv"], ["--out old.csv already exists"]),
    ("predict-existing-table-kept", ["predict", "model", "images", "--out", "old.csv"],
     ["--out old.csv already exists"]),
    ("predict-existing-score-maps-kept", ["predict", "model", "images", "--out", "p.csv",
                                          "--tiling", "grid", "--score-maps", "report"],
     ["--score-maps report is a folder with files in it", "--overwrite"]),
    ("evaluate-existing-report-kept", ["evaluate", "model", "manifest.csv", "--out", "report"],
     ["--out report is a folder with files in it", "--overwrite"]),
    ("synth-existing-folder-kept", ["synth", "if", "--out", "report"],
     ["--out report is a folder with files in it"]),
    ("demo-existing-folder-kept", ["demo", "--quick", "--out", "report"],
     ["--out report is a folder with files in it"]),
    # training never replaces a model without being told
    ("train-into-an-existing-bundle", [*TRAIN, "--out", "model"],
     ["--out model already holds a model", "--resume", "--overwrite"]),
    ("train-into-an-existing-run-folder", [*TRAIN, "--out", "run"],
     ["run.train already holds", "--resume", "--overwrite"]),
    ("train-resume-and-overwrite", [*TRAIN, "--out", "model", "--resume", "--overwrite"],
     ["--resume", "--overwrite", "only one"]),
    ("train-into-a-folder-that-is-not-a-bundle", [*TRAIN, "--out", "report"],
     ["--out report", "not hold a model bundle"]),
]


@pytest.mark.parametrize("argv, fragments", [c[1:] for c in REFUSED],
                         ids=[c[0] for c in REFUSED])
def test_refused_outputs_are_one_line_and_lose_nothing(work, argv, fragments, request, capsys):
    if "model" in argv:
        shutil.copytree(request.getfixturevalue("bundle_source"), work / "model")
    before = snapshot(work)
    code = main(argv)
    lines = stderr_lines(capsys.readouterr().err)
    assert code == 2
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"msc-morph {argv[0]}: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert snapshot(work) == before  # inputs and earlier outputs byte-identical, nothing new


def test_overwrite_replaces_an_existing_table_and_keeps_the_inputs(work, capsys):
    inputs = {k: v for k, v in snapshot(work).items() if k != "old.csv"}
    old = (work / "old.csv").read_bytes()
    assert main(["measure", "cells.tif", "--out", "old.csv", "--overwrite"]) == 0
    table = pd.read_csv(work / "old.csv")
    assert (work / "old.csv").read_bytes() != old and len(table) >= 1
    assert {k: v for k, v in snapshot(work).items() if k != "old.csv"} == inputs


def test_overwrite_replaces_existing_labels(work):
    assert main(["segment", "--nuclei", "dapi.tif", "--out", "old.tif", "--overwrite"]) == 0
    assert read_image(work / "old.tif").data.shape == (96, 96)


def test_overwrite_writes_into_an_existing_folder_and_keeps_other_files(work):
    keep = (work / "report" / "keep.txt").read_bytes()
    assert main(["synth", "if", "--out", "report", "--overwrite", "--n-donors", "1",
                 "--per-class", "1", "--size", "64", "64"]) == 0
    assert (work / "report" / "manifest.csv").is_file()
    assert (work / "report" / "keep.txt").read_bytes() == keep


def test_an_empty_existing_folder_and_new_parent_folders_need_no_overwrite(work):
    (work / "empty").mkdir()
    assert main(["synth", "if", "--out", "empty", "--n-donors", "1", "--per-class", "1",
                 "--size", "64", "64"]) == 0
    assert main(["measure", "cells.tif", "--out", "new/deeper/t.csv"]) == 0
    assert (work / "new" / "deeper" / "t.csv").is_file()


def test_an_unwritable_output_folder_is_refused_before_any_work(work, monkeypatch, capsys):
    # root ignores chmod 0o500, so make the write probe fail as a read-only folder does
    import tempfile

    from napari_msc_morph import morphology

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied", kwargs.get("dir"))

    def must_not_run(*args, **kwargs):
        raise AssertionError("the work started before the output was checked")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    monkeypatch.setattr(morphology, "measure_field", must_not_run)
    before = snapshot(work)
    assert main(["measure", "cells.tif", "--out", "t.csv"]) == 2
    lines = stderr_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "--out t.csv: cannot write in" in lines[0]
    assert "Permission denied" in lines[0]
    assert snapshot(work) == before


@pytest.mark.parametrize("flag, resume", [("--resume", True), ("--overwrite", False)])
def test_train_resume_or_overwrite_lets_an_existing_bundle_through(work, bundle_source, flag,
                                                                   resume, monkeypatch):
    from napari_msc_morph import training

    shutil.copytree(bundle_source, work / "model")
    seen = {}

    def fake_train(manifest, config, out, resume=False, **kwargs):
        seen["resume"] = resume
        raise KeyboardInterrupt  # stop before any real training

    monkeypatch.setattr(training, "train_model", fake_train)
    assert main([*TRAIN, "--out", "model", flag]) == 130
    assert seen == {"resume": resume}
