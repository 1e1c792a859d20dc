"""What an evaluation report says besides the metrics: n, warnings, published figures, calibration."""

from __future__ import annotations

import math
import os

import pandas as pd

from ..io import atomic_path
from .metrics import day_label, day_order, expected_calibration_error
from .published import PUBLISHED_LABEL, published_for

__all__ = ["MIN_SAMPLES", "METRIC_LABELS", "metric_rows", "report_context", "summary_lines",
           "write_summary"]

#: A class or day with fewer held-out images than this gets a warning line.
MIN_SAMPLES = 5

#: Report labels of the metrics (order of the table).
METRIC_LABELS = {
    "accuracy": "accuracy (exact class)",
    "top2_accuracy": "top-2 accuracy",
    "top3_accuracy": "top-3 accuracy",
    "within3_accuracy": "within-3 interval accuracy (Eq. 2)",
    "within5_accuracy": "within-5 interval accuracy (Eq. 2)",
    "mean_abs_class_error": "mean absolute class error",
    "macro_f1": "macro F1",
    "auc": "ROC AUC, all days",
    "sensitivity": "sensitivity",
    "specificity": "specificity",
    "ece": "ECE (15 bins)",
}


def _counts(table: pd.DataFrame, by: str, group_column: str | None, names) -> dict:
    """``{value: {"images": n, "donors": m}}`` for each of ``names`` (shown even at 0)."""
    out = {}
    for key in names:
        rows = table[table[by] == key]
        entry = {"images": int(len(rows))}
        if group_column:
            entry["donors"] = int(rows[group_column].nunique())
        out[str(key)] = entry
    return out


def report_context(table: pd.DataFrame, config, targets, uncalibrated_probs,
                   group_column: str | None) -> dict:
    """``metrics.json`` entries beside the metrics (see the module docstring)."""
    from ..models.calibration import bundle_temperature

    labels = pd.Series([config.class_names[t] for t in targets], dtype=object)
    frame = pd.DataFrame({"label": labels})
    if group_column:
        frame[group_column] = table[group_column].astype(str).to_numpy()
    groups = {"class": _counts(frame, "label", group_column, config.class_names)}
    if "day" in table.columns and (table["day"].astype(str) != "").any():
        frame["day"] = [day_label(d) for d in table["day"]]
        known = frame[~frame["day"].isin(["nan", "", "None"])]
        groups["day"] = _counts(known, "day", group_column,
                                sorted(set(known["day"]), key=day_order))
    warnings = []
    for kind, found in groups.items():
        for name, entry in found.items():
            if entry["images"] < MIN_SAMPLES:
                warnings.append(
                    f"{kind} {name} has only {entry['images']} held-out image(s) (fewer than "
                    f"{MIN_SAMPLES}): its numbers rest on too few samples to mean much."
                )
    context: dict = {"bootstrap_by": group_column or "image", "groups": groups}
    if group_column:
        n_donors = int(frame[group_column].nunique())
        context["n_donors"] = n_donors
        if 0 < n_donors < MIN_SAMPLES:
            warnings.append(
                f"the split holds {n_donors} {group_column}(s) (fewer than {MIN_SAMPLES}): the "
                "confidence intervals resample so few donors that they are rough at best."
            )
    else:
        warnings.append("no donor column: the intervals resample images, which treats images of "
                        "one donor as independent and makes the intervals too narrow.")
    context["warnings"] = warnings
    context["temperature"] = bundle_temperature(config)
    context["calibration"] = config.calibration
    context["ece_uncalibrated"] = (expected_calibration_error(targets, uncalibrated_probs)
                                   if len(targets) else float("nan"))
    published = published_for(config.task, config.class_names, config.metrics.get("recipe"))
    context["published"] = published.to_dict() if published is not None else None
    context["label_definition"] = config.task_spec.label_definition
    return context


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _ci(metrics: dict, key: str) -> str:
    low, high = metrics.get(f"{key}_ci95_low"), metrics.get(f"{key}_ci95_high")
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return "–"
    used = (metrics.get("resamples_used") or {}).get(key)
    n_boot = metrics.get("bootstrap_resamples", 0)
    fewer = f" ({used} of {n_boot} resamples)" if used is not None and used < n_boot else ""
    return f"{low:.3f}–{high:.3f}{fewer}"


def metric_rows(metrics: dict) -> list[tuple[str, str, object, str, object]]:
    """``(key, label, yours, ci, published)`` for each metric of the report, in order."""
    published = (metrics.get("published") or {}).get("metrics", {})
    keys = [k for k in METRIC_LABELS if k in metrics]
    day_keys = sorted((k for k in metrics if k.startswith("auc_day_")
                       and not k.endswith(("_ci95_low", "_ci95_high"))),
                      key=lambda k: day_order(k[len("auc_day_"):]))
    at = keys.index("auc") + 1 if "auc" in keys else len(keys)
    keys = keys[:at] + day_keys + keys[at:]
    keys += [k for k in published if k not in keys]  # published but not measured: shown as –
    rows = []
    for key in keys:
        label = METRIC_LABELS.get(key) or f"ROC AUC, day {key[len('auc_day_'):]}"
        if key.startswith("auc_day_"):
            n = (metrics.get("groups", {}).get("day", {})
                 .get(key[len("auc_day_"):], {}).get("images"))
            label += f" ({n} images)" if n else ""
        rows.append((key, label, metrics.get(key), _ci(metrics, key), published.get(key)))
    return rows


def summary_lines(metrics: dict) -> list[str]:
    """``report.md`` as lines: the table, n per class and day, calibration, warnings."""
    unit = metrics.get("bootstrap_by", "image")
    n_boot = metrics.get("bootstrap_resamples", 0)
    lines = [f"# Evaluation of {metrics.get('model_id') or 'the model'} ({metrics.get('task')}), "
             f"split {metrics.get('split')}", ""]
    donors = f" from {metrics['n_donors']} {unit}s" if "n_donors" in metrics else ""
    lines.append(f"{metrics.get('n_images', 0)} held-out images{donors}. 95 % CI: percentile "
                 + (f"bootstrap resampling whole {unit}s ({n_boot} resamples"
                    + (", stratified by class: every resample draws as many of each class's "
                       f"{unit}s as there are" if metrics.get("bootstrap_stratified") else "")
                    + ")." if n_boot else "bootstrap not run (n_boot = 0)."))
    lines += ["", f"| metric | yours (held-out) | 95 % CI ({unit} bootstrap) | {PUBLISHED_LABEL} |",
              "|---|---|---|---|"]
    lines += [f"| {label} | {_fmt(ours)} | {ci} | {_fmt(ref)} |"
              for _, label, ours, ci, ref in metric_rows(metrics)]
    published = metrics.get("published")
    lines.append("")
    if published:
        on = published.get("evaluated_on", "test")
        lines.append(f"Published ({on} figures): {published['source']}. These are the paper's "
                     "results on its own images: context, not a like-for-like comparison.")
    else:
        lines.append("No published result matches this task.")
    if metrics.get("label_definition"):
        lines.append(f"Classes: {metrics['label_definition']}.")
    for kind, found in (metrics.get("groups") or {}).items():
        lines += ["", f"| {kind} | images | {unit}s |", "|---|---|---|"]
        lines += [f"| {name} | {e['images']} | {e.get('donors', '–')} |"
                  for name, e in found.items()]
    temperature = float(metrics.get("temperature", 1.0))
    calibration = metrics.get("calibration") or {}
    lines.append("")
    if temperature != 1.0:
        fitted = calibration.get("fitted_on", "?")
        n = calibration.get("n")
        lines.append(f"Calibration: temperature T = {temperature:.3f} (fitted on {fitted}"
                     + (f", {n} images" if n else "") + f"); ECE {_fmt(metrics.get('ece_uncalibrated'))}"
                     f" before, {_fmt(metrics.get('ece'))} after (15 bins; reliability.png).")
    else:
        lines.append(f"Calibration: none applied (T = 1); ECE {_fmt(metrics.get('ece'))} "
                     "(15 bins; reliability.png)."
                     + (f" Temperature scaling {calibration['note']}." if "note" in calibration
                        else ""))
    warnings = metrics.get("warnings") or []
    if warnings:
        lines += ["", "## Warnings", ""] + [f"- warning: {w}" for w in warnings]
    return lines


def write_summary(metrics: dict, path: str | os.PathLike):
    """Write :func:`summary_lines` to ``path`` atomically; return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(summary_lines(metrics)) + "\n", encoding="utf-8")
    return path

