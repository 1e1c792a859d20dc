"""The correlation dock's repeated-by / qPCR transform fields: one correlate_study call."""

from __future__ import annotations

import numpy as np
import pandas as pd

from napari_msc_morph.analysis import correlate_study
from napari_msc_morph.analysis.qpcr import TRANSFORMS
from napari_msc_morph.widgets.correlation_widget import CorrelationWidget
from napari_msc_morph.widgets.results_table import get_results_table


def _fill_viewer(viewer):
    """Three donors x four days, one layer each; readouts as qPCR fold changes and Ct."""
    rng = np.random.default_rng(1)
    table = get_results_table(viewer)
    rows = []
    for d, donor in enumerate(("D1", "D2", "D3")):
        for day in (0, 7, 14, 21):
            sample = f"{donor}_d{day}"
            layer = viewer.add_image(np.zeros((8, 8), dtype=np.uint8), name=sample)
            score = day / 21 + rng.normal(0, 0.05)
            table.update_layer_row(layer, {"os_score": score, "sample_id": sample,
                                           "donor": donor, "day": day, "condition": "induced"})
            for rep in (1, 2):
                rows.append({"sample_id": sample, "replicate": rep,
                             "RUNX2_qPCR": 2 ** (3 * score + d + rng.normal(0, 0.2)),
                             "GAPDH_qPCR": 18 + rng.normal(0, 0.2)})
    return table, pd.DataFrame(rows)


def test_repeated_by_and_transform_reach_the_engine(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    table, readouts = _fill_viewer(viewer)
    readouts.to_csv(tmp_path / "r.csv", index=False)
    widget = CorrelationWidget(viewer)
    items = [widget.transform_combo.itemText(i) for i in range(widget.transform_combo.count())]
    assert items[1:] == TRANSFORMS.names()
    widget.load_readouts(tmp_path / "r.csv")
    widget.method_combo.setCurrentText("pearson")
    widget.repeated_combo.setCurrentText("donor")
    widget.transform_combo.setCurrentText("log2")
    direct = correlate_study(table.to_dataframe(), tmp_path / "r.csv", method="pearson",
                             repeated_by="donor", transform="log2")
    pd.testing.assert_frame_equal(widget.compute(), direct.results)
    assert "rm_r" in [widget.table.horizontalHeaderItem(c).text()
                      for c in range(widget.table.columnCount())]
    assert "n = 12 samples" in widget.status.text()
    # none / (none) mean no transform and no grouping
    widget.repeated_combo.setCurrentText("(none)")
    widget.transform_combo.setCurrentText("none")
    assert "rm_r" not in widget.compute().columns


def test_a_missing_reference_gene_is_a_message_not_a_traceback(make_napari_viewer, qtbot,
                                                               tmp_path):
    viewer = make_napari_viewer()
    _, readouts = _fill_viewer(viewer)
    readouts.to_csv(tmp_path / "r.csv", index=False)
    widget = CorrelationWidget(viewer)
    widget.load_readouts(tmp_path / "r.csv")
    widget.transform_combo.setCurrentText("delta-ct")
    widget.reference_gene.setText("ACTB")
    widget.run_button.click()
    qtbot.waitUntil(lambda: widget.run_button.isEnabled(), timeout=20000)
    assert "--reference-gene ACTB" in widget.status.text()
    assert "GAPDH" in widget.status.text()
    assert widget.results is None
