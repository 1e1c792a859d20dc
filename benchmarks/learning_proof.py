"""Proof that it learns: passage (P1..P10) and osteogenic (control vs induced) on held-out donors.

Synthetic phase-contrast data (napari_msc_morph.synthetic) with 8 donors,
a donor-grouped split (6 train / 1 val / 1 test donors, so test donors are
never seen in training), fields of 1296x972 px read at 1/4 resolution
(324x243 px, 2.6 µm/px) for CPU speed, a small timm backbone at 96 px, a
few minutes of CPU training per task. Prints the held-out (val + test
donors) numbers that docs/training.md reports.

    python benchmarks/learning_proof.py            # both tasks, ~5-10 min on 2 busy cores
    python benchmarks/learning_proof.py --task osteogenic
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pandas as pd


def write_set(kind: str, out: Path, n_donors: int, per_class: int, size, seed: int = 0) -> Path:
    from napari_msc_morph.io import write_tiff
    from napari_msc_morph.synthetic import make_donor, passage_field
    from napari_msc_morph.synthetic.brightfield import osteo_field

    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for d in range(1, n_donors + 1):
        donor = make_donor(d, seed=seed)
        for k in range(per_class):
            if kind == "passage":
                for p in range(1, 11):
                    f = passage_field(p, donor, size=size, seed=seed * 100 + k)
                    name = f"D{d}_P{p}_{k}.tif"
                    write_tiff(f.image, out / name, pixel_size_um=f.pixel_size_um)
                    rows.append({"path": name, "label": f"P{p}", "donor": f"D{d}", "passage": p})
            else:
                for day in (0, 5, 14):
                    for induced in (False, True):
                        f = osteo_field(day, induced, donor, size=size, seed=seed * 100 + k)
                        label = "induced" if induced else "control"
                        name = f"D{d}_day{day}_{label}_{k}.tif"
                        write_tiff(f.image, out / name, pixel_size_um=f.pixel_size_um)
                        rows.append({"path": name, "label": label, "donor": f"D{d}", "day": day,
                                     "condition": label})
    pd.DataFrame(rows).to_csv(out / "manifest.csv", index=False)
    return out / "manifest.csv"


def run(task: str, args, root: Path) -> dict:
    from napari_msc_morph.training import TrainConfig, evaluate_model, train_model

    per_class = args.per_class
    manifest = write_set(task, root / task, args.donors, per_class, tuple(args.field_size))
    config = TrainConfig(task=task, backbone=args.backbone, input_size=args.input_size,
                         epochs=args.epochs, batch_size=32, crops_per_field=args.crops,
                         downscale=4, device="cpu", val=1, test=1, lr=args.lr, seed=args.seed,
                         early_stopping=None)
    t0 = time.perf_counter()
    result = train_model(manifest, config, root / f"{task}-model", test_report=False)
    minutes = (time.perf_counter() - t0) / 60
    from napari_msc_morph.training.data import load_manifest

    split = load_manifest(result.work_dir / "split.csv")  # paths relative to split.csv
    held = split[split["split"] != "train"].assign(split="test")
    ev = evaluate_model(result.bundle_path, held, split="test", n_boot=1000, device="cpu",
                        out_dir=args.report / task if args.report else root / f"{task}-report")
    m = ev.metrics
    keys = ["n_images", "accuracy", "within3_accuracy", "within5_accuracy", "mean_abs_class_error",
            "macro_f1", "auc", "auc_ci95_low", "auc_ci95_high", "auc_day_0", "auc_day_5",
            "auc_day_14", "ece", "ece_uncalibrated", "temperature"]
    keys += [f"{k}_ci95_{side}" for k in ("accuracy", "within3_accuracy", "within5_accuracy",
                                          "auc_day_5", "auc_day_14") for side in ("low", "high")]
    out = {k: round(m[k], 3) if isinstance(m[k], float) else m[k] for k in keys if k in m}
    out.update(task=task, train_minutes=round(minutes, 1), epochs=len(result.history),
               best_epoch=result.best_epoch,
               held_out_donors=sorted(held["donor"].unique().tolist()),
               chance_accuracy=round(1 / len(m["class_names"]), 3))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=("passage", "osteogenic", "both"), default="both")
    parser.add_argument("--donors", type=int, default=8)
    parser.add_argument("--per-class", type=int, default=2)
    parser.add_argument("--field-size", type=int, nargs=2, default=(972, 1296))
    parser.add_argument("--backbone", default="resnet10t")
    parser.add_argument("--input-size", type=int, default=96)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--crops", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report", type=Path, default=None, help="write the report folders here")
    args = parser.parse_args()
    tasks = ("passage", "osteogenic") if args.task == "both" else (args.task,)
    with tempfile.TemporaryDirectory() as tmp:
        for task in tasks:
            print(json.dumps(run(task, args, Path(tmp))), flush=True)


if __name__ == "__main__":
    main()
