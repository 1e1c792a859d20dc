"""Screenshots for docs/results-and-correlation.md, from a real viewer under Xvfb.

    xvfb-run -a python docs/screenshots/results_and_correlation.py

A synthetic osteogenic time course (2 donors x days 0-21 x induced/control) is
opened as image layers. The OsScore column is the synthetic ground-truth
differentiation plus noise, standing in for a trained model's prediction (no
weights ship with the package); the readouts are the synthetic qPCR/western
values of :mod:`napari_msc_morph.synthetic.readouts`, computed from the same
hidden truth and never from the pictures.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import napari
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _common import IMAGES, save_screenshot  # noqa: E402
from qtpy.QtCore import Qt  # noqa: E402
from qtpy.QtWidgets import QApplication  # noqa: E402

from napari_msc_morph.analysis.plots import save_figure  # noqa: E402
from napari_msc_morph.synthetic import make_donor, osteo_field  # noqa: E402
from napari_msc_morph.synthetic.readouts import synthetic_readouts  # noqa: E402
from napari_msc_morph.widgets.correlation_widget import CorrelationWidget  # noqa: E402
from napari_msc_morph.widgets.results_table import get_results_table  # noqa: E402

DONORS = ("D1", "D2")
DAYS = (0, 7, 14, 21)
CONDITIONS = ("induced", "control")


def _dock(viewer, name):
    return viewer.window._wrapped_dock_widgets[name]


def _shot(viewer, name: str) -> Path:
    """Screenshot after Qt has laid out the docks, as a 256-colour PNG (docs stay small)."""
    from PIL import Image

    for _ in range(5):
        QApplication.processEvents()
    path = save_screenshot(viewer, name, max_width=1300)
    Image.open(path).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(path, optimize=True)
    return path


def main() -> None:
    rng = np.random.default_rng(0)
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1500, 950)
    table = get_results_table(viewer)
    samples = []
    for donor in DONORS:
        for condition in CONDITIONS:
            for day in DAYS:
                name = f"{donor}_{condition}_d{day}"
                field = osteo_field(day, induced=condition == "induced", donor=make_donor(donor),
                                    size=(256, 256), seed=day)
                layer = viewer.add_image(field.image, name=name,
                                         scale=(field.pixel_size_um,) * 2,
                                         metadata={"sample_id": name})
                truth = field.truth
                table.update_layer_row(layer, {
                    "osscore": float(np.clip(truth["differentiation"] + rng.normal(0, 0.06), 0, 1)),
                    "cell_count": int(truth["n_cells"]),
                    "mean_cell_area_um2": float(truth["mean_cell_area_um2"]),
                })
                samples.append({"sample_id": name, "differentiation": truth["differentiation"],
                                "day": day, "condition": condition, "donor": donor})
    # donor, condition and day come from the layer names
    table.fill_metadata_from_names("{donor}_{condition}_d{day}")
    for layer in viewer.layers:
        layer.visible = False
    shown = viewer.layers["D1_induced_d14"]
    shown.visible = True
    viewer.layers.selection.active = shown
    window = viewer.window._qt_window
    window.resizeDocks([_dock(viewer, "Results table (MSC Morph)")], [720], Qt.Orientation.Horizontal)
    viewer.reset_view()
    print(_shot(viewer, "results_table"))

    readouts = synthetic_readouts(pd.DataFrame(samples), seed=1)
    with tempfile.TemporaryDirectory(prefix="msc-morph-demo-") as folder:
        path = Path(folder) / "osteo_readouts.csv"
        readouts.drop(columns=["day", "condition", "donor"]).to_csv(path, index=False)
        widget = CorrelationWidget(viewer)
        viewer.window.add_dock_widget(widget, name="Correlation with readouts", area="right")
        _dock(viewer, "Results table (MSC Morph)").hide()
        window.resizeDocks([_dock(viewer, "Correlation with readouts")], [760],
                           Qt.Orientation.Horizontal)
        widget.load_readouts(path)
        widget.method_combo.setCurrentText("both")
        results = widget.compute()
    print(results[results.score == "osscore"].round(3).to_string(index=False))

    # a click on the D2 induced day-21 point selects that sample's layer
    widget.tabs.setCurrentIndex(0)
    widget.select_samples([("D2_induced_d21",)])
    viewer.layers["D1_induced_d14"].visible = False
    viewer.reset_view()
    print(_shot(viewer, "correlation_scatter"))

    widget.tabs.setCurrentIndex(2)
    print(_shot(viewer, "correlation_time_course"))

    # the engine's figures as the CLI writes them (PNG here; SVG too on request)
    print(save_figure(widget.heatmap_canvas.figure, IMAGES / "correlation_heatmap",
                      formats=("png",), dpi=110))
    viewer.close()


if __name__ == "__main__":
    main()
