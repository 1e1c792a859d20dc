"""Issue 24.5: the Compare tab offers scores and measurement summaries before bookkeeping."""

from __future__ import annotations

import numpy as np

from napari_msc_morph.widgets.compare_panel import RESULTS_SOURCE, ComparePanel
from napari_msc_morph.widgets.results_table import get_results_table


def test_value_box_lists_default_scores_before_bookkeeping(make_napari_viewer):
    viewer = make_napari_viewer()
    table = get_results_table(viewer)
    rng = np.random.default_rng(0)
    for i in range(6):
        layer = viewer.add_image(np.zeros((8, 8), np.uint8), name=f"f{i}")
        # bookkeeping first, as Predict writes it
        table.update_layer_row(layer, {"pixel_size_um": 0.65, "map_center_x_px": 112.0 + i,
                                       "RUNX2_threshold": 14.0, "area_um2_mean": 1500.0 + i,
                                       "area_um2_median": float(rng.uniform(1e3, 2e3)),
                                       "os_score": float(rng.random()),
                                       "condition": "induced" if i % 2 else "control"})
    panel = ComparePanel(viewer)
    panel.set_source(RESULTS_SOURCE)
    items = [panel.value_combo.itemText(i) for i in range(panel.value_combo.count())]
    first_two = set(items[:2])
    assert first_two == {"area_um2_median", "os_score"}, items
    for column in ("pixel_size_um", "map_center_x_px", "RUNX2_threshold", "area_um2_mean"):
        assert items.index(column) > 1
    assert panel.value_combo.currentText() == "os_score"
