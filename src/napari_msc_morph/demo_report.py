"""The demo's HTML report: measured numbers beside the published ones, with the plots."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from .training.published import PUBLISHED as _PUBLISHED
from .training.published import PUBLISHED_LABEL

#: Published *test* figures the report shows beside the demo's (from the one registry,
#: :data:`napari_msc_morph.training.published.PUBLISHED`).
PUBLISHED = {
    "passage": _PUBLISHED.get("passage-resnext").to_dict(),
    "osteogenic": _PUBLISHED.get("osteonet").to_dict(),
}


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value))


def _evaluation(files: dict, name: str, fallback: dict) -> dict:
    """The study's full ``metrics.json`` (CIs, n per group, warnings); ``fallback`` if absent."""
    path = files.get(f"{name}_metrics")
    if path and Path(path).is_file():
        return json.loads(Path(path).read_text(encoding="utf-8"))
    return fallback


def _study_table(metrics: dict, extra=()) -> str:
    """The metrics table: this demo's value, its 95 % CI and the published figure."""
    from .training.report import metric_rows

    rows = [(label, ours, ci, ref) for _, label, ours, ci, ref in metric_rows(metrics)]
    rows += [*extra, ("test images", metrics.get("n_images"), "", None)]
    body = "".join(f"<tr><td>{html.escape(name)}</td><td>{_fmt(ours)}</td><td>{html.escape(ci)}</td>"
                   f"<td>{_fmt(ref)}</td></tr>" for name, ours, ci, ref in rows)
    return ("<table><tr><th>metric</th><th>this demo (held-out donors)</th>"
            "<th>95 % CI (donor bootstrap)</th>"
            f"<th>{html.escape(PUBLISHED_LABEL)}</th></tr>{body}</table>")


def _notes(metrics: dict) -> str:
    """Calibration line and the report's warnings (few samples per class/day, few donors)."""
    temperature = float(metrics.get("temperature", 1.0))
    text = (f"Calibration: temperature T = {temperature:.2f} fitted on the validation donors; "
            f"ECE {_fmt(metrics.get('ece_uncalibrated'))} before, {_fmt(metrics.get('ece'))} "
            "after." if temperature != 1.0 else "Calibration: none (T = 1).")
    note = (metrics.get("calibration") or {}).get("note")
    text = html.escape(text + (f" Temperature scaling {note}." if note else ""))
    items = "".join(f"<li>warning: {html.escape(w)}</li>" for w in metrics.get("warnings", []))
    return f'<p class="note">{text}</p>' + (f'<ul class="note">{items}</ul>' if items else "")


def _img(path: Path, out: Path, alt: str) -> str:
    if not path or not Path(path).exists():
        return ""
    rel = Path(path).relative_to(out).as_posix()
    return (f'<figure><img src="{html.escape(rel)}" alt="{html.escape(alt)}">'
            f'<figcaption>{html.escape(alt)}</figcaption></figure>')


def write_html_report(result, passage, osteo, morph, correlation, settings) -> None:
    """Write ``result.out/report.html``: the demo's numbers beside the published ones."""
    from .io import atomic_path

    out = result.out
    pm = _evaluation(result.files, "passage", passage["metrics"])
    om = _evaluation(result.files, "osteogenic", osteo["metrics"])
    passage_table = _study_table(pm, [
        ("chance (exact)", passage["metrics"].get("chance_accuracy"), "", None),
        ("chance (within 3)", passage["metrics"].get("chance_within3_accuracy"), "", None),
    ])
    osteo_rows = _study_table(om)
    corr = correlation["results"]
    corr_html = corr[["score", "marker", "assay", "method", "n", "r", "ci_low", "ci_high", "p", "q"]] \
        .to_html(index=False, float_format=lambda v: f"{v:.3g}", border=0)
    mm = morph["metrics"]
    files = "".join(
        f'<li><a href="{html.escape(Path(p).relative_to(out).as_posix())}">'
        f"{html.escape(Path(p).relative_to(out).as_posix())}</a></li>"
        for p in sorted({Path(p) for p in result.files.values()}) if Path(p).exists()
    )
    plots = result.files
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>napari-msc-morph demo report</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1em; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 0.25em 0.8em; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }}
figure {{ display: inline-block; margin: 0.5em; }} img {{ max-width: 480px; }}
.note {{ color: #555; font-size: 0.95em; }}
</style></head><body>
<h1>napari-msc-morph demo: a synthetic MSC study end to end</h1>
<p>Ran in {result.seconds / 60:.1f} minutes on the CPU. Synthetic data from
{settings.n_donors} donors; models trained on {settings.n_donors - settings.val_donors - settings.test_donors}
donors, validated on {settings.val_donors} and tested on {settings.test_donors} donors they never saw
(donor-grouped split). Backbone {html.escape(settings.backbone)}, {settings.input_size} px crops of fields
read at 1/{settings.downscale} resolution, {settings.epochs} epochs, six-region averaging at test time.</p>
<p class="note">The published numbers are the papers' <em>test</em> results: the passage study's
ResNeXt trained on 1,286 real images and tested on 454 images of 2 strains it never saw, and
OsteoNet's AUC on an independent test set whose size and donor separation the abstract does not
give. They are the papers' results on their own data, context rather than a like-for-like
comparison. Every demo number carries a 95 %
interval from a bootstrap that resamples whole donors, so with few test donors the intervals are
wide. The synthetic classes differ by cell morphology only, as in the real cultures.</p>

<h2>1. Passage (senescence) from bright-field</h2>
{passage_table}
{_notes(pm)}
{_img(plots.get("passage_confusion_matrix"), out, "Passage confusion matrix (test donors)")}
{_img(plots.get("passage_learning_curves"), out, "Passage learning curves")}

<h2>2. Osteogenic differentiation (OsScore)</h2>
<p class="note">Control vs osteogenically induced, OsScore = P(induced): this tool's definition
(the OsteoNet abstract names an Osteogenic Score without defining its classes or formula).</p>
{osteo_rows}
{_notes(om)}
{_img(plots.get("osteogenic_roc"), out, "ROC, induced vs control (test donors)")}
{_img(plots.get("osteogenic_reliability"), out, "Reliability before and after calibration")}

<h2>3. Morphometry of immunofluorescence fields</h2>
<p>One IF field per held-out sample, drawn at that sample's true differentiation level; nuclei and
cells segmented (distance-transform declumping, seeded watershed), then measured in µm².
Median error in cell count against the synthetic truth: {_fmt(mm.get("median_cell_count_error"))};
median relative error of the median cell area: {_fmt(mm.get("median_area_relative_error"))}.</p>

<h2>4. Image scores against RUNX2, OSX and OCN</h2>
<p>Synthetic qPCR and western-blot readouts computed from each sample's hidden differentiation
(never from the images), three replicates each, correlated with the OsScore and the median cell
area of the {correlation["metrics"]["n_samples"]} samples from donors the models never trained on
(validation and test donors; the validation donor only chose the best epoch).
q: Benjamini-Hochberg across all pairs.</p>
{corr_html}
{_img(plots.get("plot_heatmap_pearson"), out, "Pearson r, scores x markers")}
{_img(plots.get("plot_scatter_os_score_pearson"), out, "OsScore vs markers")}
{_img(plots.get("plot_time_course"), out, "Time course, mean ± SD per condition")}

<h2>Files</h2><ul>{files}</ul>
<h2>Bring your own data</h2>
<p>See <code>docs/byod.md</code>: a manifest CSV with <code>path,label,donor</code>, images with their
pixel size, and readouts with <code>sample_id, marker, assay, value</code>. Then
<code>msc-morph train</code>, <code>msc-morph evaluate</code>, <code>msc-morph predict</code>,
<code>msc-morph correlate</code>, or the same steps in napari.</p>
</body></html>
"""
    with atomic_path(result.report) as tmp:
        tmp.write_text(body, encoding="utf-8")
