"""--class-weights balanced: n / (k * n_c) from the training split, used by the loss, in model.json."""

import numpy as np
import pandas as pd
import pytest
import tifffile
import torch

from napari_msc_morph.training import TrainConfig, train_model
from napari_msc_morph.training.distributed import DistContext
from napari_msc_morph.training.optim import class_weight_values
from napari_msc_morph.training.trainer import _build_optimisation


def _imbalanced_set(folder):
    """4 donors, each with three P1 fields and one P10 field."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for d in range(1, 5):
        for k, p in enumerate((1, 1, 1, 10)):
            rng = np.random.default_rng([d, k])
            tifffile.imwrite(folder / f"D{d}_{k}.tif", rng.integers(0, 255, (40, 48), np.uint8))
            rows.append({"path": f"D{d}_{k}.tif", "label": f"P{p}", "donor": f"D{d}"})
    pd.DataFrame(rows).to_csv(folder / "manifest.csv", index=False)
    return folder / "manifest.csv"


def test_balanced_weights_are_inverse_class_frequency():
    labels = ["P1"] * 6 + ["P10"] * 2
    assert class_weight_values(labels, ["P1", "P10"], "balanced") == pytest.approx([8 / 12, 2.0])
    assert class_weight_values(labels, ["P1", "P10"], "none") is None
    # equal classes: every weight 1; a class without training images: 0
    assert class_weight_values(["a", "b"], ["a", "b"], "balanced") == [1.0, 1.0]
    assert class_weight_values(["a", "a"], ["a", "b"], "balanced") == [0.5, 0.0]


def test_loss_uses_the_weights():
    config = TrainConfig(task="passage", backbone="test_resnet", input_size=32, device="cpu",
                         class_weights="balanced", class_names=("P1", "P10"))
    opt = _build_optimisation(config, 2, [0.5, 1.5], "cpu", DistContext())
    assert torch.equal(opt.loss_fn.weight, torch.tensor([0.5, 1.5]))
    logits, target = torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 1])
    per_sample = torch.nn.functional.cross_entropy(logits, target, reduction="none")
    expected = (0.5 * per_sample[0] + 1.5 * per_sample[1]) / 2.0
    assert torch.isclose(opt.loss_fn(logits, target), expected)


def test_training_records_the_training_split_weights(tmp_path):
    manifest = _imbalanced_set(tmp_path / "data")
    base = dict(task="passage", backbone="test_resnet", input_size=32, epochs=1, batch_size=4,
                crops_per_field=1, device="cpu", val=1, test=1, lr=1e-2, seed=0)
    weighted = train_model(manifest, TrainConfig(**base, class_weights="balanced"),
                           tmp_path / "w", test_report=False)
    plain = train_model(manifest, TrainConfig(**base), tmp_path / "p", test_report=False)
    train = weighted.split[weighted.split["split"] == "train"]
    n1, n10 = (train["label"] == "P1").sum(), (train["label"] == "P10").sum()
    assert (n1, n10) == (6, 2)
    m = weighted.metrics
    assert m["class_weights"] == "balanced"
    assert m["class_weight_values"] == pytest.approx({"P1": 8 / (2 * 6), "P10": 8 / (2 * 2)})
    assert plain.metrics["class_weights"] == "none" and plain.metrics["class_weight_values"] is None
    # same seed, same crops: only the weights differ, and so does the loss
    assert weighted.history["train_loss"][0] != pytest.approx(plain.history["train_loss"][0])
