"""Screenshot for docs/results-and-correlation.md: the "Compare groups" tab.

    xvfb-run -a -s "-screen 0 1600x1200x24" python docs/screenshots/compare_groups.py

Three donors x days 0-21 x induced/control as image layers in the Results table;
the OsScore column is the synthetic ground-truth differentiation plus noise
(standing in for a trained model, as in correlation_repeated.py). The Correlation
dock's "Compare groups" tab tests OsScore by day on the induced rows, paired by
donor (Friedman + Page's trend test), and shows the box + strip plot.
"""

from __future__ import annotations

import sys
from pathlib import Path

import napari
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import save_screenshot  # noqa: E402
from qtpy.QtCore import Qt  # noqa: E402
from qtpy.QtWidgets import QApplication  # noqa: E402

from napari_msc_morph.synthetic import make_donor, osteo_field  # noqa: E402
from napari_msc_morph.widgets.compare_panel import RESULTS_SOURCE  # noqa: E402
from napari_msc_morph.widgets.correlation_widget import CorrelationWidget  # noqa: E402
from napari_msc_morph.widgets.results_table import get_results_table  # noqa: E402

DONORS = ("D1", "D2", "D3")
DAYS = (0, 7, 14, 21)
CONDITIONS = ("induced", "control")
DOCK = "Correlation with readouts"


def main() -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1500, 950)
    table = get_results_table(viewer, show=False)
    for donor in DONORS:
        for condition in CONDITIONS:
            for day in DAYS:
                name = f"{donor}_{condition}_d{day}"
                field = osteo_field(day, induced=condition == "induced", donor=make_donor(donor),
                                    size=(128, 128), seed=day)
                layer = viewer.add_image(field.image, name=name, visible=False,
                                         scale=(field.pixel_size_um,) * 2)
                truth = field.truth["differentiation"]
                table.update_layer_row(layer, {
                    "os_score": float(np.clip(truth + rng.normal(0, 0.06), 0, 1)),
                    "sample_id": name, "donor": donor, "day": day, "condition": condition})
    widget = CorrelationWidget(viewer)
    viewer.window.add_dock_widget(widget, name=DOCK, area="right")
    viewer.window._qt_window.resizeDocks([viewer.window._wrapped_dock_widgets[DOCK]], [800],
                                         Qt.Orientation.Horizontal)
    panel = widget.compare_panel
    widget.tabs.setCurrentWidget(panel)
    panel.set_source(RESULTS_SOURCE)
    panel.value_combo.setCurrentText("os_score")
    panel.by_combo.setCurrentText("day")
    panel.paired_combo.setCurrentText("donor")
    panel.where_edit.setText("condition=induced")
    result = panel.compute()
    print(result.text())
    # a click on the D2 day-14 point would do the same: select that sample's image layer
    viewer.layers["D2_induced_d14"].visible = True
    viewer.layers.selection.active = viewer.layers["D2_induced_d14"]
    viewer.reset_view()
    for _ in range(5):
        QApplication.processEvents()
    # the dock scrolls (it fits a laptop screen): show its plot, as a user scrolling down
    from qtpy.QtWidgets import QScrollArea

    for area in widget.findChildren(QScrollArea) + widget.parent().findChildren(QScrollArea):
        area.verticalScrollBar().setValue(area.verticalScrollBar().maximum())
    shot = save_screenshot(viewer, "compare_groups", max_width=1300)
    Image.open(shot).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(shot, optimize=True)
    print(shot)
    viewer.close()


if __name__ == "__main__":
    main()
