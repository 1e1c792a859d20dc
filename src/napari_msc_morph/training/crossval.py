"""Donor-grouped K-fold cross-validation: K models, each tested on donors it never saw."""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import BadInputError
from ..io import write_json, write_table
from ..jobs import CancelToken, ProgressFn, scaled
from ..registry import Registry
from .bundle_record import update_bundle_metrics
from .config import TrainConfig, TrainResult, default_work_dir
from .data import load_manifest
from .distributed import under_torchrun
from .epoch import is_better
from .integrity import merge_duplicates
from .splits import grouped_folds, grouped_split, write_split

__all__ = ["CV_KEEP", "CrossValidation", "check_cv_options", "cross_validate", "cv_dir",
           "summarise_folds"]

logger = logging.getLogger(__name__)

#: Which bundles a cross-validation keeps (``--cv-keep``): an entry says
#: whether the folds other than the best keep theirs.
CV_KEEP: Registry = Registry("kept bundles")
CV_KEEP.add("best", False, help="only the best fold's bundle (the others keep history and report)")
CV_KEEP.add("all", True, help="every fold's bundle")
#: Report numbers that are not a fold's performance (counts, cut-offs, interval ends).
_NOT_SUMMARISED = ("n_images", "threshold", "ci95", "downscale")


def cv_dir(bundle_path) -> Path:
    """``MODEL_DIR.cv`` beside the bundle (``model.zip`` -> ``model.cv``)."""
    return default_work_dir(bundle_path, ".cv")


def check_cv_options(k, keep: str = "best", test_report: bool = True) -> None:
    """Refuse cross-validation options that cannot work (``k=None``: no cross-validation)."""
    if keep not in CV_KEEP:
        raise BadInputError(f"--cv-keep must be one of {', '.join(CV_KEEP.names())}, got "
                            f"{keep!r}.")
    if k is None:
        return
    if isinstance(k, bool) or int(k) != k or int(k) < 2:
        raise BadInputError(f"--cv needs at least 2 folds, got {k!r}; leave --cv out to train "
                            "one model on one split.")
    if not test_report:
        raise BadInputError("--cv evaluates every fold on its held-out donors; drop --no-report "
                            "(or --cv to train one model).")
    if under_torchrun():
        raise BadInputError("--cv runs its folds one after another in one process; run it "
                            "without torchrun (or train one split with torchrun).")


@dataclass
class CrossValidation:
    """What :func:`cross_validate` returns.

    Attributes
    ----------
    folds : DataFrame
        One row per fold: ``fold``, ``n_test_images``, ``test_groups``, its monitored
        validation metric and ``test_*`` numbers.
    summary : DataFrame
        ``metric``, ``mean``, ``sd`` (``ddof=1``), ``n_folds``, ``min``, ``max``.
    best_fold : int
        1-based fold whose bundle is ``bundle_path``.
    fold_bundles : dict
        Fold number -> bundle path of every bundle kept.
    files : dict
        ``folds``, ``cv_folds``, ``summary_csv``, ``summary_json``.
    """

    folds: pd.DataFrame
    summary: pd.DataFrame
    best_fold: int
    monitor: str
    best_value: float
    bundle_path: Path
    fold_bundles: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)
    results: list = field(default_factory=list)

    def summary_lines(self) -> list[str]:
        """``metric: mean ± sd (K folds)``, one line per metric."""
        return [f"{r.metric}: {r.mean:.3f} ± {r.sd:.3f} ({int(r.n_folds)} folds)"
                for r in self.summary.itertuples()]


def summarise_folds(folds: pd.DataFrame) -> pd.DataFrame:
    """Mean, sample sd (``ddof=1``), count, min and max of every numeric fold metric."""
    values = folds.drop(columns=["fold", "n_test_images", "n_test_groups", "best_epoch"],
                        errors="ignore").select_dtypes("number").replace([np.inf, -np.inf], np.nan)
    summary = values.agg(["mean", "std", "count", "min", "max"]).T.rename_axis("metric")
    summary = summary[summary["count"] > 0].rename(columns={"std": "sd", "count": "n_folds"})
    return summary.astype({"n_folds": int}).reset_index()


def fold_tables(manifest, config: TrainConfig, k: int, dedupe: bool = False):
    """``(table with a fold column, [table with a split column per fold])``."""
    table = load_manifest(manifest)
    if "split" in table.columns and (table["split"].astype(str) != "").any():
        logger.warning("--cv: the manifest's split column is ignored; every fold is split by "
                       "donor")
    table = table.drop(columns=["split"], errors="ignore")
    if dedupe:
        table, _ = merge_duplicates(table)
    by = config.split_by
    if by is not None and by not in table.columns:
        raise BadInputError(f"--cv splits by {by!r} but the manifest has no {by!r} column; add "
                            "it, or give --split-by none.")
    groups = table[by].astype(str) if by is not None else table["path"].astype(str)
    n_groups = groups.nunique()
    what = f"{by}s" if by else "images"
    if int(k) > n_groups:
        raise BadInputError(f"--cv {k} needs at least {k} {what}; the manifest has {n_groups} "
                            f"({', '.join(sorted(groups.unique())[:8])}). Use --cv {n_groups} "
                            "or fewer.")
    table["fold"] = grouped_folds(table["label"], groups, int(k), seed=config.seed)
    per_fold = []
    for f in range(int(k)):
        fold = table.drop(columns=["fold"])
        rest = (table["fold"] != f).to_numpy()
        try:
            inner = grouped_split(fold.loc[rest, "label"], groups[rest], val=config.val, test=0,
                                  seed=config.seed)
        except ValueError as err:
            raise BadInputError(
                f"--cv {k}: fold {f + 1} leaves {groups[rest].nunique()} {what} for training "
                f"and validation: {err} Use fewer folds or a smaller --val."
            ) from None
        fold["split"] = "test"
        fold.loc[rest, "split"] = inner
        per_fold.append(fold)
    return table, per_fold


def cross_validate(
    manifest,
    config: TrainConfig,
    bundle_path,
    k: int,
    keep: str = "best",
    *,
    resume: bool = False,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    on_epoch=None,
    dedupe: bool = False,
) -> CrossValidation:
    """Train ``k`` models on donor-grouped folds; summarise their held-out numbers.

    Parameters
    ----------
    manifest : path or DataFrame
        As for :func:`~.trainer.train_model` (a ``split`` column is ignored).
    config : TrainConfig
        Every fold's; ``config.val`` takes validation donors from the training folds.
    bundle_path : path
        Where the best fold's bundle goes; everything else goes to :func:`cv_dir`.
    k : int
        Number of folds, 2 .. number of donors.
    keep : {"best", "all"}
        Keep only the best fold's bundle (by the monitored validation metric), or all.
    resume : bool
        Continue each fold whose run folder holds a checkpoint.
    progress, cancel, on_epoch, dedupe
        As for :func:`~.trainer.train_model`.

    Returns
    -------
    CrossValidation
    """
    from .trainer import train_model

    check_cv_options(k, keep)
    k = int(k)
    bundle_path = Path(bundle_path)
    folder = cv_dir(bundle_path)
    table, per_fold = fold_tables(manifest, config, k, dedupe=dedupe)
    folder.mkdir(parents=True, exist_ok=True)
    files = {"folds": write_split(table.assign(fold=table["fold"] + 1), folder / "folds.csv",
                                  config.split_by, column="fold")}
    suffix = ".zip" if bundle_path.suffix.lower() == ".zip" else ""
    results: list[TrainResult] = []
    for f, fold_table in enumerate(per_fold):
        work = folder / f"fold{f + 1}.train"
        result = train_model(
            fold_table, config, folder / f"fold{f + 1}{suffix}", work_dir=work,
            resume=resume and (work / "checkpoint.safetensors").is_file(), test_report=True,
            progress=scaled(progress, f * 1000, 1000, k * 1000, f"fold {f + 1}/{k}: "),
            cancel=cancel, on_epoch=on_epoch)
        results.append(result)
        logger.info("fold %d/%d done: %s", f + 1, k, result.bundle_path)
    folds = pd.DataFrame([_fold_row(f + 1, r, config) for f, r in enumerate(results)])
    summary = summarise_folds(folds)
    best, monitor = _best_fold(results)
    kept = _keep_bundles(results, best, keep, bundle_path)
    best_value = float(results[best - 1].metrics.get(monitor, float("nan")))
    files["cv_folds"] = write_table(folds, folder / "cv_folds.csv")
    files["summary_csv"] = write_table(summary, folder / "cv_summary.csv")
    record = {"k": k, "keep": keep, "split_by": config.split_by or "image", "monitor": monitor,
              "best_fold": best, "best_value": best_value,
              "bundles": {str(n): str(p) for n, p in kept.items()},
              "folds": folds.to_dict(orient="records"),
              "summary": {r["metric"]: {"mean": r["mean"], "sd": r["sd"], "n_folds": r["n_folds"]}
                          for r in summary.to_dict(orient="records")}}
    files["summary_json"] = write_json(record, folder / "cv_summary.json")
    update_bundle_metrics(bundle_path, {"cross_validation": {
        key: record[key] for key in ("k", "best_fold", "monitor", "summary")}})
    return CrossValidation(folds=folds, summary=summary, best_fold=best, monitor=monitor,
                           best_value=best_value, bundle_path=bundle_path, fold_bundles=kept,
                           files=files, results=results)


def _fold_row(fold: int, result: TrainResult, config: TrainConfig) -> dict:
    split = result.split
    test = split[split["split"] == "test"]
    by = config.split_by if config.split_by in split.columns else "path"
    m = result.metrics
    row = {"fold": fold, "n_test_images": len(test),
           "test_groups": ";".join(sorted(test[by].astype(str).unique())),
           "best_epoch": result.best_epoch}
    monitor = m.get("monitor")
    if monitor and isinstance(m.get(monitor), (int, float)):
        row[monitor] = float(m[monitor])
    row.update({key: float(v) for key, v in m.items() if key.startswith("test_")
                and isinstance(v, (int, float)) and not isinstance(v, bool)
                and not any(part in key for part in _NOT_SUMMARISED)})
    return row


def _best_fold(results: list[TrainResult]) -> tuple[int, str]:
    """1-based best fold by the monitored validation metric (ties: the first)."""
    monitor = results[0].metrics.get("monitor", "val_loss")
    best, best_value = 1, None
    for f, result in enumerate(results, start=1):
        value = result.metrics.get(monitor)
        if is_better(monitor, None if value is None else float(value), best_value):
            best, best_value = f, float(value)
    return best, monitor


def _keep_bundles(results: list[TrainResult], best: int, keep: str, bundle_path: Path) -> dict:
    """Move the best fold's bundle to ``bundle_path``; drop or keep the others."""
    _remove(bundle_path)
    os.replace(results[best - 1].bundle_path, bundle_path)
    kept = {best: bundle_path}
    for f, result in enumerate(results, start=1):
        if f == best:
            continue
        if CV_KEEP.get(keep):
            kept[f] = result.bundle_path
        else:  # the weights and the checkpoint go; the run's history and report stay
            _remove(result.bundle_path)
            _remove(result.work_dir / "checkpoint.safetensors")
    return dict(sorted(kept.items()))


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
