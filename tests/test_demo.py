"""`msc-morph demo --quick` end to end (on tiny settings), and `--open`'s viewer."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from napari_msc_morph import cli, demo


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory):
    # as the README gives it: a relative --out, from the folder the user is in
    workdir = tmp_path_factory.mktemp("demo-cwd")
    patch = pytest.MonkeyPatch()
    patch.setattr(demo, "QUICK", demo.TINY)  # --quick, shrunk to test size
    patch.chdir(workdir)
    try:
        assert cli.main(["demo", "--quick", "--out", "msc-demo"]) == 0
    finally:
        patch.undo()
    return workdir / "msc-demo"


def test_relative_out_joins_every_held_out_image_to_its_truth(demo_folder):
    scores = pd.read_csv(demo_folder / "osteogenic" / "held_out_os_scores.csv")
    assert len(scores) > 0
    assert scores[["os_score", "differentiation"]].notna().all().all()
    # split.csv names images relative to its own folder, so the run can be moved
    split = pd.read_csv(demo_folder / "models" / "osteogenic.train" / "split.csv")
    assert not any(p.startswith("/") for p in split["path"])
    assert all((demo_folder / "models" / "osteogenic.train" / p).is_file() for p in split["path"])


def test_demo_reports_one_progress_shape_and_cancels(tmp_path):
    from napari_msc_morph.errors import Cancelled
    from napari_msc_morph.jobs import CancelToken

    token, seen = CancelToken(), []

    def progress(done, total, message):
        seen.append((done, total, message))
        if "train passage" in message:
            token.cancel()  # the first training step: stop there

    with pytest.raises(Cancelled, match="[Cc]ancelled"):
        demo.run_demo(tmp_path / "out", settings=demo.TINY, progress=progress, cancel=token)
    assert all(total == seen[0][1] for _, total, _ in seen)
    assert [d for d, _, _ in seen] == sorted(d for d, _, _ in seen)
    assert not (tmp_path / "out" / "report.html").exists()


def test_demo_writes_report_and_files(demo_folder):
    report = (demo_folder / "report.html").read_text()
    metrics = json.loads((demo_folder / "demo_metrics.json").read_text())
    for name in ("passage/metrics.json", "passage/predictions.csv", "passage/confusion_matrix.png",
                 "osteogenic/roc.png", "osteogenic/held_out_os_scores.csv",
                 "morphometry/if_summary.csv", "correlation/correlations.csv",
                 "correlation/readouts.csv", "correlation/plots/heatmap_pearson.png",
                 "models/passage.zip", "models/osteogenic.zip"):
        assert (demo_folder / name).exists(), name
    # every image the report shows exists beside it
    for src in re.findall(r'<img src="([^"]+)"', report):
        assert (demo_folder / src).exists(), src
    # the report shows the measured numbers and the published *test* ones as context
    assert f"{metrics['passage']['accuracy']:.3f}" in report
    assert f"{metrics['osteogenic']['auc']:.3f}" in report
    assert "published (the paper&#x27;s result on its own data)" in report
    assert "0.567" in report and "0.910" in report  # test strains, not validation figures
    assert "0.857" not in report and "0.919" not in report and "0.995" not in report
    assert "0.940" in report and "0.980" in report
    # every number with its donor-bootstrap interval
    osteo = json.loads((demo_folder / "osteogenic" / "metrics.json").read_text())
    assert f"{osteo['auc_ci95_low']:.3f}–{osteo['auc_ci95_high']:.3f}" in report
    assert osteo["bootstrap_by"] == "donor"


def test_demo_numbers_are_consistent_and_honest(demo_folder):
    metrics = json.loads((demo_folder / "demo_metrics.json").read_text())
    passage = pd.read_csv(demo_folder / "passage" / "predictions.csv")
    split = pd.read_csv(demo_folder / "models" / "passage.train" / "split.csv")
    train_donors = set(split.loc[split["split"] == "train", "donor"])
    # evaluated on held-out donors only
    assert set(passage["donor"]).isdisjoint(train_donors)
    assert metrics["passage"]["accuracy"] == pytest.approx(
        (passage["label"] == passage["predicted"]).mean())
    assert 0.0 <= metrics["passage"]["within3_accuracy"] <= 1.0
    # correlations use only samples from donors the osteogenic model never trained on
    scores = pd.read_csv(demo_folder / "correlation" / "sample_scores.csv")
    osteo_split = pd.read_csv(demo_folder / "models" / "osteogenic.train" / "split.csv")
    osteo_train = set(osteo_split.loc[osteo_split["split"] == "train", "donor"])
    assert set(scores["donor"]).isdisjoint(osteo_train)
    assert scores["os_score"].between(0, 1).all()
    corr = pd.read_csv(demo_folder / "correlation" / "correlations.csv")
    assert set(corr["marker"]) == {"RUNX2", "OSX", "OCN"}
    assert list(corr.columns[:10]) == ["score", "marker", "assay", "method", "n", "r", "ci_low",
                                       "ci_high", "p", "q"]
    # the IF morphometry finds the synthetic cells and their size tracks the truth
    agreement = pd.read_csv(demo_folder / "morphometry" / "segmentation_vs_truth.csv")
    assert metrics["morphometry"]["median_cell_count_error"] < 0.25
    r = np.corrcoef(agreement["true_median_area_um2"], agreement["found_median_area_um2"])[0, 1]
    assert r > 0.8
    # cell size (from segmentation) must track the hidden differentiation, hence OCN
    area_ocn = corr[(corr["score"] == "median_cell_area_um2") & (corr["marker"] == "OCN")
                    & (corr["assay"] == "qPCR") & (corr["method"] == "spearman")]
    assert float(area_ocn["r"].iloc[0]) > 0.5


def test_demo_opens_in_napari_with_results(demo_folder, make_napari_viewer, qtbot):
    from napari.layers import Image, Labels

    from napari_msc_morph.widgets.demo_viewer import open_demo
    from napari_msc_morph.widgets.results_table import get_results_table

    viewer = make_napari_viewer()
    open_demo(demo_folder, viewer=viewer)
    table = get_results_table(viewer)

    def predicted_all():
        frame = table.to_dataframe()
        return "os_score" in frame and frame["os_score"].notna().sum() >= 4

    qtbot.waitUntil(predicted_all, timeout=120_000)
    maps = [layer for layer in viewer.layers
            if isinstance(layer, Image) and layer.metadata.get("msc_morph_score_map")]
    assert maps, "no OsScore map layers were added"
    cells = viewer.layers["cells"]
    assert isinstance(cells, Labels)
    qtbot.waitUntil(lambda: "area_um2" in cells.features.columns, timeout=60_000)
    assert len(cells.features) == len(np.unique(cells.data)) - 1
    # one labelled colour bar for the OsScore, however many maps there are
    assert sum(layer.colorbar.visible for layer in maps) == 1
    legend = viewer.canvas.overlays["msc_morph_legend_os_score"]
    assert legend.visible
    assert legend.text.replace("\n", " ").startswith("os_score: Osteogenic Score, 0\u20131")
    # arranged by experiment: bright-field images in a row above the IF field, apart
    if_top = np.asarray(cells.extent.world)[0, -2]
    bright = [layer for layer in viewer.layers if "sample_id" in layer.metadata]
    boxes = sorted(np.asarray(layer.extent.world)[:, -2:].tolist() for layer in bright)
    assert len(boxes) >= 2 and all(box[1][0] <= if_top for box in boxes)
    assert all(left[1][1] <= right[0][1] for left, right in zip(boxes, boxes[1:]))
