"""synth -> train -> evaluate -> predict with relative paths, from different folders.

A user types relative paths from wherever the shell is; files that name other
files (manifest.csv, split.csv, predictions.csv) name them relative to their
own folder, so the chain works from any working directory.
"""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from napari_msc_morph.cli import main


@pytest.mark.slow
def test_synth_train_evaluate_predict_from_different_working_directories(tmp_path,
                                                                        monkeypatch):
    project = tmp_path / "project"
    (project / "analysis").mkdir(parents=True)
    monkeypatch.chdir(project)
    assert main(["synth", "osteo", "--out", "data", "--n-donors", "4", "--per-class", "1",
                 "--size", "160", "200"]) == 0
    manifest = pd.read_csv("data/manifest.csv")
    assert not any(os.path.isabs(p) for p in manifest["path"])
    assert main(["train", "data/manifest.csv", "--task", "osteogenic", "--out", "models/osteo",
                 "--backbone", "test_resnet", "--epochs", "1", "--input-size", "48",
                 "--batch-size", "8", "--crops-per-field", "1", "--val", "1", "--test", "1",
                 "--device", "cpu"]) == 0
    report = json.loads((project / "models" / "osteo.train" / "report" / "metrics.json")
                        .read_text())

    # from another folder, everything relative to it
    monkeypatch.chdir(project / "analysis")
    assert main(["evaluate", "../models/osteo", "../data/manifest.csv", "--out", "eval",
                 "--device", "cpu", "--n-boot", "0"]) == 0
    again = json.loads((project / "analysis" / "eval" / "metrics.json").read_text())
    # the bundle remembers its split: the training manifest reproduces the held-out numbers
    assert again["n_images"] == report["n_images"]
    assert again["accuracy"] == pytest.approx(report["accuracy"])
    assert main(["predict", "../models/osteo", "../data", "--out", "results/predictions.csv",
                 "--device", "cpu"]) == 0
    table = pd.read_csv("results/predictions.csv")
    assert len(table) == len(manifest)
    # the table names images relative to its own folder, and they exist from there
    assert all((project / "analysis" / "results" / p).is_file() for p in table["image"])
    assert all(p.startswith("../../data/") for p in table["image"])
