"""Donor-grouped cross-validation: disjoint donor folds, K or 1 bundles, mean ± sd of the folds."""

import json

import numpy as np
import pandas as pd
import tifffile

from napari_msc_morph.cli import main
from napari_msc_morph.models import load_bundle
from napari_msc_morph.training import TrainConfig
from napari_msc_morph.training.crossval import cross_validate, fold_tables, summarise_folds
from napari_msc_morph.training.splits import grouped_folds

TINY = dict(task="passage", backbone="test_resnet", input_size=32, epochs=1, batch_size=4,
            crops_per_field=1, device="cpu", val=1, lr=1e-3, seed=0)


def _tiny_set(folder, n_donors=4):
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for d in range(1, n_donors + 1):
        for p in (1, 10):
            rng = np.random.default_rng([d, p])
            tifffile.imwrite(folder / f"D{d}_P{p}.tif", rng.integers(0, 255, (40, 48), np.uint8))
            rows.append({"path": f"D{d}_P{p}.tif", "label": f"P{p}", "donor": f"D{d}"})
    pd.DataFrame(rows).to_csv(folder / "manifest.csv", index=False)
    return folder / "manifest.csv"


def test_folds_hold_out_disjoint_donors_that_cover_all():
    donors = [f"D{i // 4}" for i in range(7 * 4)]
    labels = ["a", "b", "a", "c"] * 7
    folds = grouped_folds(labels, donors, k=3, seed=5)
    per_donor = pd.Series(folds).groupby(pd.Series(donors)).nunique()
    assert (per_donor == 1).all()  # a donor is in exactly one fold
    donors_per_fold = pd.Series(donors).groupby(folds).nunique()
    assert sorted(donors_per_fold.index) == [0, 1, 2]
    assert donors_per_fold.sum() == 7 and donors_per_fold.max() - donors_per_fold.min() <= 1
    assert np.array_equal(folds, grouped_folds(labels, donors, k=3, seed=5))  # seeded


def test_fold_tables_split_inside_training_by_donor(tmp_path):
    manifest = _tiny_set(tmp_path / "data", n_donors=5)
    table, per_fold = fold_tables(manifest, TrainConfig(**TINY), k=3)
    held_out = []
    for f, fold in enumerate(per_fold):
        by_split = {s: set(fold.loc[fold["split"] == s, "donor"]) for s in ("train", "val", "test")}
        assert by_split["test"] == set(table.loc[table["fold"] == f, "donor"])
        assert by_split["val"] and by_split["train"]
        assert not (by_split["train"] & by_split["val"] or by_split["train"] & by_split["test"]
                    or by_split["val"] & by_split["test"])
        held_out.append(by_split["test"])
    assert set().union(*held_out) == {f"D{i}" for i in range(1, 6)}
    assert sum(len(h) for h in held_out) == 5  # pairwise disjoint


def test_summary_is_numpy_mean_and_sample_sd():
    folds = pd.DataFrame({"fold": [1, 2, 3], "test_accuracy": [0.5, 0.75, 0.9],
                          "val_loss": [0.7, 0.6, np.nan], "test_groups": ["D1", "D2", "D3"]})
    summary = summarise_folds(folds).set_index("metric")
    assert set(summary.index) == {"test_accuracy", "val_loss"}
    acc = np.array([0.5, 0.75, 0.9])
    assert summary.loc["test_accuracy", "mean"] == np.mean(acc)
    assert summary.loc["test_accuracy", "sd"] == np.std(acc, ddof=1)
    assert summary.loc["val_loss", "n_folds"] == 2


def test_cli_cv_keeps_all_bundles_and_reports_mean_sd(tmp_path, capsys):
    manifest = _tiny_set(tmp_path / "data")
    out = tmp_path / "model"
    code = main(["train", str(manifest), "--task", "passage", "--out", str(out), "--backbone",
                 "test_resnet", "--input-size", "32", "--epochs", "1", "--batch-size", "4",
                 "--crops-per-field", "1", "--device", "cpu", "--val", "1", "--cv", "2",
                 "--cv-keep", "all", "--class-weights", "balanced"])
    assert code == 0
    printed = capsys.readouterr().out
    cv = tmp_path / "model.cv"
    summary = pd.read_csv(cv / "cv_summary.csv")
    folds = pd.read_csv(cv / "cv_folds.csv")
    assert len(folds) == 2 and "test_accuracy" in set(summary["metric"])
    for row in summary.itertuples():
        values = folds[row.metric].to_numpy(float)
        assert np.isclose(row.mean, np.mean(values)) and np.isclose(row.sd, np.std(values, ddof=1))
        assert f"{row.metric}: {row.mean:.3f} ± {row.sd:.3f} (2 folds)" in printed
    record = json.loads((cv / "cv_summary.json").read_text())
    bundles = sorted(p.parent for p in tmp_path.rglob("model.json"))
    assert len(bundles) == 2 and out in bundles  # K bundles: the best at --out, the other in .cv
    assert {str(p) for p in bundles} == set(record["bundles"].values())
    best = load_bundle(out).config.metrics
    assert best["cross_validation"]["k"] == 2 and best["class_weights"] == "balanced"
    listing = pd.read_csv(cv / "folds.csv")
    assert listing.groupby("donor")["fold"].nunique().max() == 1
    assert set(folds["test_groups"]) == {";".join(sorted(g)) for _, g in
                                         listing.groupby("fold")["donor"].unique().items()}


def test_cv_keep_best_leaves_one_bundle(tmp_path):
    manifest = _tiny_set(tmp_path / "data")
    cv = cross_validate(manifest, TrainConfig(**TINY), tmp_path / "m.zip", k=2, keep="best")
    bundles = list(tmp_path.rglob("model.json")) + list(tmp_path.rglob("*.zip"))
    assert bundles == [tmp_path / "m.zip"] and cv.fold_bundles == {cv.best_fold: cv.bundle_path}
    values = [r.metrics[cv.monitor] for r in cv.results]
    assert cv.best_value == min(values)  # val_loss: lower is better
    assert load_bundle(tmp_path / "m.zip").config.metrics["cross_validation"]["best_fold"] \
        == cv.best_fold
    assert not list(tmp_path.rglob("checkpoint.safetensors"))[1:]  # only the best fold's stays
