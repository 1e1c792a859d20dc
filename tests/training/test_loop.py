"""train_model: resume after a cancelled run, the bundle and test report it writes, a margin
over chance."""


import numpy as np
import pandas as pd
import pytest
from safetensors.numpy import load_file

from napari_msc_morph.errors import BadInputError, Cancelled
from napari_msc_morph.inference import Predictor
from napari_msc_morph.jobs import CancelToken
from napari_msc_morph.models import load_bundle
from napari_msc_morph.training import TrainConfig, evaluate_model, train_model
from napari_msc_morph.training.checkpoint import checkpoint_state
from napari_msc_morph.training.data import ManifestError, load_manifest

BACKBONE = "test_resnet"


def _config(**kw):
    base = dict(task="passage", backbone=BACKBONE, input_size=64, epochs=2, batch_size=8,
                crops_per_field=1, downscale=4, device="cpu", val=1, test=1, lr=1e-3, seed=7)
    base.update(kw)
    return TrainConfig(**base)


def _model_tensors(work_dir):
    tensors = load_file(str(work_dir / "checkpoint.safetensors"))
    return {k: v for k, v in tensors.items() if k.startswith("model.")}


def test_resume_after_cancel_gives_the_same_weights(passage_set, tmp_path):
    config = _config()
    full = train_model(passage_set, config, tmp_path / "full", test_report=False)
    assert len(full.history) == 2 and not full.cancelled

    epochs_seen = []
    token = CancelToken()

    def on_epoch(row):
        epochs_seen.append(row["epoch"])
        token.cancel()

    with pytest.raises(Cancelled, match="after epoch 1") as info:
        train_model(passage_set, config, tmp_path / "cut", cancel=token, on_epoch=on_epoch)
    cut = info.value.result
    assert epochs_seen == [1]
    assert cut.cancelled and len(cut.history) == 1
    # the cancelled run leaves a usable bundle (its best epoch so far) and its checkpoint
    assert load_bundle(cut.bundle_path).config.metrics["epochs_trained"] == 1
    assert checkpoint_state(cut.work_dir)["epoch"] == 0
    assert not (cut.work_dir / "report").exists()  # no test report for a cancelled run

    resumed = train_model(passage_set, config, tmp_path / "cut", resume=True,
                          test_report=False)
    assert list(resumed.history["epoch"]) == [1, 2]
    a, b = _model_tensors(full.work_dir), _model_tensors(resumed.work_dir)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    pd.testing.assert_frame_equal(
        full.history.drop(columns=["train_seconds", "samples_per_s"]),
        resumed.history.drop(columns=["train_seconds", "samples_per_s"]),
    )


def test_bundle_is_what_prediction_loads(passage_set, tmp_path):
    result = train_model(passage_set, _config(epochs=1), tmp_path / "model.zip",
                         test_report=False)
    bundle = load_bundle(tmp_path / "model.zip")
    assert bundle.config.class_names == ("P1", "P10")
    assert bundle.config.backbone == BACKBONE and bundle.config.input_size == 64
    assert bundle.config.pixel_size_um == pytest.approx(0.65 * 4)
    metrics = bundle.config.metrics
    assert metrics["best_epoch"] == 1 and metrics["downscale"] == 4
    assert metrics["n_groups"] == {"train": 4, "val": 1, "test": 1}
    assert "val_accuracy" in metrics and metrics["history"]["train_loss"]
    split = pd.read_csv(result.work_dir / "split.csv")
    assert split.groupby("donor")["split"].nunique().max() == 1
    prediction = Predictor(bundle, device="cpu").predict(np.zeros((80, 90), np.uint8))
    assert prediction.probabilities.shape == (2,)


def test_class_missing_from_training_is_refused(passage_set, tmp_path):
    table = pd.read_csv(passage_set)
    table["path"] = [str(passage_set.parent / p) for p in table["path"]]
    table["split"] = np.where(table["donor"] == "D1", "test", "train")
    table.loc[table["label"] == "P10", "split"] = "test"
    with pytest.raises(ManifestError, match="class 'P10' has no image in the training split"):
        train_model(table, _config(), tmp_path / "m")
    assert issubclass(ManifestError, BadInputError)


def test_learns_p1_vs_p10_on_held_out_donors(passage_set_large, tmp_path):
    """The quick margin-over-chance check (the full proof is benchmarks/learning_proof.py)."""
    # 8 epochs: test_resnet's timm data config normalises with mean/std 0.5 (inputs in
    # [-1, 1], not ImageNet's wider range), so it starts learning a few epochs later.
    config = _config(epochs=8, crops_per_field=4, batch_size=16, val=1, test=1, seed=1, lr=3e-4)
    result = train_model(passage_set_large, config, tmp_path / "model", test_report=False)
    held_out = result.work_dir / "split.csv"
    table = load_manifest(held_out)  # split.csv names images relative to its own folder
    table = table[table["split"] != "train"].assign(split="test")
    evaluation = evaluate_model(result.bundle_path, table.assign(path=table["path"]),
                                split="test", n_boot=0, device="cpu")
    # 12 images of 2 donors never seen in training; chance is 0.5
    assert evaluation.metrics["n_images"] == 12
    assert evaluation.metrics["accuracy"] >= 0.75, evaluation.metrics
    assert evaluation.metrics["auc"] >= 0.85, evaluation.metrics
