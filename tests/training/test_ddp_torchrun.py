"""Two-process DDP training with torchrun (gloo on CPU): one bundle, the 1-process loss curve."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd

from napari_msc_morph.inference import predict_image
from napari_msc_morph.io import read_image
from napari_msc_morph.models import load_bundle
from napari_msc_morph.training import TrainConfig, train_model

#: per process; the 1-process run uses 2 x this, the same global batch
BATCH = 4
SETTINGS = dict(task="passage", backbone="test_resnet", input_size=48, epochs=3,
                crops_per_field=4, downscale=4, lr=1e-3, device="cpu", val=1, test=1, seed=0)


def _argv(manifest, out):
    flags = {"--task": "passage", "--backbone": "test_resnet", "--input-size": "48",
             "--epochs": "3", "--crops-per-field": "4", "--downscale": "4", "--lr": "1e-3",
             "--device": "cpu", "--val": "1", "--test": "1", "--seed": "0",
             "--batch-size": str(BATCH)}
    return ["train", str(manifest), "--out", str(out), "--no-report",
            *[x for pair in flags.items() for x in pair]]


def test_torchrun_two_processes_write_one_bundle(passage_set, tmp_path):
    out = tmp_path / "ddp" / "model"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1",
           "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "napari_msc_morph", *_argv(passage_set, out)],
        env=env, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("best epoch") == 1  # only rank 0 reports

    bundles = [p.parent for p in (tmp_path / "ddp").rglob("model.json")]
    assert bundles == [out]
    metrics = load_bundle(out).config.metrics
    assert metrics["world_size"] == 2 and metrics["global_batch_size"] == 2 * BATCH
    ddp = pd.read_csv(tmp_path / "ddp" / "model.train" / "history.csv")

    single = train_model(passage_set, TrainConfig(**SETTINGS, batch_size=2 * BATCH),
                         tmp_path / "single", test_report=False).history
    # same length, same crops per epoch (all of them, over both processes), both learning
    assert len(ddp) == len(single) == 3
    assert list(ddp["train_samples"]) == list(single["train_samples"])
    for curve in (ddp["train_loss"].to_numpy(), single["train_loss"].to_numpy()):
        assert curve[-1] < curve[0]

    # the bundle is an ordinary one: it loads and predicts
    split = pd.read_csv(tmp_path / "ddp" / "model.train" / "split.csv")
    image = read_image(tmp_path / "ddp" / "model.train" / split["path"].iloc[0])
    prediction = predict_image(load_bundle(out), image.data[::4, ::4], device="cpu")
    assert np.isclose(np.sum(prediction.probabilities), 1.0)
