"""``msc-morph train``: train a model bundle on a lab's own images."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from ..models.backbones import DEVICES
from ..models.tasks import TASKS
from ..tiling import TILINGS
from ..training.augment import CROPS
from ..training.crossval import CV_KEEP
from ..training.optim import CLASS_WEIGHTS, OPTIMIZERS, SCHEDULERS
from ..training.recipes import RECIPES, recipe_values
from . import command_parser
from ._outputs import check_outputs


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = command_parser(subparsers, "train", (
        "Train a timm backbone on a manifest (CSV with path,label,donor[,day,passage,condition,"
        "split]) or a folder-per-class layout, with a donor-grouped split, the studies' "
        "augmentations, a checkpoint every epoch and early stopping. Writes a model bundle "
        "to MODEL_DIR (what `msc-morph predict` and the Predict widget load) and the run's "
        "split.csv, history.csv, checkpoints and evaluation report to MODEL_DIR.train/."
    ))
    parser.add_argument("manifest", type=Path, metavar="MANIFEST",
                        help="manifest CSV/TSV/XLSX, or a folder with one sub-folder per class")
    parser.add_argument("--recipe", choices=RECIPES.names(), default=None,
                        help="start from a published training setup (see `msc-morph recipes`); "
                             "options given explicitly override its values")
    parser.add_argument("--task", choices=TASKS.names(), default=None,
                        help="what the model predicts (required without --recipe)")
    parser.add_argument("--out", type=Path, required=True, metavar="MODEL_DIR",
                        help="bundle to write (a folder, or a .zip)")
    parser.add_argument("--backbone", default=None,
                        help="timm model name (default resnext50_32x4d; resnet50 as in the "
                             "neural-fate study; resnet10t for a quick try)")
    parser.add_argument("--epochs", type=int, default=None, help="maximum epochs (default 30)")
    parser.add_argument("--input-size", type=int, default=None, metavar="PX",
                        help="crop side in pixels (default 448)")
    parser.add_argument("--batch-size", type=int, default=None, help="default 16")
    parser.add_argument("--lr", type=float, default=None,
                        help="learning rate (default: Adam 1e-5, SGD 1e-3)")
    parser.add_argument("--momentum", type=float, default=None,
                        help="SGD momentum (default 0.9; Adam ignores it)")
    parser.add_argument("--optimizer", choices=OPTIMIZERS.names(), default=None,
                        help="adam (lr 1e-5) or sgd (momentum 0.9, lr 1e-3, divided by 10 on "
                             "a plateau) (default adam)")
    parser.add_argument("--scheduler", choices=SCHEDULERS.names(), default=None,
                        help="learning-rate schedule (default: the optimizer's: adam none, "
                             "sgd plateau)")
    parser.add_argument("--crop", choices=CROPS.names(), default=None,
                        help="training crops anywhere in the field (random, default) or around "
                             "its centre (center, the tissue-source study)")
    parser.add_argument("--split-by", default=None, metavar="COLUMN",
                        help="manifest column whose groups never straddle splits (default donor; "
                             "'none' splits single images)")
    parser.add_argument("--val", type=float, default=None,
                        help="validation donors: share (<1) or count (>=1) (default 0.15)")
    parser.add_argument("--test", type=float, default=None,
                        help="test donors: share (<1) or count (>=1) (default 0.15)")
    parser.add_argument("--classes", default=None,
                        help="comma-separated class names in order (default: the task's classes "
                             "found in the manifest)")
    parser.add_argument("--pretrained", action=argparse.BooleanOptionalAction, default=None,
                        help="start from ImageNet weights: --weights, else timm's cache, else a "
                             "download (needs internet); --no-pretrained trains from scratch "
                             "(default: the recipe's; without a recipe, from scratch)")
    parser.add_argument("--weights", type=Path, default=None, metavar="FILE.safetensors",
                        help="the backbone's ImageNet weights as a local .safetensors file (or a "
                             "folder holding one model.safetensors), for machines without "
                             "internet; implies --pretrained")
    parser.add_argument("--device", default=None, choices=DEVICES.names(),
                        help="where the network trains (default auto: cuda, mps, then cpu)")
    parser.add_argument("--seed", type=int, default=None, help="default 0")
    parser.add_argument("--resume", action="store_true",
                        help="continue the interrupted run from MODEL_DIR.train/checkpoint")
    parser.add_argument("--overwrite", action="store_true",
                        help="train a new model in place of the bundle and run already in "
                             "MODEL_DIR (default: keep them and stop with an error)")
    parser.add_argument("--crops-per-field", type=int, default=None,
                        help="random crops per training image per epoch (default 16)")
    parser.add_argument("--downscale", type=int, default=None,
                        help="read images at 1/N resolution (block average), e.g. 4 for CPU")
    parser.add_argument("--in-chans", type=int, choices=(1, 3), default=None,
                        help="network input channels (3: gray images repeated, ImageNet-style)")
    parser.add_argument("--workers", type=int, default=None, help="DataLoader worker processes")
    parser.add_argument("--patience", type=int, default=None,
                        help="early stopping: epochs without improvement (0 = off; default 10; the "
                             "passage and strain recipes: off, so their schedule runs)")
    parser.add_argument("--plateau-patience", type=int, default=None, metavar="N",
                        help="plateau schedule: epochs (validation checks) without a better "
                             "monitored metric before the learning rate is divided by 10 "
                             "(default 3; the passage recipe 100, its reading of the paper's "
                             "'within 100 times')")
    parser.add_argument("--monitor", default=None,
                        help="validation metric that picks the best epoch (default val_loss; "
                             "e.g. val_accuracy, val_auc)")
    parser.add_argument("--tiling", choices=TILINGS.names(), default=None,
                        help="tiling for validation and the bundle's default (default six)")
    parser.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    parser.add_argument("--dedupe", action="store_true",
                        help="keep the first of manifest rows showing the same image (another "
                             "spelling, a symlink, identical bytes) instead of stopping with an "
                             "error naming both rows")
    parser.add_argument("--no-report", action="store_true",
                        help="skip the evaluation report on the test split at the end")
    parser.add_argument("--class-weights", choices=CLASS_WEIGHTS.names(), default=None,
                        help="balanced: weigh each class's loss by n/(classes*n_class) of the "
                             "training split, so rare classes count as much as common ones "
                             "(default none)")
    parser.add_argument("--cv", type=int, default=None, metavar="K",
                        help="donor-grouped cross-validation: K models, each tested on its own "
                             "1/K of the donors; writes MODEL_DIR.cv/cv_summary.csv (mean ± sd "
                             "per metric) and the best fold's bundle to MODEL_DIR")
    parser.add_argument("--cv-keep", choices=CV_KEEP.names(), default="best",
                        help="with --cv: keep only the best fold's bundle (by the monitored "
                             "validation metric), or all K (the others in MODEL_DIR.cv/foldN) "
                             "(default best)")
    return parser


#: option (argparse dest) -> TrainConfig field; ``None`` means the option was not given.
_OPTION_FIELDS = {
    **{name: name for name in (
        "task", "backbone", "input_size", "epochs", "batch_size", "optimizer", "scheduler", "lr",
        "momentum", "crop", "crops_per_field", "pretrained", "weights", "device", "seed",
        "in_chans", "downscale", "split_by", "val", "test", "tiling", "monitor", "class_weights",
        "plateau_patience")},
    "workers": "num_workers", "classes": "class_names", "patience": "early_stopping",
}


def given_options(args) -> dict:
    """The TrainConfig values of the options given on the command line (not defaults)."""

    def share(value):
        return int(value) if value >= 1 else float(value)

    convert = {
        "val": share, "test": share, "weights": str,
        "classes": lambda v: tuple(c.strip() for c in v.split(",")),
        "patience": lambda v: v or None,
    }
    return {name: convert.get(option, lambda v: v)(getattr(args, option))
            for option, name in _OPTION_FIELDS.items() if getattr(args, option, None) is not None}


def config_from_args(args):
    """The :class:`~napari_msc_morph.training.TrainConfig` the options describe.

    With ``--recipe`` the recipe's values come first and every option given
    explicitly overrides them; other settings keep TrainConfig's defaults.
    """
    from ..errors import BadInputError
    from ..training import TrainConfig

    values: dict = recipe_values(args.recipe) if args.recipe else {}
    given = given_options(args)
    if given.get("pretrained") is False and "weights" in given:
        raise BadInputError("--weights and --no-pretrained contradict each other; give weights "
                            "to start from them, or --no-pretrained to train from scratch.")
    if "task" in given and values and given["task"] != values["task"]:
        # the recipe's classes and the metric it picks epochs by belong to its own task
        values.pop("class_names", None)
        values.pop("monitor", None)
    if ("optimizer" in given and "optimizer" in values and "scheduler" not in given
            and given["optimizer"] != values["optimizer"]):
        values.pop("scheduler", None)  # another optimiser brings its own schedule and rate
        values.pop("momentum", None)
        if "lr" not in given:
            values.pop("lr", None)
    values.update(given)
    if "task" not in values:
        raise BadInputError("give --task (passage, source, osteogenic, nsc_fate) or --recipe "
                            "(see `msc-morph recipes`).")
    values["amp"] = not args.no_amp
    return TrainConfig(**values)


def run(args) -> int:
    from ..training.config import default_work_dir
    from ..training.crossval import check_cv_options, cv_dir
    from ..training.distributed import env_rank
    from ..training.run_lock import output_lock

    check_cv_options(args.cv, args.cv_keep, test_report=not args.no_report)
    main_process = env_rank() == 0  # under torchrun only rank 0 checks, writes and prints
    if main_process:
        run_folder = (("--out's cross-validation folder", cv_dir(args.out), "folder")
                      if args.cv else ("--out's run folder", default_work_dir(args.out), "folder"))
        check_outputs([("--out", args.out, "bundle"), run_folder],
                      [("manifest", args.manifest)], overwrite=args.overwrite, resume=args.resume)
    # one run per --out: a second one exits 2 instead of replacing the first one's bundle
    with output_lock(args.out, "train") if main_process else contextlib.nullcontext():
        return _run(args, main_process)


def _run(args, main_process: bool) -> int:
    from ..training import train_model
    from ..training.crossval import cross_validate
    from ..training.splits import split_counts
    from ._progress import progress_bar

    config = config_from_args(args)
    if args.cv:
        with progress_bar("train --cv") as progress:
            cv = cross_validate(args.manifest, config, args.out, args.cv, keep=args.cv_keep,
                                resume=args.resume, progress=progress, dedupe=args.dedupe)
        for line in cv.summary_lines():
            print(line)
        print(f"best fold {cv.best_fold} ({cv.monitor} {cv.best_value:.3f}) -> {cv.bundle_path}; "
              f"summary in {cv.files['summary_csv']}")
        return 0
    with progress_bar("train", quiet=not main_process) as progress:
        result = train_model(args.manifest, config, args.out, resume=args.resume,
                             test_report=not args.no_report, progress=progress,
                             dedupe=args.dedupe)
    if not main_process:
        return 0
    print(split_counts(result.split, config.split_by).to_string(), file=sys.stderr)
    if result.bundle_path is None:
        print("no epoch finished; no model was written", file=sys.stderr)
        return 1
    m = result.metrics

    def numbers(*keys):
        return ", ".join(f"{k} {m[k]:.3f}" for k in keys if isinstance(m.get(k), (int, float)))

    summary = numbers("val_accuracy", "val_within3_accuracy", "val_auc", "val_loss")
    print(f"best epoch {result.best_epoch} of {len(result.history)} ({summary}) -> {result.bundle_path}")
    if result.test_evaluation is not None:
        shown = numbers("test_accuracy", "test_within3_accuracy", "test_within5_accuracy", "test_auc")
        print(f"test split: {shown} -> {Path(result.report_files['metrics']).parent}")
    return 0


def kept(args) -> str:
    """What an interrupted ``train`` keeps (printed by the CLI on Ctrl-C)."""
    from ..training.config import default_work_dir

    return (f"the checkpoints of finished epochs are kept in {default_work_dir(args.out)} "
            f"(and the best model so far in {args.out}); continue with the same command "
            "plus --resume")

