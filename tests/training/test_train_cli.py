"""`msc-morph train` and `msc-morph evaluate` end to end on tiny data."""

import json

import pandas as pd

from napari_msc_morph.cli import main
from napari_msc_morph.models import load_bundle

BACKBONE = "test_resnet"


def test_train_then_evaluate(passage_set, tmp_path, capsys):
    out = tmp_path / "model"
    code = main([
        "train", str(passage_set), "--task", "passage", "--out", str(out), "--backbone", BACKBONE,
        "--epochs", "1", "--input-size", "64", "--batch-size", "8", "--lr", "1e-3",
        "--downscale", "4", "--crops-per-field", "2", "--val", "1", "--test", "1",
        "--device", "cpu", "--seed", "1",
    ])
    assert code == 0
    printed = capsys.readouterr().out
    assert "best epoch 1" in printed and "test split:" in printed
    bundle = load_bundle(out)
    assert "test_accuracy" in bundle.config.metrics and "val_loss" in bundle.config.metrics
    work = tmp_path / "model.train"
    for name in ("split.csv", "history.csv", "checkpoint.safetensors",
                 "report/metrics.json", "report/predictions.csv", "report/confusion_matrix.png"):
        assert (work / name).is_file(), name

    report = tmp_path / "report"
    code = main(["evaluate", str(out), str(work / "split.csv"), "--out", str(report),
                 "--split", "val", "--n-boot", "50", "--device", "cpu"])
    assert code == 0
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["split"] == "val" and metrics["n_images"] == 6
    assert {"accuracy", "auc", "auc_ci95_low", "ece", "confusion_matrix"} <= set(metrics)
    predictions = pd.read_csv(report / "predictions.csv")
    assert list(predictions.columns[:4]) == ["path", "label", "predicted", "correct"]
    assert {"p_P1", "p_P10", "expected_passage", "donor", "split"} <= set(predictions.columns)
    for png in ("learning_curves.png", "confusion_matrix.png", "roc.png", "reliability.png"):
        assert (report / png).stat().st_size > 1000, png

    # --resume on a finished run trains nothing more and keeps the bundle
    assert main(["train", str(passage_set), "--task", "passage", "--out", str(out), "--backbone",
                 BACKBONE, "--epochs", "1", "--input-size", "64", "--batch-size", "8",
                 "--lr", "1e-3", "--downscale", "4", "--crops-per-field", "2", "--val", "1",
                 "--test", "1", "--device", "cpu", "--seed", "1", "--resume", "--no-report"]) == 0


def test_user_errors_are_one_line(tmp_path, capsys):
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label,donor\nmissing.tif,P3,D1\n")
    code = main(["train", str(manifest), "--task", "passage", "--out", str(tmp_path / "m"),
                 "--backbone", BACKBONE])
    assert code == 2
    err = capsys.readouterr().err
    assert "msc-morph train: error:" in err and "line 2 [path]" in err and "does not exist" in err
    code = main(["train", str(manifest), "--task", "passage", "--out", str(tmp_path / "m"),
                 "--backbone", "resnext50"])
    assert code == 2
    assert "Did you mean" in capsys.readouterr().err
