"""The whole study end to end on synthetic data: ``msc-morph demo``.

Synthetic data with hidden truth, passage and osteogenic models trained on CPU (a small
ResNet-10 on downscaled fields, so it fits a laptop), evaluation on held-out donors,
OsScore prediction, IF morphometry and correlation with synthetic readouts, in one
folder with an HTML report.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .demo_report import PUBLISHED, write_html_report
from .io import write_json, write_table
from .jobs import CancelToken, ProgressFn, check_cancelled
from .jobs import report as report_progress


@dataclass(frozen=True)
class DemoSettings:
    """Sizes of the synthetic study and its models (defaults: ``benchmarks/learning_proof.py``;
    at 1/4 resolution a 96 px crop spans several cells, as 448 px do at full)."""

    n_donors: int = 8
    passage_per_class: int = 2
    osteo_per_class: int = 1
    field_size: tuple[int, int] = (972, 1296)
    downscale: int = 4
    backbone: str = "resnet10t"
    input_size: int = 96
    epochs: int = 20
    crops_per_field: int = 4
    batch_size: int = 32
    lr: float = 1e-3
    if_size: tuple[int, int] = (384, 384)
    if_cells: int = 24
    val_donors: int = 1
    test_donors: int = 2


FULL = DemoSettings()
QUICK = DemoSettings(n_donors=7, passage_per_class=1, epochs=12, if_size=(256, 256),
                     if_cells=12)
#: For tests only: seconds, not minutes.
TINY = DemoSettings(
    n_donors=4, passage_per_class=1, osteo_per_class=1, field_size=(192, 256), downscale=2,
    input_size=48, epochs=1, crops_per_field=2, batch_size=16, if_size=(160, 160), if_cells=6,
    val_donors=1, test_donors=1,
)


@dataclass
class DemoResult:
    """What :func:`run_demo` wrote and measured."""

    out: Path
    report: Path
    metrics: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)
    seconds: float = 0.0


def run_demo(
    out,
    quick: bool = False,
    settings: DemoSettings | None = None,
    seed: int = 0,
    device: str = "cpu",
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> DemoResult:
    """Run the synthetic study end to end and write ``out/report.html``.

    Parameters
    ----------
    out : path
        Output folder (created).
    quick : bool
        Smaller data and fewer epochs (about 3 minutes on 2 CPU cores instead of 10).
    settings : DemoSettings, optional
        Overrides ``quick`` (tests use :data:`TINY`).
    seed : int
        Seed for the data, the splits and the training.
    device : str
        Where to train and predict (``cpu``: results repeat).
    progress, cancel
        The package's protocol over the whole demo (:data:`STAGES`).

    Returns
    -------
    DemoResult
    """
    settings = settings or (QUICK if quick else FULL)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = _Steps(progress, cancel)
    started = time.perf_counter()
    result = DemoResult(out=out, report=out / "report.html")

    passage = _passage_study(out, settings, seed, device, report)
    osteo = _osteo_study(out, settings, seed, device, report)
    morph = _morphometry(out, osteo["held_out_samples"], settings, seed, report)
    correlation = _correlation(out, osteo["held_out_samples"], morph["summary"], seed, report)

    result.metrics = {
        "passage": passage["metrics"],
        "osteogenic": osteo["metrics"],
        "morphometry": morph["metrics"],
        "correlation": correlation["metrics"],
        "settings": asdict(settings),
        "published": PUBLISHED,
    }
    result.files = {**passage["files"], **osteo["files"], **morph["files"], **correlation["files"]}
    result.seconds = time.perf_counter() - started
    result.metrics["seconds"] = round(result.seconds, 1)
    write_json(result.metrics, out / "demo_metrics.json")
    write_html_report(result, passage, osteo, morph, correlation, settings)
    report("report", 1, 1)
    return result


#: The demo's stages with their share of the progress bar (CPU time of the quick demo).
STAGES = {
    "synthesize passage series": 4,
    "train passage": 40,
    "synthesize osteogenic time course": 4,
    "train osteogenic": 30,
    "predict OsScores": 6,
    "segment and measure IF fields": 10,
    "correlate scores with markers": 5,
    "report": 1,
}
_BAR = 1000


class _Steps:
    """Maps each stage's ``(done, total)`` onto the one progress bar; every report checks
    ``cancel``, so a cancelled demo stops within one step."""

    def __init__(self, progress: ProgressFn | None, cancel: CancelToken | None = None):
        self.progress = progress
        self.cancel = cancel
        weights = sum(STAGES.values())
        self._start, start = {}, 0
        for stage, weight in STAGES.items():
            self._start[stage] = (start * _BAR // weights, weight * _BAR // weights)
            start += weight

    def __call__(self, stage: str, done: int, total: int) -> None:
        check_cancelled(self.cancel, f"The demo was cancelled during {stage}.")
        start, span = self._start[stage]
        fraction = min(max(done / total, 0.0), 1.0) if total else 0.0
        report_progress(self.progress, start + int(span * fraction), _BAR,
                        f"{stage} ({done}/{total})")

    def sub(self, stage: str) -> ProgressFn:
        """A ``progress(done, total, message)`` for an engine call inside ``stage``."""
        return lambda done, total, message="": self(stage, done, total)


def _train_and_evaluate(name: str, manifest: pd.DataFrame, data_dir: Path, out: Path,
                        settings: DemoSettings, seed: int, device: str, report):
    """Train the ``name`` task's model and evaluate it on the test donors."""
    from .training import TrainConfig, train_model

    table = manifest.copy()
    table["path"] = [str(data_dir / p) for p in table["path"]]
    bundle = out / "models" / f"{name}.zip"
    work_dir = out / "models" / f"{name}.train"
    config = TrainConfig(
        task=name, backbone=settings.backbone, input_size=settings.input_size,
        epochs=settings.epochs, batch_size=settings.batch_size, optimizer="adam",
        lr=settings.lr,  # from scratch on a small CNN; the study's 1e-5 suits fine-tuning
        crops_per_field=settings.crops_per_field, pretrained=False, device=device, seed=seed,
        downscale=settings.downscale, split_by="donor", val=settings.val_donors,
        test=settings.test_donors, tiling="six", monitor="val_loss", early_stopping=None)
    result = train_model(table, config, bundle, work_dir=work_dir, report_dir=out / name,
                         progress=report.sub(f"train {name}"), cancel=report.cancel)
    files = {f"{name}_{k}": Path(v) for k, v in result.report_files.items()}
    return bundle, work_dir / "split.csv", result.test_evaluation, files


def _passage_study(out: Path, settings: DemoSettings, seed: int, device: str, report) -> dict:
    from .synthetic.dataset import write_dataset

    data_dir = out / "data" / "passage"
    manifest = write_dataset(
        "passage", data_dir, n_donors=settings.n_donors, per_class=settings.passage_per_class,
        size=settings.field_size, seed=seed,
        progress=lambda d, t: report("synthesize passage series", d, t),
    )
    bundle, split_csv, evaluation, files = _train_and_evaluate(
        "passage", manifest, data_dir, out, settings, seed, device, report)
    keys = ("n_images", "accuracy", "top2_accuracy", "within3_accuracy", "within5_accuracy",
            "macro_f1", "mean_abs_class_error", "ece")
    metrics = {k: evaluation.metrics[k] for k in keys if k in evaluation.metrics}
    metrics["chance_accuracy"] = 1.0 / len(evaluation.task.class_names)
    # a uniform guess of 3 adjacent classes is within 3 of the truth with chance 3 / n
    metrics["chance_within3_accuracy"] = min(3, len(evaluation.task.class_names)) / len(
        evaluation.task.class_names)
    metrics["test_donors"] = sorted(set(evaluation.predictions.get("donor", [])))
    files["passage_bundle"] = bundle
    return {"metrics": metrics, "files": files}


def _osteo_study(out: Path, settings: DemoSettings, seed: int, device: str, report) -> dict:
    from .inference import predict_images, predictions_table
    from .synthetic.dataset import write_dataset
    from .synthetic.readouts import synthetic_readouts
    from .training.data import load_manifest

    data_dir = out / "data" / "osteo"
    manifest = write_dataset(
        "osteo", data_dir, n_donors=settings.n_donors, per_class=settings.osteo_per_class,
        size=settings.field_size, seed=seed + 1,
        progress=lambda d, t: report("synthesize osteogenic time course", d, t),
    )
    bundle, split_csv, evaluation, files = _train_and_evaluate(
        "osteogenic", manifest, data_dir, out, settings, seed, device, report)
    metrics = {k: v for k, v in evaluation.metrics.items()
               if k in ("n_images", "accuracy", "auc", "auc_ci95_low", "auc_ci95_high",
                        "sensitivity", "specificity", "ece") or k.startswith("auc_day_")}
    # a per-day AUC rests on few images; the report shows how few
    per_day = evaluation.predictions.groupby("day").size()
    metrics.update({f"n_day_{int(day)}": int(n) for day, n in per_day.items()})

    # OsScore for the donors the model never trained on (validation and test): training
    # images would flatter the correlation; resolved paths join whatever --out was
    splits = load_manifest(split_csv)[["path", "donor", "day", "condition", "split"]]
    held_out = splits[splits["split"] != "train"].reset_index(drop=True)
    held_out["path"] = [str(Path(p).resolve()) for p in held_out["path"]]
    # float32, as the evaluation, so the scores repeat on any machine
    predictions = predict_images(bundle, held_out["path"].tolist(), device=device,
                                 precision="fp32", progress=report.sub("predict OsScores"),
                                 cancel=report.cancel)
    held_out["os_score"] = predictions_table(predictions)["os_score"].to_numpy()
    held_out["sample_id"] = [
        f"{d}_d{int(day)}_{c}" for d, day, c in
        zip(held_out["donor"], held_out["day"], held_out["condition"])
    ]
    truth = manifest.assign(path=[str((data_dir / p).resolve()) for p in manifest["path"]])
    held_out = held_out.merge(truth[["path", "differentiation"]], on="path", how="left")
    samples = held_out[["sample_id", "donor", "day", "condition", "differentiation", "os_score",
                        "path"]].reset_index(drop=True)
    write_table(samples, out / "osteogenic" / "held_out_os_scores.csv")
    readouts = synthetic_readouts(samples, seed=seed)
    write_table(readouts, out / "correlation" / "readouts.csv")
    files["osteogenic_bundle"] = bundle
    files["os_scores"] = out / "osteogenic" / "held_out_os_scores.csv"
    files["readouts"] = out / "correlation" / "readouts.csv"
    return {"metrics": metrics, "files": files, "held_out_samples": samples}


def _morphometry(out: Path, samples: pd.DataFrame, settings: DemoSettings, seed: int,
                 report) -> dict:
    """IF fields at each held-out sample's true differentiation, segmented and measured as
    ``msc-morph segment`` then ``measure --manifest`` would."""
    from .batch import Field, measure_fields, read_fields_manifest, segment_fields
    from .batch.morphology import FIELDS_TABLE
    from .io import write_tiff
    from .jobs import scaled
    from .synthetic import if_field

    stage = "segment and measure IF fields"
    folder = out / "morphometry"
    markers = ("RUNX2", "OSX", "OCN")
    fields, truths = [], {}
    for i, sample in enumerate(samples.itertuples()):
        report(stage, i, 5 * len(samples))  # synthesis: the first fifth of the stage
        field = if_field(size=settings.if_size, n_cells=settings.if_cells,
                         differentiation=float(sample.differentiation), seed=seed + 100 + i)
        path = folder / f"{sample.sample_id}_if.tif"
        write_tiff(field.stack(), path, pixel_size_um=field.pixel_size_um, axes="CYX",
                   channel_names=field.channel_names)
        truths[sample.sample_id] = field.truth
        fields.append(Field(sample.sample_id, {"nuclei": f"{path}:DAPI", "cells": f"{path}:actin"},
                            {name: f"{path}:{name}" for name in markers},
                            sample_id=sample.sample_id))
    progress = report.sub(stage)
    # The demo scores segmentation against the truth of every cell in its small fields,
    # clipped ones included, so it keeps the objects touching the border.
    segmented = segment_fields(fields, folder, diameter=(6, 60), exclude_border=False,
                               progress=scaled(progress, 20, 40, 100), cancel=report.cancel)
    _raise_failures(segmented.results)
    measured = read_fields_manifest(folder / FIELDS_TABLE, required=("labels",),
                                    optional=("nuclei_labels",), channels=True)
    # positive-cell thresholds pooled over all fields (never one per field); the size
    # summary counts every cell once, clipped ones included, as the truth it is scored
    # against does (a study's default, the edge correction, leaves clipped cells out)
    batch = measure_fields(measured, pool_thresholds="otsu", size_weighting="none",
                           progress=scaled(progress, 60, 40, 100), cancel=report.cancel)
    _raise_failures(batch.results)
    agreement = []
    for k, (result, _) in batch.results.succeeded():
        table, truth = result.table, truths[measured[k].name]
        agreement.append({
            "sample_id": measured[k].name,
            "true_cells": len(truth),
            "found_cells": int(len(table)),
            "true_median_area_um2": float(truth["area_um2"].median()),
            "found_median_area_um2": float(table["area_um2"].median()) if len(table) else np.nan,
        })
    summary = batch.summary.drop(columns="field")
    agreement = pd.DataFrame(agreement)
    write_table(batch.table, folder / "if_cells.csv")
    write_table(summary, folder / "if_summary.csv")
    write_table(agreement, folder / "segmentation_vs_truth.csv")
    count_error = (agreement["found_cells"] - agreement["true_cells"]).abs() / agreement["true_cells"]
    area_error = ((agreement["found_median_area_um2"] - agreement["true_median_area_um2"]).abs()
                  / agreement["true_median_area_um2"])
    metrics = {
        "n_fields": int(len(summary)),
        "median_cell_count_error": float(count_error.median()),
        "median_area_relative_error": float(area_error.median()),
    }
    return {"summary": summary, "metrics": metrics,
            "files": {"if_summary": folder / "if_summary.csv",
                      "segmentation_vs_truth": folder / "segmentation_vs_truth.csv"}}


def _raise_failures(results) -> None:
    """A demo field that fails is a bug of the demo, not a field to skip."""
    if results.failures:
        raise RuntimeError("; ".join(failure.error for failure in results.failures))


def _correlation(out: Path, samples: pd.DataFrame, if_summary: pd.DataFrame, seed: int,
                 report) -> dict:
    from .analysis import correlate_study

    report("correlate scores with markers", 0, 1)
    folder = out / "correlation"
    # measure_fields summarises area in µm as area_um2_median (the IF fields have a pixel size)
    scores = samples.merge(if_summary[["sample_id", "area_um2_median"]], on="sample_id",
                           how="left").rename(columns={"area_um2_median": "median_cell_area_um2"})
    scores = scores[["sample_id", "donor", "day", "condition", "os_score", "median_cell_area_um2"]]
    write_table(scores, folder / "sample_scores.csv")
    study = correlate_study(scores, folder / "readouts.csv", on="sample_id", method="both",
                            score_columns=["os_score", "median_cell_area_um2"], seed=seed,
                            out=folder / "correlations.csv", plots_dir=folder / "plots",
                            plot_formats=("png",), cancel=report.cancel)
    results, plots = study.results, study.plot_files
    report("correlate scores with markers", 1, 1)
    pearson = results[(results["method"] == "pearson") & (results["assay"] == "qPCR")]
    metrics = {
        f"r_{row.score}_{row.marker}": (None if pd.isna(row.r) else round(float(row.r), 3))
        for row in pearson.itertuples()
    }
    metrics["n_samples"] = int(study.samples["sample_id"].nunique())
    return {"metrics": metrics, "results": results,
            "files": {"correlations": folder / "correlations.csv",
                      "sample_scores": folder / "sample_scores.csv",
                      **{f"plot_{p.stem}": p for p in plots}}}
