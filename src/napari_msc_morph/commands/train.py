"""``msc-morph train``: train a model bundle on a lab's own images."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..models.tasks import TASKS


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "train",
        help="train a passage/source/osteogenic/neural-fate model on your own images",
        description=(
            "Train a timm backbone on a manifest (CSV with path,label,donor[,day,passage,condition,"
            "split]) or a folder-per-class layout, with a donor-grouped split, the studies' "
            "augmentations, a checkpoint every epoch and early stopping. Writes a model bundle "
            "to MODEL_DIR (what `msc-morph predict` and the Predict widget load) and the run's "
            "split.csv, history.csv, checkpoints and evaluation report to MODEL_DIR.train/."
        ),
    )
    parser.add_argument("manifest", type=Path, metavar="MANIFEST",
                        help="manifest CSV/TSV/XLSX, or a folder with one sub-folder per class")
    parser.add_argument("--task", required=True, choices=list(TASKS), help="what the model predicts")
    parser.add_argument("--out", type=Path, required=True, metavar="MODEL_DIR",
                        help="bundle to write (a folder, or a .zip)")
    parser.add_argument("--backbone", default="resnext50_32x4d",
                        help="timm model name (default resnext50_32x4d; resnet50 as in the "
                             "neural-fate study; resnet10t for a quick try)")
    parser.add_argument("--epochs", type=int, default=30, help="maximum epochs (default 30)")
    parser.add_argument("--input-size", type=int, default=448, metavar="PX",
                        help="crop side in pixels (default 448)")
    parser.add_argument("--batch-size", type=int, default=16, help="default 16")
    parser.add_argument("--lr", type=float, default=None,
                        help="learning rate (default: Adam 1e-5, SGD 1e-3)")
    parser.add_argument("--optimizer", choices=("adam", "sgd"), default="adam",
                        help="adam (passage study) or sgd (lr divided by 10 on plateau)")
    parser.add_argument("--split-by", default="donor", metavar="COLUMN",
                        help="manifest column whose groups never straddle splits (default donor; "
                             "'none' splits single images)")
    parser.add_argument("--val", type=float, default=0.15,
                        help="validation donors: share (<1) or count (>=1) (default 0.15)")
    parser.add_argument("--test", type=float, default=0.15,
                        help="test donors: share (<1) or count (>=1) (default 0.15)")
    parser.add_argument("--classes", default=None,
                        help="comma-separated class names in order (default: the task's classes "
                             "found in the manifest)")
    parser.add_argument("--pretrained", action="store_true",
                        help="start from ImageNet weights (timm downloads them: needs internet)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    parser.add_argument("--seed", type=int, default=0, help="default 0")
    parser.add_argument("--resume", action="store_true",
                        help="continue the interrupted run from MODEL_DIR.train/checkpoint")
    parser.add_argument("--crops-per-field", type=int, default=16,
                        help="random crops per training image per epoch (default 16)")
    parser.add_argument("--downscale", type=int, default=1,
                        help="read images at 1/N resolution (block average), e.g. 4 for CPU")
    parser.add_argument("--in-chans", type=int, choices=(1, 3), default=3,
                        help="network input channels (3: gray images repeated, ImageNet-style)")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    parser.add_argument("--patience", type=int, default=10,
                        help="early stopping: epochs without improvement (0 = off; default 10)")
    parser.add_argument("--monitor", default="val_loss",
                        help="validation metric that picks the best epoch (default val_loss; "
                             "e.g. val_accuracy, val_auc)")
    parser.add_argument("--tiling", choices=("six", "grid", "center"), default="six",
                        help="tiling for validation and the bundle's default (default six)")
    parser.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    parser.add_argument("--no-report", action="store_true",
                        help="skip the evaluation report on the test split at the end")
    return parser


def run(args) -> int:
    from tqdm import tqdm

    from ..training.evaluate import evaluate, write_report
    from ..training.loop import TrainConfig, _update_bundle_metrics, train
    from ..training.splits import split_counts

    def share(value):
        return int(value) if value >= 1 else float(value)

    config = TrainConfig(
        task=args.task,
        backbone=args.backbone,
        input_size=args.input_size,
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        lr=args.lr,
        crops_per_field=args.crops_per_field,
        pretrained=args.pretrained,
        device=args.device,
        seed=args.seed,
        num_workers=args.workers,
        amp=not args.no_amp,
        in_chans=args.in_chans,
        downscale=args.downscale,
        split_by=args.split_by,
        val=share(args.val),
        test=share(args.test),
        class_names=tuple(c.strip() for c in args.classes.split(",")) if args.classes else None,
        tiling=args.tiling,
        monitor=args.monitor,
        early_stopping=args.patience or None,
    )
    bars: dict = {}

    def progress(event):
        kind = event["kind"]
        if kind == "load":
            bar = bars.get("load") or bars.setdefault(
                "load", tqdm(total=event["total"], desc="reading images", unit="img", leave=False))
            bar.update(1)
            if event["done"] == event["total"]:
                bar.close()
                bars.pop("load")
        elif kind == "batch":
            bar = bars.get("epoch")
            if bar is None or bar.desc != f"epoch {event['epoch']}":
                if bar is not None:
                    bar.close()
                bar = bars["epoch"] = tqdm(total=event["batches"], desc=f"epoch {event['epoch']}",
                                           unit="batch")
                bar.set_postfix(bars.get("postfix", {}))
            bar.update(1)
            bars["postfix"] = {**bars.get("postfix", {}), "loss": f"{event['loss']:.3f}"}
            bar.set_postfix(bars["postfix"])
        elif kind == "epoch":
            post = {"loss": f"{event['train_loss']:.3f}"}
            for key in ("val_loss", "val_accuracy", "val_within3_accuracy", "val_auc"):
                if key in event and event[key] is not None:
                    post[key.replace("val_", "v_")] = f"{event[key]:.3f}"
            bars["postfix"] = post
            bar = bars.get("epoch")
            if bar is not None:
                bar.set_postfix(post)
                bar.close()
                bars.pop("epoch")

    result = train(args.manifest, config, args.out, resume=args.resume, progress=progress)
    for bar in list(bars.values()):
        if hasattr(bar, "close"):
            bar.close()
    print(split_counts(result.split, config.split_by).to_string(), file=sys.stderr)
    if result.bundle_path is None:
        print("no epoch finished; no model was written", file=sys.stderr)
        return 1
    m = result.metrics
    summary = ", ".join(
        f"{k} {m[k]:.3f}" for k in ("val_accuracy", "val_within3_accuracy", "val_auc", "val_loss")
        if isinstance(m.get(k), (int, float))
    )
    print(f"best epoch {result.best_epoch} of {len(result.history)} ({summary}) -> {result.bundle_path}")
    if not args.no_report and (result.split["split"] == "test").any():
        split_csv = result.work_dir / "split.csv"
        evaluation = evaluate(result.bundle_path, split_csv, split="test", device=args.device,
                              downscale=config.downscale)
        report = result.work_dir / "report"
        write_report(evaluation, report)
        test = {f"test_{k}": v for k, v in evaluation.metrics.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "downscale"}
        _update_bundle_metrics(result.bundle_path, test)
        shown = ", ".join(f"{k} {test[k]:.3f}" for k in
                          ("test_accuracy", "test_within3_accuracy", "test_within5_accuracy", "test_auc")
                          if k in test)
        print(f"test split: {shown} -> {report}")
    return 0
