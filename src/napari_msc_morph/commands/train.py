"""``msc-morph train``: train a model bundle on a lab's own images."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..inference.tiling import TILINGS
from ..models.backbones import DEVICES
from ..models.tasks import TASKS
from ..training.optim import OPTIMIZERS, SCHEDULERS
from ._outputs import check_outputs


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
    parser.add_argument("--task", required=True, choices=TASKS.names(),
                        help="what the model predicts")
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
    parser.add_argument("--optimizer", choices=OPTIMIZERS.names(), default="adam",
                        help="adam (passage study; lr 1e-5) or sgd (lr 1e-3, divided by 10 on "
                             "a plateau) (default adam)")
    parser.add_argument("--scheduler", choices=SCHEDULERS.names(), default=None,
                        help="learning-rate schedule (default: the optimizer's: adam none, "
                             "sgd plateau)")
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
    parser.add_argument("--device", default="auto", choices=DEVICES.names(),
                        help="where the network trains (default auto: cuda, mps, then cpu)")
    parser.add_argument("--seed", type=int, default=0, help="default 0")
    parser.add_argument("--resume", action="store_true",
                        help="continue the interrupted run from MODEL_DIR.train/checkpoint")
    parser.add_argument("--overwrite", action="store_true",
                        help="train a new model in place of the bundle and run already in "
                             "MODEL_DIR (default: keep them and stop with an error)")
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
    parser.add_argument("--tiling", choices=TILINGS.names(), default="six",
                        help="tiling for validation and the bundle's default (default six)")
    parser.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    parser.add_argument("--dedupe", action="store_true",
                        help="keep the first of manifest rows showing the same image (another "
                             "spelling, a symlink, identical bytes) instead of stopping with an "
                             "error naming both rows")
    parser.add_argument("--no-report", action="store_true",
                        help="skip the evaluation report on the test split at the end")
    return parser


def config_from_args(args):
    """The :class:`~napari_msc_morph.training.TrainConfig` the options describe."""
    from ..training import TrainConfig

    def share(value):
        return int(value) if value >= 1 else float(value)

    return TrainConfig(
        task=args.task,
        backbone=args.backbone,
        input_size=args.input_size,
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        scheduler=args.scheduler,
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


def run(args) -> int:
    from ..training import train_model
    from ..training.config import default_work_dir
    from ..training.splits import split_counts
    from ._progress import progress_bar

    check_outputs([("--out", args.out, "bundle"),
                   ("--out's run folder", default_work_dir(args.out), "folder")],
                  [("manifest", args.manifest)], overwrite=args.overwrite, resume=args.resume)
    config = config_from_args(args)
    with progress_bar("train") as progress:
        result = train_model(args.manifest, config, args.out, resume=args.resume,
                             test_report=not args.no_report, progress=progress,
                             dedupe=args.dedupe)
    print(split_counts(result.split, config.split_by).to_string(), file=sys.stderr)
    if result.bundle_path is None:
        print("no epoch finished; no model was written", file=sys.stderr)
        return 1
    m = result.metrics
    summary = ", ".join(
        f"{k} {m[k]:.3f}" for k in ("val_accuracy", "val_within3_accuracy", "val_auc", "val_loss")
        if isinstance(m.get(k), (int, float))
    )
    print(f"best epoch {result.best_epoch} of {len(result.history)} ({summary}) "
          f"-> {result.bundle_path}")
    if result.test_evaluation is not None:
        shown = ", ".join(f"{k} {m[k]:.3f}" for k in
                          ("test_accuracy", "test_within3_accuracy", "test_within5_accuracy",
                           "test_auc") if isinstance(m.get(k), (int, float)))
        report = Path(result.report_files["metrics"]).parent
        print(f"test split: {shown} -> {report}")
    return 0


def kept(args) -> str:
    """What an interrupted ``train`` keeps (printed by the CLI on Ctrl-C)."""
    from ..training.config import default_work_dir

    return (f"the checkpoints of finished epochs are kept in {default_work_dir(args.out)} "
            f"(and the best model so far in {args.out}); continue with the same command "
            "plus --resume")
