"""Compare tab on the osteogenic time-course sample after Predict: OsScore by day, per plane."""

from __future__ import annotations

import torch
from matplotlib.backend_bases import MouseEvent

from napari_msc_morph._sample_data import sample_osteo_time_course
from napari_msc_morph.analysis.compare import compare_groups
from napari_msc_morph.models import BundleConfig, create_backbone, save_bundle
from napari_msc_morph.synthetic import OSTEO_DAYS
from napari_msc_morph.widgets.compare_panel import RESULTS_SOURCE, ComparePanel, rows_where
from napari_msc_morph.widgets.predict_widget import PredictWidget


def test_osscore_by_day_after_predict_on_the_osteo_sample(make_napari_viewer, qtbot, tmp_path):
    config = BundleConfig(task="osteogenic", backbone="resnet10t", input_size=64, tiling="center")
    torch.manual_seed(0)
    bundle = save_bundle(create_backbone("resnet10t", num_classes=2), config, tmp_path / "osteo")
    viewer = make_napari_viewer()
    for data, kwargs, _ in sample_osteo_time_course(size=(96, 96)):
        viewer.add_image(data, **kwargs)
    predict = PredictWidget(viewer)
    predict.set_selected_layers(list(viewer.layers))
    predict.set_bundle_path(bundle)
    predict.device_combo.setCurrentText("cpu")
    predict.run()
    qtbot.waitUntil(lambda: not predict.busy, timeout=180_000)

    panel = ComparePanel(viewer)
    panel.set_source(RESULTS_SOURCE)
    planes = panel.current_table()
    assert len(planes) == 2 * len(OSTEO_DAYS)  # one row per plane of each stack
    induced = planes[planes.layer == "D02_induced_days"]
    assert list(induced["day"]) == list(OSTEO_DAYS)
    assert set(planes["condition"]) == {"induced", "control"}
    assert panel.value_combo.currentText() == "os_score"
    panel.by_combo.setCurrentText("condition")
    result = panel.compute()
    direct = compare_groups(planes, "os_score", "condition")
    assert result.omnibus["p"].item() == direct.omnibus["p"].item()
    assert list(result.summary["n"]) == [len(OSTEO_DAYS)] * 2

    # only the induced stack, by day: a trend test over the days
    panel.where_edit.setText("condition=induced")
    panel.by_combo.setCurrentText("day")
    result = panel.compute()
    direct = compare_groups(rows_where(planes, "condition=induced"), "os_score", "day")
    assert result.trend["p"].item() == direct.trend["p"].item()
    assert result.groups == [str(d) for d in OSTEO_DAYS]

    # a click on a point shows its stack at that plane
    point = result.groups.index("14")
    panel.canvas.draw()
    ax = panel.canvas.figure.axes[0]
    x, y = ax.transData.transform(panel._strip.get_offsets()[point])
    MouseEvent("button_press_event", panel.canvas, x, y, button=1)._process()
    assert viewer.layers.selection.active is viewer.layers["D02_induced_days"]
    assert viewer.dims.current_step[0] == OSTEO_DAYS.index(14)
