"""Exports from the results table and the per-cell table carry their provenance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import napari_msc_morph
from napari_msc_morph.io import read_table
from napari_msc_morph.models import BundleConfig, create_backbone, save_bundle
from napari_msc_morph.models.bundle import read_bundle_config
from napari_msc_morph.synthetic import if_field
from napari_msc_morph.table_export import read_table_metadata
from napari_msc_morph.widgets.measure_widget import MeasureWidget
from napari_msc_morph.widgets.predict_widget import CONFIG_DIR_ENV, PredictWidget
from napari_msc_morph.widgets.results_table import get_results_table


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / "config"))


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_results_table_export_records_model_hash_and_settings(make_napari_viewer, qtbot,
                                                              tmp_path, suffix):
    config = BundleConfig(task="osteogenic", backbone="resnet10t", input_size=64, tiling="six")
    torch.manual_seed(0)
    bundle = save_bundle(create_backbone("resnet10t", num_classes=2), config,
                         tmp_path / "osteo.zip")
    viewer = make_napari_viewer()
    rng = np.random.default_rng(0)
    image = viewer.add_image(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8), name="field",
                             rgb=True, metadata={"pixel_size_um": 0.65})
    widget = PredictWidget(viewer)
    widget.set_selected_layers([image])
    widget.set_bundle_path(bundle)
    widget.tiling_combo.setCurrentText("center")
    widget.device_combo.setCurrentText("cpu")
    assert widget.run() is not None
    qtbot.waitUntil(lambda: not widget.busy, timeout=120000)
    table = get_results_table(viewer)
    table.update_layer_row(image, {"note": "checked", "day": 7})

    path = table.export(tmp_path / f"results{suffix}")
    on_disk = read_table(path)
    assert on_disk["layer"].tolist() == ["field"]
    assert on_disk["note"].tolist() == ["checked"]
    meta = read_table_metadata(path)
    assert meta["plugin_version"] == napari_msc_morph.__version__
    (model,) = meta["models"]
    assert model["bundle"] == "osteo.zip"
    assert model["weights_sha256"] == read_bundle_config(bundle).weights_sha256
    assert model["model_id"] == on_disk["model_id"].iloc[0]
    layer = meta["layers"]["field"]
    assert layer["pixel_size_um"] == 0.65
    assert layer["prediction"]["tiling"] == "center"
    assert layer["prediction"]["device"] == "cpu"
    assert layer["prediction"]["precision"] in ("fp32", "bf16")

    # importing the export keeps its provenance for the next export
    table.clear()
    table.import_table(path)
    again = table.export_metadata()
    assert again["imported_from"][0]["file"] == path.name
    assert again["models"][0]["weights_sha256"] == model["weights_sha256"]


def test_cell_table_export_saves_layer_features_with_measure_settings(make_napari_viewer,
                                                                      qtbot, tmp_path):
    field = if_field(size=(128, 128), n_cells=5, seed=5)
    viewer = make_napari_viewer()
    scale = (field.pixel_size_um, field.pixel_size_um)
    viewer.add_image(field.channels["RUNX2"], name="RUNX2", scale=scale)
    labels = viewer.add_labels(field.cells, name="cells", scale=scale)
    widget = MeasureWidget(viewer)
    widget.labels_combo.setCurrentText("cells")
    assert widget.run() is not None
    qtbot.waitUntil(lambda: not widget.busy and not widget.cancel_button.isEnabled(),
                    timeout=60000)
    labels.features["checked"] = True          # an edit made in napari's features table
    cells = widget.cell_table()
    for suffix in (".csv", ".parquet"):
        path = cells.export(tmp_path / f"cells{suffix}")
        on_disk = read_table(path)
        expected = labels.features.drop(columns="index").reset_index(drop=True)
        pd.testing.assert_frame_equal(on_disk, expected, check_dtype=False)
        meta = read_table_metadata(path)
        assert meta["table"] == "cells" and meta["labels_layer"] == "cells"
        assert meta["pixel_size_um"] == pytest.approx(field.pixel_size_um)
        assert meta["n_objects"] == len(expected)
        assert meta["measure"]["pixel_size_um"] == pytest.approx(field.pixel_size_um)
        assert "RUNX2" in meta["measure"]["inputs"]
        assert meta["plugin_version"] == napari_msc_morph.__version__
    assert (tmp_path / "cells.meta.json").is_file()


def test_export_buttons_write_the_chosen_format(make_napari_viewer, qtbot, tmp_path,
                                                monkeypatch):
    from qtpy.QtWidgets import QFileDialog

    from napari_msc_morph.widgets._cell_table import CellTable

    viewer = make_napari_viewer()
    image = viewer.add_image(np.zeros((8, 8)), name="field", metadata={"pixel_size_um": 0.5})
    table = get_results_table(viewer)
    table.update_layer_row(image, {"os_score": 0.4})
    labels = viewer.add_labels(np.arange(16).reshape(4, 4) % 3, name="cells")
    cells = CellTable(viewer)
    cells.set_table(labels, pd.DataFrame({"label": [1, 2], "area_px": [5.0, 6.0],
                                          "centroid_y_px": [1.0, 2.0],
                                          "centroid_x_px": [1.0, 2.0]}))
    answers = iter([(str(tmp_path / "results"), "Parquet (*.parquet)"),
                    (str(tmp_path / "cells"), "Excel (*.xlsx)")])
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: next(answers))
    table._export_clicked()            # the user typed no suffix: the filter's is added
    cells._export_dialog()
    assert read_table(tmp_path / "results.parquet")["os_score"].tolist() == [0.4]
    assert read_table_metadata(tmp_path / "results.parquet")["layers"]["field"][
        "pixel_size_um"] == 0.5
    assert read_table(tmp_path / "cells.xlsx")["area_px"].tolist() == [5.0, 6.0]
    assert read_table_metadata(tmp_path / "cells.xlsx")["labels_layer"] == "cells"
