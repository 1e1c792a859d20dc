"""The Study dock over a folder of RGB exports and multichannel OME-TIFFs, in a real viewer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import tifffile

from napari_msc_morph.synthetic import if_field
from napari_msc_morph.widgets.study_widget import StudyWidget


def _folder(tmp_path, rgb_exports=True):
    folder = tmp_path / "study images"
    folder.mkdir()
    for k, (donor, condition) in enumerate([("D1", "control"), ("D1", "osteo"),
                                             ("D2", "control"), ("D2", "osteo")]):
        f = if_field(size=(160, 160), n_cells=6, differentiation=0.2 + 0.6 * (k % 2), seed=k)
        name = folder / f"{donor}_{condition}_day7_1"
        # an 8-bit RGB export of the DAPI stain (blue), as microscope software writes
        if k % 2 and rgb_exports:
            rgb = np.zeros((160, 160, 3), np.uint8)
            rgb[..., 2] = (f.channels["DAPI"] / f.channels["DAPI"].max() * 255).astype(np.uint8)
            tifffile.imwrite(f"{name}.tif", rgb, photometric="rgb")
        else:
            data = np.stack([f.channels[c] for c in ("DAPI", "RUNX2")])
            tifffile.imwrite(f"{name}.ome.tif", data, metadata={
                "axes": "CYX", "Channel": {"Name": ["DAPI", "RUNX2"]}})
    return folder


def test_study_dock_runs_a_folder_into_tidy_tables(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    widget = StudyWidget(viewer)
    viewer.window.add_dock_widget(widget)
    folder = _folder(tmp_path)
    widget.folder.setText(str(folder))
    widget.pattern.setText("{donor}_{condition}_day{day}_{field}.*")  # .tif and .ome.tif
    widget.update_preview()
    assert widget.preview.text().startswith("4 file(s); D1_control_day7_1.ome.tif → donor=D1")
    widget.pixel_size.setValue(0.65)
    assert widget.run() is not None
    qtbot.waitUntil(lambda: not widget.busy and not widget.cancel_button.isEnabled(),
                    timeout=60000)
    out = folder / "msc-morph-study"
    assert widget.study is not None, widget.status.text()
    assert not widget.study.failures and widget.study.n_new == 4  # DAPI found in every file
    cells = pd.read_csv(out / "cells.csv")
    assert list(cells.columns[:5]) == ["file", "field", "donor", "condition", "day"]
    assert "area_um2" in cells.columns and cells["field"].nunique() == 4
    assert len(pd.read_csv(out / "samples.csv")) == 4
    assert widget.fields_table.rowCount() == 4
    assert widget.fields_table.horizontalHeaderItem(1).text() == "donor"

    # a marker only the OME stacks have: the RGB exports fail by name, the others are kept
    widget.markers.setText("RUNX2=RUNX2")
    assert widget.run() is not None
    qtbot.waitUntil(lambda: not widget.busy and not widget.cancel_button.isEnabled(),
                    timeout=60000)
    assert len(widget.study.failures) == 2, widget.status.text()
    assert "2 failed" in widget.status.text()
    cells = pd.read_csv(out / "cells.csv")
    assert "RUNX2_mean" in cells.columns and set(cells["condition"]) == {"control"}
    assert "RUNX2" in pd.read_csv(out / "errors.csv").to_string()
    # a field opens on double-click, once
    before = len(viewer.layers)
    widget.open_field(0)
    widget.open_field(0)
    opened = len(viewer.layers) - before
    assert opened >= 2                     # the image and its nuclei labels
    assert any(layer.name.endswith("nuclei") for layer in viewer.layers)


def test_study_dock_names_bad_settings(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    widget = StudyWidget(viewer)
    assert widget.run() is None
    assert "folder" in widget.status.text()
    widget.folder.setText(str(_folder(tmp_path)))
    widget.markers.setText("RUNX2")
    assert widget.run() is None
    assert "NAME=CHANNEL" in widget.status.text()
    for control in (widget.folder, widget.pattern, widget.sheet, widget.dna, widget.cytoplasm,
                    widget.markers, widget.pixel_size, widget.marker_threshold, widget.control,
                    widget.out):
        assert control.toolTip(), control


def _dapi_rgb(seed):
    f = if_field(size=(160, 160), n_cells=6, seed=seed)
    rgb = np.zeros((160, 160, 3), np.uint8)
    rgb[..., 2] = (f.channels["DAPI"] / f.channels["DAPI"].max() * 255).astype(np.uint8)
    return f, rgb


def test_study_dock_reads_each_pixel_size_convention_and_refuses_the_implausible(
        make_napari_viewer, qtbot, tmp_path):
    """Issue 24's study: RGB exports and an OME stack, pixel sizes written three ways, a
    150 dpi print tag (never a pixel size) and an implausible OME size (refused by name)."""
    folder = tmp_path / "hMSC DAPI"
    folder.mkdir()
    _, rgb = _dapi_rgb(1)
    tifffile.imwrite(folder / "D1_control_day7_1.tif", rgb, photometric="rgb",
                     description='<MetaData><prop MicronsPerPixel="0.8898"/></MetaData>')
    _, rgb = _dapi_rgb(2)
    tifffile.imwrite(folder / "D1_osteo_day7_1.tif", rgb, imagej=True,
                     resolution=(1 / 0.65, 1 / 0.65), metadata={"unit": "micron"})
    _, rgb = _dapi_rgb(3)
    tifffile.imwrite(folder / "D2_control_day7_1.tif", rgb, photometric="rgb",
                     resolution=(150, 150), resolutionunit="INCH")
    f, _ = _dapi_rgb(4)
    tifffile.imwrite(folder / "D2_osteo_day7_1.ome.tif",
                     np.stack([f.channels["DAPI"], f.channels["RUNX2"]]),
                     metadata={"axes": "CYX", "Channel": {"Name": ["DAPI", "RUNX2"]},
                               "PhysicalSizeX": 0.325, "PhysicalSizeY": 0.325})
    tifffile.imwrite(folder / "D3_osteo_day7_1.ome.tif", f.channels["DAPI"][None],
                     metadata={"axes": "CYX", "Channel": {"Name": ["DAPI"]},
                               "PhysicalSizeX": 169.3, "PhysicalSizeY": 169.3})
    viewer = make_napari_viewer()
    widget = StudyWidget(viewer)
    widget.folder.setText(str(folder))
    widget.pattern.setText("{donor}_{condition}_day{day}_{field}.*")
    assert widget.run() is not None
    qtbot.waitUntil(lambda: not widget.busy and not widget.cancel_button.isEnabled(),
                    timeout=60000)
    study = widget.study
    assert [f.field for f in study.failures] == ["D3_osteo_day7_1"]
    assert "169.3 µm/px" in study.failures[0].error and "outside" in study.failures[0].error
    per_field = study.fields.set_index("field")
    assert per_field.loc["D1_control_day7_1", "pixel_size_um"] == pytest.approx(0.8898)
    assert per_field.loc["D1_osteo_day7_1", "pixel_size_um"] == pytest.approx(0.65)
    assert per_field.loc["D2_osteo_day7_1", "pixel_size_um"] == pytest.approx(0.325)
    assert pd.isna(per_field.loc["D2_control_day7_1", "pixel_size_um"])  # 150 dpi: no size
    assert any("no pixel size" in w for w in study.warnings)
    out = folder / "msc-morph-study"
    cells = pd.read_csv(out / "cells.csv")
    assert list(cells.columns[:5]) == ["file", "field", "donor", "condition", "day"]
    sized = cells[cells["field"] != "D2_control_day7_1"]
    assert sized["area_um2"].notna().all() and (cells["area_px"] > 0).all()
    assert len(pd.read_csv(out / "samples.csv")) == 4
    assert "D3_osteo_day7_1" in pd.read_csv(out / "errors.csv").to_string()
    assert "1 failed" in widget.status.text()


def test_study_dock_shows_the_size_robustness_table_by_a_key(make_napari_viewer, qtbot,
                                                             tmp_path):
    viewer = make_napari_viewer()
    widget = StudyWidget(viewer)
    folder = _folder(tmp_path, rgb_exports=False)  # one bit depth: one threshold fits
    widget.folder.setText(str(folder))
    widget.pattern.setText("{donor}_{condition}_day{day}_{field}.*")
    widget.update_preview()
    keys = [widget.group_by.itemText(k) for k in range(widget.group_by.count())]
    assert keys == ["none", "donor", "condition", "day"]  # from the file names
    widget.group_by.setCurrentText("condition")
    assert widget.robustness_table.isHidden()
    assert widget.run() is not None
    qtbot.waitUntil(lambda: not widget.busy and not widget.cancel_button.isEnabled(),
                    timeout=60000)
    assert widget.study is not None and widget.study.robustness is not None, \
        widget.status.text()
    assert not widget.robustness_table.isHidden()
    assert widget.robustness_table.rowCount() == 8  # 4 thresholds x 2 groups
    header = [widget.robustness_table.horizontalHeaderItem(c).text()
              for c in range(widget.robustness_table.columnCount())]
    assert header == ["threshold", "group", "n_nuclei", "median_area_px", "ratio_to_control"]
    assert "by condition" in widget.robustness_label.text()
    written = pd.read_csv(folder / "msc-morph-study" / "threshold_robustness.csv")
    shown = [widget.robustness_table.item(r, 3).text() for r in range(8)]
    assert shown == [f"{v:.3g}" for v in written["median_area_px"]]
    assert (written["n_nuclei"] > 0).all()
    # no key: no table, and the old file goes
    widget.group_by.setCurrentText("none")
    assert widget.run() is not None
    qtbot.waitUntil(lambda: not widget.busy and not widget.cancel_button.isEnabled(),
                    timeout=60000)
    assert widget.robustness_table.isHidden()
    assert not (folder / "msc-morph-study" / "threshold_robustness.csv").exists()
