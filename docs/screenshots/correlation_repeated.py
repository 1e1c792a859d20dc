"""Screenshot for docs/osteogenic-study.md: the Correlation dock with repeated measures.

    xvfb-run -a python docs/screenshots/correlation_repeated.py

Three donors x days 0-21 x induced/control as image layers in the Results table;
the OsScore column is the synthetic ground-truth differentiation plus noise
(standing in for a trained model), the readouts are synthetic qPCR Ct values with
GAPDH (:func:`napari_msc_morph.synthetic.readouts.synthetic_ct_readouts`). The dock
correlates with *Repeated by* donor and the *delta-ct* transform against GAPDH and
the control samples.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import napari
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _common import save_screenshot  # noqa: E402
from qtpy.QtCore import Qt  # noqa: E402
from qtpy.QtWidgets import QApplication  # noqa: E402

from napari_msc_morph.synthetic import make_donor, osteo_field  # noqa: E402
from napari_msc_morph.synthetic.readouts import synthetic_ct_readouts  # noqa: E402
from napari_msc_morph.widgets.correlation_widget import CorrelationWidget  # noqa: E402
from napari_msc_morph.widgets.results_table import get_results_table  # noqa: E402

DONORS = ("D1", "D2", "D3")
DAYS = (0, 7, 14, 21)
CONDITIONS = ("induced", "control")


def main() -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1500, 950)
    table = get_results_table(viewer, show=False)
    samples = []
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
                samples.append({"sample_id": name, "differentiation": truth, "donor": donor,
                                "day": day, "condition": condition})
    viewer.layers[-1].visible = True
    readouts = synthetic_ct_readouts(pd.DataFrame(samples), seed=1)
    with tempfile.TemporaryDirectory(prefix="msc-morph-shot-") as folder:
        path = Path(folder) / "qpcr_ct.csv"
        readouts.to_csv(path, index=False)
        widget = CorrelationWidget(viewer)
        viewer.window.add_dock_widget(widget, name="Correlation with readouts", area="right")
        viewer.window._qt_window.resizeDocks(
            [viewer.window._wrapped_dock_widgets["Correlation with readouts"]], [800],
            Qt.Orientation.Horizontal)
        widget.load_readouts(path)
        widget.method_combo.setCurrentText("pearson")
        widget.repeated_combo.setCurrentText("donor")
        widget.transform_combo.setCurrentText("delta-ct")
        widget.reference_gene.setText("GAPDH")
        widget.control.setText("control")
        results = widget.compute()
    print(results[["marker", "n", "r", "rm_r", "rm_p", "lmm_slope", "lmm_p"]].round(3)
          .to_string(index=False))
    widget.tabs.setCurrentIndex(0)
    viewer.reset_view()
    for _ in range(5):
        QApplication.processEvents()
    shot = save_screenshot(viewer, "correlation_repeated", max_width=1300)
    Image.open(shot).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(shot, optimize=True)
    print(shot)
    viewer.close()


if __name__ == "__main__":
    main()
