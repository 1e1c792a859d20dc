"""Issue 24 point 4: the Results table stays tidy.

No columns of removed layers (in the view and in the export), one row per plane of
a stack with the plane's axis value (OsScore per day, not averaged over the days),
and an export sidecar whose top-level pixel size is the real one.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_msc_morph._sample_data import sample_osteo_time_course
from napari_msc_morph.inference import predict_images, prediction_rows
from napari_msc_morph.io import read_table
from napari_msc_morph.models import BundleConfig, create_backbone, save_bundle
from napari_msc_morph.synthetic import OSTEO_DAYS
from napari_msc_morph.table_export import read_table_metadata
from napari_msc_morph.widgets.predict_widget import CONFIG_DIR_ENV, PredictWidget
from napari_msc_morph.widgets.results_table import get_results_table


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / "config"))


def _image(viewer, name, **kwargs):
    return viewer.add_image(np.zeros((8, 8), dtype=np.uint8), name=name, **kwargs)


def _headers(table) -> list[str]:
    widget = table.table_widget
    return [widget.horizontalHeaderItem(c).text() for c in range(widget.columnCount())]


def test_columns_of_a_removed_layer_leave_the_view_and_the_export(make_napari_viewer,
                                                                  tmp_path):
    viewer = make_napari_viewer()
    a, b, c = _image(viewer, "a"), _image(viewer, "b"), _image(viewer, "c")
    table = get_results_table(viewer)
    table.update_layer_row(a, {"os_score": 0.4, "RUNX2_fraction_positive": 0.5})
    table.update_layer_row(b, {"os_score": 0.6, "OCN_fraction_positive": 0.2, "n_cells": 30})
    table.update_layer_row(c, {"n_cells": 12})
    assert "OCN_fraction_positive" in _headers(table)

    viewer.layers.remove(b)
    columns = list(table.to_dataframe().columns)
    assert "OCN_fraction_positive" not in columns
    assert "OCN_fraction_positive" not in _headers(table)
    # columns other rows still fill stay, and so do the four sample columns
    assert columns == ["layer", "os_score", "RUNX2_fraction_positive", "n_cells", "sample_id",
                       "donor", "day", "condition"]
    path = table.export(tmp_path / "results.csv")
    assert list(read_table(path).columns) == columns

    # dropping a row (not the layer) does the same; an emptied table has no value columns
    table.remove_layer_row(a)
    assert list(table.to_dataframe().columns) == ["layer", "n_cells", "sample_id", "donor",
                                                  "day", "condition"]
    table.remove_layer_row(c)
    assert _headers(table) == ["layer", "sample_id", "donor", "day", "condition"]


def test_an_extra_metadata_column_goes_with_the_rows_that_had_it(make_napari_viewer):
    viewer = make_napari_viewer()
    a, b = _image(viewer, "D1_P4"), _image(viewer, "other")
    table = get_results_table(viewer)
    table.update_layer_row(a, {"os_score": 0.1})
    table.update_layer_row(b, {"os_score": 0.2})
    assert table.fill_metadata_from_names("{donor}_P{passage}") == 1
    assert "passage" in table.columns()
    viewer.layers.remove(a)
    assert "passage" not in table.columns()


def test_a_stack_gives_one_row_per_plane_with_its_axis_value(make_napari_viewer, qtbot,
                                                             tmp_path):
    config = BundleConfig(task="osteogenic", backbone="resnet10t", input_size=64, tiling="center")
    torch.manual_seed(0)
    bundle = save_bundle(create_backbone("resnet10t", num_classes=2), config, tmp_path / "osteo")
    viewer = make_napari_viewer()
    data, kwargs, _ = sample_osteo_time_course(size=(96, 96))[0]  # the induced stack, 7 days
    stack = viewer.add_image(data, **kwargs)
    predict = PredictWidget(viewer)
    predict.set_selected_layers([stack])
    predict.set_bundle_path(bundle)
    predict.device_combo.setCurrentText("cpu")
    predict.run()
    qtbot.waitUntil(lambda: not predict.busy, timeout=180_000)

    table = get_results_table(viewer)
    frame = table.to_dataframe()
    assert len(frame) == len(OSTEO_DAYS) == 7
    assert frame["day"].tolist() == list(OSTEO_DAYS)          # the day, not the slider index
    assert frame["plane"].tolist() == list(range(7))
    assert set(frame["condition"]) == {"induced"} and set(frame["layer"]) == {stack.name}
    assert "n_planes" not in frame.columns                     # no averaged stack row
    # each plane's own OsScore: what the engine gives for that plane
    direct = predict_images(bundle, [data], device="cpu", pixel_size_um=kwargs["scale"][-1])
    expected = [row["os_score"] for row in prediction_rows(direct, image_column=False)]
    np.testing.assert_allclose(frame["os_score"], expected, atol=1e-5)
    assert np.ptp(expected) > 0  # the planes differ: an average would not match them

    # the export is one row per plane too
    on_disk = read_table(table.export(tmp_path / "results.csv"))
    assert on_disk["day"].tolist() == list(OSTEO_DAYS) and len(on_disk) == 7
    # the day is the plane's, not editable; a donor typed once goes to every plane
    from qtpy.QtCore import Qt

    day_item = table.table_widget.item(3, table.columns().index("day"))
    assert not day_item.flags() & Qt.ItemFlag.ItemIsEditable
    table.table_widget.item(3, table.columns().index("donor")).setText("D9")
    assert set(table.to_dataframe()["donor"]) == {"D9"} and stack.metadata["donor"] == "D9"
    # a click on a plane's row shows that plane
    table.select_row(5)
    assert viewer.dims.current_step[0] == 5
    # predicting again updates the seven rows instead of adding seven more
    predict.run()
    qtbot.waitUntil(lambda: not predict.busy, timeout=180_000)
    assert len(table.to_dataframe()) == 7


def test_measured_label_stack_gives_one_row_per_frame(make_napari_viewer, tmp_path):
    from napari_msc_morph.morphology import measure_field

    labels = np.zeros((3, 40, 40), dtype=np.int32)
    labels[0, 5:15, 5:15] = 1
    labels[0, 20:30, 20:30] = 2
    labels[2, 5:25, 5:25] = 1                     # frame 1 has no cells
    result = measure_field(labels, pixel_size_um=1.0)
    rows = result.summary_rows()
    assert [row["plane"] for row in rows] == ["0", "1", "2"]
    assert [row["n_cells"] for row in rows] == [2, 0, 1]
    assert rows[2]["area_um2_median"] == pytest.approx(400.0)   # that frame's, not a mean
    assert rows[0]["area_um2_median"] == pytest.approx(100.0)

    viewer = make_napari_viewer()
    layer = viewer.add_labels(labels, name="cells over time", axis_labels=("hour", "y", "x"),
                              scale=(12.0, 1.0, 1.0), translate=(24.0, 0.0, 0.0))
    table = get_results_table(viewer)
    table.update_layer_rows(layer, rows)
    frame = table.to_dataframe()
    assert frame["n_cells"].tolist() == [2, 0, 1]
    assert frame["hour"].tolist() == [24, 36, 48]   # the world coordinate napari shows
    # beside an image without planes the plane index stays whole (3, not 3.0)
    table.update_layer_row(viewer.add_image(np.zeros((8, 8)), name="field"), {"n_cells": 5})
    assert table.to_dataframe()["plane"].tolist() == [0, 1, 2, None]
    for suffix in (".parquet", ".xlsx"):
        on_disk = read_table(table.export(tmp_path / f"mixed{suffix}"))
        assert on_disk["plane"].tolist()[:3] == [0, 1, 2] and on_disk["plane"].isna().iloc[3]


def test_measure_dock_on_a_day_stack_gives_a_row_per_day(make_napari_viewer, qtbot):
    from napari_msc_morph.widgets.measure_widget import MeasureWidget
    from napari_msc_morph.widgets.sample_loading import AXIS_KEY

    labels = np.zeros((3, 40, 40), dtype=np.int32)
    labels[0, 5:15, 5:15] = 1
    labels[1, 5:15, 5:15], labels[1, 20:30, 20:30] = 1, 2
    labels[2, 5:25, 5:25] = 1
    viewer = make_napari_viewer()
    viewer.add_labels(labels, name="cells", axis_labels=("day", "y", "x"),
                      metadata={"pixel_size_um": 1.0, "condition": "induced",
                                AXIS_KEY: {"axis": "day", "values": [0, 7, 21]}})
    widget = MeasureWidget(viewer)
    qtbot.waitUntil(lambda: widget.labels_combo.findText("cells") >= 0, timeout=10_000)
    widget.labels_combo.setCurrentText("cells")
    assert widget.run() is not None
    qtbot.waitUntil(lambda: not widget.busy and not widget.cancel_button.isEnabled(),
                    timeout=60_000)
    qtbot.waitUntil(lambda: len(get_results_table(viewer).to_dataframe()) == 3, timeout=10_000)
    frame = get_results_table(viewer).to_dataframe()
    assert frame["day"].tolist() == [0, 7, 21]
    assert frame["n_cells"].tolist() == [1, 2, 1]
    assert frame["area_um2_median"].tolist() == pytest.approx([100.0, 100.0, 400.0])
    assert set(frame["condition"]) == {"induced"}


def test_sidecar_top_level_pixel_size_is_the_real_one(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    # no scale on the layer: the size came from the Predict dock's box (or the model)
    a = _image(viewer, "a")
    b = _image(viewer, "b", metadata={"pixel_size_um": 0.65})
    table = get_results_table(viewer)
    table.update_layer_row(a, {"os_score": 0.3, "pixel_size_um": 0.65,
                               "pixel_size_source": "user"})
    table.update_layer_row(b, {"os_score": 0.5})
    meta = read_table_metadata(table.export(tmp_path / "same.csv"))
    assert meta["pixel_size_um"] == 0.65
    assert meta["layers"]["a"]["pixel_size_um"] == 0.65      # not null further down either

    c = _image(viewer, "c", scale=(0.325, 0.325))
    table.update_layer_row(c, {"os_score": 0.7})
    d = _image(viewer, "d")                                   # size unknown
    table.update_layer_row(d, {"os_score": 0.9})
    path = table.export(tmp_path / "mixed.csv")
    meta = read_table_metadata(path)
    assert meta["pixel_size_um"] == "per row"
    assert meta["pixel_sizes_um"] == [0.325, 0.65, None]
    on_disk = read_table(path)
    assert on_disk["pixel_size_um"].tolist()[:3] == [0.65, 0.65, 0.325]
    assert np.isnan(on_disk["pixel_size_um"].iloc[3])

    table.clear()
    e = _image(viewer, "e")
    table.update_layer_row(e, {"os_score": 0.1})
    assert read_table_metadata(table.export(tmp_path / "none.csv"))["pixel_size_um"] is None
