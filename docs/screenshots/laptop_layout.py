"""Screenshots for docs/widgets/laptop.md: every dock, four at a time, in a 1280x800 window.

    xvfb-run -a python docs/screenshots/laptop_layout.py

Three arrangements, each in a fresh napari window kept at 1280 x 800 (a laptop
screen), the docks tabified on the right as napari does; one screenshot per dock
brought to the front (docs/images/laptop_<dock>.png):

- Predict, Correlation, the Results table and the report plots; the Correlation
  dock shows a study whose warnings would fill pages: one line and a Details… button;
- Segment, Fix labels, Measure and the Results table over a synthetic IF field
  (DAPI, actin, RUNX2) that the docks segmented and measured;
- Study (run over a folder of four fields), Train, the Correlation dock's Compare
  groups tab (comparing the study's fields by condition) and the Results table.

The script checks what the pictures show: the window kept its size, the canvas
kept its room, no button is narrower than its text and no form scrolls sideways.
It runs unattended (the docks' jobs are waited for, nothing asks a question).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import napari
import numpy as np
import pandas as pd
import tifffile

sys.path.insert(0, str(Path(__file__).parent))
from _common import IMAGES, save_screenshot, settle  # noqa: E402
from qtpy.QtWidgets import QAbstractButton, QApplication, QDockWidget  # noqa: E402

from napari_msc_morph.synthetic import if_field  # noqa: E402
from napari_msc_morph.widgets.report_plots import show_report_plots  # noqa: E402
from napari_msc_morph.widgets.results_table import get_results_table  # noqa: E402

LAPTOP = (1280, 800)
PLUGIN = "napari-msc-morph"
#: The canvas keeps at least this much of the 1280 px (it shrank to ~320 px).
MIN_CANVAS_PX = 420


def open_dock(viewer, name: str):
    """Open a dock from the Plugins menu's command, tabified with the others."""
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, name, tabify=True)
    return widget


def wait_for(widget, timeout_s: float = 600) -> None:
    """Let a dock's job finish (and its result handler add its layers)."""
    deadline = time.monotonic() + timeout_s
    while widget.busy and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.02)
    assert not widget.busy, f"{type(widget).__name__} still running: {widget.status.text()}"


def new_viewer():
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(*LAPTOP)
    return viewer


def scroll_to_end(*widgets) -> None:
    """Scroll the docks' forms to their end (where a result is shown)."""
    for widget in widgets:
        bar = widget.scroll.verticalScrollBar()
        bar.setValue(bar.maximum())


def shoot(viewer, docks: dict, prepare: dict | None = None) -> list[Path]:
    """Bring each dock to the front, ``prepare[name]()`` it, check it, save
    ``laptop_<name>.png``."""
    window = viewer.window._qt_window
    settle(viewer)
    written = []
    for name, widget in docks.items():
        dock = next(d for d in window.findChildren(QDockWidget)
                    if d.widget() is widget or d.widget().isAncestorOf(widget))
        dock.raise_()
        for _ in range(5):
            QApplication.processEvents()
        if name in (prepare or {}):
            prepare[name]()
            settle(viewer, reset=False)
        clipped = [b.text() for b in widget.findChildren(QAbstractButton)
                   if b.isVisible() and b.text() and b.sizeHint().width() > b.width()]
        assert not clipped, f"{name}: clipped buttons {clipped}"
        scroll = getattr(widget, "scroll", None)
        sideways = scroll.horizontalScrollBar().maximum() if hasattr(scroll, "widget") else 0
        assert not sideways, f"{name}: the form scrolls {sideways} px sideways"
        written.append(save_screenshot(viewer, f"laptop_{name}", max_width=1280))
    assert (window.width(), window.height()) == LAPTOP, window.size()
    canvas = viewer.window._qt_viewer.canvas.native.width()
    assert canvas >= MIN_CANVAS_PX, f"the canvas is {canvas} px wide"
    return written


# --------------------------------------------------- Predict, Correlation, Results, plots
def fill_results(viewer) -> pd.DataFrame:
    """Eight samples with an OsScore rising with day, and their RUNX2/OCN readouts."""
    rng = np.random.default_rng(0)
    table = get_results_table(viewer)  # docked: an undocked table is only weakly held
    readouts = []
    for donor in ("D1", "D2"):
        for day in (0, 7, 14, 21):
            sample = f"{donor}_d{day}"
            image = rng.normal(120, 20, (256, 256)).clip(0, 255).astype(np.uint8)
            layer = viewer.add_image(image, name=sample, scale=(0.65, 0.65))
            score = day / 21 + rng.normal(0, 0.05)
            table.update_layer_row(layer, {
                "os_score": score, "area_um2_median": 1500 + 800 * score + rng.normal(0, 40),
                "pixel_size_um": 0.65, "n_tiles": 4, "sample_id": sample, "donor": donor,
                "day": day})
            readouts.append({"sample_id": sample, "RUNX2_qPCR": 3 * score + rng.normal(0, .3),
                             "OCN_western": 2 * score + rng.normal(0, .3)})
    return pd.DataFrame(readouts)


def report_folder(root: Path) -> Path:
    """The documented training run's report figures (docs/images) as a report folder."""
    report = root / "report"
    report.mkdir()
    shutil.copy(IMAGES / "training_osteo_roc.png", report / "roc.png")
    shutil.copy(IMAGES / "training_osteo_reliability.png", report / "reliability.png")
    (report / "metrics.json").write_text('{"accuracy": 0.79, "auc": 0.94, "n_images": 24}')
    return report


def predict_arrangement(work: Path) -> list[Path]:
    viewer = new_viewer()
    readouts = fill_results(viewer)
    predict = open_dock(viewer, "Predict")
    correlation = open_dock(viewer, "Correlation with readouts")
    correlation.load_readouts(readouts)
    correlation.compute()
    study = correlation.study
    many = [f"gene {m + 1} (qPCR): only 3 samples had this readout, its r is uncertain"
            for m in range(60)]
    correlation._show(type(study)(**{**vars(study), "warnings": many}))
    results = get_results_table(viewer)
    plots = show_report_plots(viewer, report_folder(work))
    plots.summary.setText(plots.summary.text().replace(str(work), "…"))
    written = shoot(viewer, {"predict": predict, "correlation": correlation,
                             "results": results, "report_plots": plots})
    viewer.close()
    return written


# --------------------------------------------------- Segment, Fix labels, Measure, Results
def image_arrangement() -> list[Path]:
    viewer = new_viewer()
    field = if_field(size=(512, 512), n_cells=30, differentiation=0.7, seed=4)
    scale = (field.pixel_size_um,) * 2
    for name in ("DAPI", "actin", "RUNX2"):
        viewer.add_image(field.channels[name], name=name, scale=scale, blending="additive",
                         colormap={"DAPI": "blue", "actin": "gray", "RUNX2": "green"}[name])
    segment = open_dock(viewer, "Segment cells")
    fix = open_dock(viewer, "Fix labels")
    measure = open_dock(viewer, "Measure cells")
    open_dock(viewer, "Results table")  # the fourth dock (pictured in the first arrangement)
    segment.nuclei_combo.setCurrentText("DAPI")
    segment.cyto_combo.setCurrentText("actin")
    segment.run()
    wait_for(segment)
    settle(viewer)
    measure.refresh_layers()
    measure.labels_combo.setCurrentText("DAPI cells")
    measure.nuclei_combo.setCurrentText("DAPI nuclei")
    measure.run()
    wait_for(measure)
    written = shoot(viewer, {"segment": segment, "fix_labels": fix, "measure": measure})
    viewer.close()
    return written


# --------------------------------------------------- Study, Train, Compare groups, Results
def study_folder(root: Path) -> Path:
    """Four multichannel OME-TIFF fields: two donors, control and osteogenic."""
    folder = root / "osteo study"
    folder.mkdir()
    names = ["DAPI", "actin", "RUNX2"]
    for k, (donor, condition, d) in enumerate(
            [(donor, condition, d) for donor in ("D1", "D2")
             for condition, d in (("control", 0.15), ("osteo", 0.85))]):
        f = if_field(size=(256, 256), n_cells=10, differentiation=d, seed=k)
        tifffile.imwrite(folder / f"{donor}_{condition}_day7_1.ome.tif",
                         np.stack([f.channels[n] for n in names]),
                         metadata={"axes": "CYX", "Channel": {"Name": names},
                                   "PhysicalSizeX": f.pixel_size_um,
                                   "PhysicalSizeY": f.pixel_size_um})
    return folder


def study_arrangement(work: Path) -> list[Path]:
    from napari_msc_morph.widgets.compare_panel import FILE_SOURCE

    viewer = new_viewer()
    study = open_dock(viewer, "Study")
    train = open_dock(viewer, "Train model")
    correlation = open_dock(viewer, "Correlation with readouts")
    open_dock(viewer, "Results table")  # the fourth dock (pictured in the first arrangement)
    study.folder.setText(str(study_folder(work)))
    study.pattern.setText("{donor}_{condition}_day{day}_{field}.ome.tif")
    study.update_preview()
    study.cytoplasm.setText("actin")
    study.markers.setText("RUNX2=RUNX2")
    assert study.run() is not None, study.status.text()
    wait_for(study)
    study.open_field(1)
    compare = correlation.compare_panel
    correlation.tabs.setCurrentWidget(compare)
    compare.set_source(FILE_SOURCE)
    compare.path_edit.setText(str(study.study.out_dir / "fields.csv"))
    compare.path_edit.editingFinished.emit()  # as leaving the field does
    value = next(c for c in (compare.value_combo.itemText(i)
                             for i in range(compare.value_combo.count())) if "area" in c)
    compare.value_combo.setCurrentText(value)
    compare.by_combo.setCurrentText("condition")
    compare.compute()
    written = shoot(viewer, {"study": study, "train": train, "compare": correlation},
                    prepare={"compare": lambda: scroll_to_end(correlation, compare)})
    viewer.close()
    return written


def main() -> None:
    # the user's recently used bundles stay out of the pictures
    os.environ["NAPARI_MSC_MORPH_CONFIG_DIR"] = tempfile.mkdtemp(prefix="msc-morph-config-")
    written = []
    with tempfile.TemporaryDirectory(prefix="msc-morph-laptop-") as folder:
        work = Path(folder)
        (work / "a").mkdir()
        (work / "c").mkdir()
        written += predict_arrangement(work / "a")
        written += image_arrangement()
        written += study_arrangement(work / "c")
    print("\n".join(map(str, written)))


if __name__ == "__main__":
    main()
