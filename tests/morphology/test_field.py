"""segment_field / measure_field: the one engine call behind CLI, docks and demo."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import tifffile
from skimage.draw import disk

from napari_msc_morph import cli
from napari_msc_morph.errors import BadInputError, Cancelled
from napari_msc_morph.io import read_image, write_tiff
from napari_msc_morph.jobs import CancelToken
from napari_msc_morph.morphology import (
    MeasureResult,
    SegmentationResult,
    measure_cells,
    measure_field,
    segment_cells,
    segment_field,
    segment_nuclei,
    summarize_cells,
)
from napari_msc_morph.synthetic import if_field


@pytest.fixture(scope="module")
def field():
    return if_field(size=(256, 256), n_cells=10, seed=7)


def border_field():
    """Three nuclei with cytoplasm; the cell of nucleus 3 reaches the right border
    although the nucleus itself does not."""
    dapi = np.full((80, 120), 50.0)
    cyto = np.full((80, 120), 10.0)
    for r, c in ((20, 20), (60, 40), (40, 100)):
        dapi[disk((r, c), 6)] = 1000
        cyto[disk((r, c), 12, shape=cyto.shape)] = 400
    cyto[30:50, 100:] = 400
    return dapi, cyto


# --------------------------------------------------------------------------- segment_field
def test_segment_field_is_segment_nuclei_then_cells(field):
    dapi, actin = field.channels["DAPI"], field.channels["actin"]
    result = segment_field(dapi, actin, diameter=(10, 60), threshold_method="li",
                           exclude_border=False)
    assert isinstance(result, SegmentationResult)
    nuclei = segment_nuclei(dapi, (10, 60), threshold_method="li")
    np.testing.assert_array_equal(result.nuclei, nuclei)
    np.testing.assert_array_equal(result.cells, segment_cells(actin, nuclei))
    assert result.counts == {"nuclei": 10, "cells": 10}
    assert result.summary().startswith("10 nuclei, 10 cells (border objects kept); nucleus diameter")
    assert result.n_border_excluded is None
    only = segment_field(dapi, diameter=(10, 60), exclude_border=False)
    assert only.cells is None and only.counts == {"nuclei": 10}


def test_exclude_border_drops_nuclei_whose_cell_touched_it():
    dapi, cyto = border_field()
    kept = segment_field(dapi, cyto, diameter=(6, 30), exclude_border=False)
    assert kept.counts == {"nuclei": 3, "cells": 3}
    cleared = segment_field(dapi, cyto, diameter=(6, 30), exclude_border=True)
    assert cleared.n_border_excluded == 1
    assert cleared.summary().startswith("2 nuclei, 2 cells, 1 touching the border excluded; ")
    default = segment_field(dapi, cyto, diameter=(6, 30))   # on by default
    np.testing.assert_array_equal(default.cells, cleared.cells)
    assert default.n_border_excluded == 1
    # nucleus 3 does not touch the border, its cell does: both go
    assert segment_nuclei(dapi, (6, 30), exclude_border=True).max() == 3
    assert cleared.counts == {"nuclei": 2, "cells": 2}
    assert cleared.nuclei[40, 100] == 0 and cleared.cells[40, 119] == 0
    assert set(np.unique(cleared.nuclei)) == set(np.unique(cleared.cells))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(cyto_image=np.zeros((10, 10))), r"cytoplasm image has shape \(10, 10\) but "
                                               r"nuclei image has \(80, 120\)"),
        (dict(diameter=(30, 10)), "0 < min <= max.*swap them"),
        (dict(diameter=(0, 10)), "0 < min <= max"),
        (dict(threshold_method="mean"), "unknown threshold method 'mean'; choose one of: otsu, li"),
        (dict(backend="stardist"), "unknown segmentation backend 'stardist'"),
    ],
)
def test_segment_field_explains_bad_input(kwargs, match):
    dapi, _ = border_field()
    with pytest.raises(BadInputError, match=match):
        segment_field(dapi, **kwargs)


def test_segment_field_names_inputs_as_the_caller_knows_them():
    with pytest.raises(BadInputError, match="layer “photo” is an RGB"):
        segment_field(np.zeros((20, 20, 3), np.uint8), input_names={"nuclei": "layer “photo”"})


def test_segment_field_progress_and_cancel():
    dapi, cyto = border_field()
    seen = []
    segment_field(dapi, cyto, diameter=(6, 30), progress=lambda *step: seen.append(step))
    assert [s[:2] for s in seen] == [(0, 2), (1, 2), (2, 2)]
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        segment_field(dapi, cyto, diameter=(6, 30), cancel=token)
    # cancelled while the nuclei are being found: the cells step never runs
    token = CancelToken()
    seen = []

    def cancel_after_first(done, total, message):
        seen.append(message)
        token.cancel()

    with pytest.raises(Cancelled):
        segment_field(dapi, cyto, diameter=(6, 30), progress=cancel_after_first, cancel=token)
    assert seen == ["nuclei"]


# --------------------------------------------------------------------------- measure_field
def test_measure_field_is_measure_cells_plus_summary(field):
    channels = {"RUNX2": field.channels["RUNX2"], "DAPI": field.channels["DAPI"]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")        # no warning: faces tell the user themselves
        result = measure_field(field.cells, channels, field.nuclei, field.pixel_size_um,
                               thresholds={"RUNX2": 1000})
    assert isinstance(result, MeasureResult) and result.pixel_size_um == field.pixel_size_um
    table = measure_cells(field.cells, channels, field.nuclei, field.pixel_size_um)
    pd.testing.assert_frame_equal(result.table, table)
    provenance = ["pixel_size_um", "pixel_size_source"]
    pd.testing.assert_frame_equal(result.summary.drop(columns=provenance),
                                  summarize_cells(table, thresholds={"RUNX2": 1000}))
    assert result.summary[provenance].values.tolist() == [[field.pixel_size_um, "given"]]
    bare = measure_field(field.cells)
    assert bare.pixel_size_um is None and "area_um2" not in bare.table
    assert bare.summary["pixel_size_source"].tolist() == ["unknown"]


def test_measure_field_explains_bad_input_naming_the_input():
    labels = np.zeros((10, 10), np.int32)
    with pytest.raises(BadInputError, match="thresholds for \\['OCN'\\] but no channel"):
        measure_field(labels, {"RUNX2": np.zeros((10, 10))}, thresholds={"OCN": 3})
    with pytest.raises(BadInputError, match="cells.tif has dtype float32"):
        measure_field(np.zeros((10, 10), np.float32), input_names={"labels": "cells.tif"})
    holey = np.zeros((10, 10))
    holey[1, 1] = np.nan
    with pytest.raises(BadInputError, match="Channel layer “OCN 2” contains 1 NaN"):
        measure_field(labels, {"OCN_2": holey},
                      input_names={"OCN_2": "Channel layer “OCN 2”"})
    with pytest.raises(BadInputError, match=r"nuclei labels \(n.tif\) have shape"):
        measure_field(labels, nuclei=np.zeros((4, 4), np.int32), input_names={"nuclei": "n.tif"})


def test_measure_field_progress_and_cancel(field):
    seen = []
    measure_field(field.cells, {"RUNX2": field.channels["RUNX2"]}, field.nuclei,
                  progress=lambda *step: seen.append(step))
    done = [d for d, _, _ in seen]
    assert done == sorted(done) and seen[-1][:2] == (100, 100) and len(seen) >= 6
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        measure_field(field.cells, cancel=token)
    token = CancelToken()
    messages = []

    def cancel_midway(done, total, message):
        messages.append(message)
        if len(messages) == 2:
            token.cancel()

    with pytest.raises(Cancelled):
        measure_field(field.cells, {"RUNX2": field.channels["RUNX2"]}, progress=cancel_midway,
                      cancel=token)
    assert len(messages) == 2


# --------------------------------------------------------------------------- the CLI face
cli_main = cli.main  # imports only the command it runs


def test_cli_segment_writes_what_segment_field_returns(field, tmp_path):
    for name in ("DAPI", "actin"):
        write_tiff(field.channels[name], tmp_path / f"{name}.tif",
                   pixel_size_um=field.pixel_size_um)
    assert cli_main(["segment", "--nuclei", str(tmp_path / "DAPI.tif"), "--cells",
                     str(tmp_path / "actin.tif"), "--diameter", "10", "60", "--exclude-border",
                     "--threshold-method", "li", "--out", str(tmp_path / "cells.tif"),
                     "--nuclei-out", str(tmp_path / "nuclei.tif")]) == 0
    expected = segment_field(field.channels["DAPI"], field.channels["actin"], diameter=(10, 60),
                             threshold_method="li", exclude_border=True)
    np.testing.assert_array_equal(read_image(tmp_path / "cells.tif").data, expected.cells)
    np.testing.assert_array_equal(read_image(tmp_path / "nuclei.tif").data, expected.nuclei)


def test_cli_measure_writes_what_measure_field_returns(field, tmp_path):
    tifffile.imwrite(tmp_path / "cells.tif", field.cells)
    tifffile.imwrite(tmp_path / "RUNX2.tif", field.channels["RUNX2"])
    assert cli_main(["measure", str(tmp_path / "cells.tif"), "--channel",
                     f"RUNX2={tmp_path / 'RUNX2.tif'}", "--pixel-size", "0.5",
                     "--out", str(tmp_path / "t.csv"), "--summary", str(tmp_path / "s.csv")]) == 0
    expected = measure_field(field.cells, {"RUNX2": field.channels["RUNX2"]}, pixel_size_um=0.5,
                             pixel_size_source="user")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "t.csv"), expected.table,
                                  check_dtype=False)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "s.csv"), expected.summary,
                                  check_dtype=False)


def test_cli_bad_threshold_names_are_one_line(field, tmp_path, capsys):
    tifffile.imwrite(tmp_path / "cells.tif", field.cells)
    assert cli_main(["measure", str(tmp_path / "cells.tif"), "--threshold", "OCN=3",
                     "--out", str(tmp_path / "t.csv")]) == 2
    assert "thresholds for ['OCN'] but no channel" in capsys.readouterr().err
    assert not (tmp_path / "t.csv").exists()


def test_an_intensity_image_given_as_labels_is_refused_naming_it():
    from napari_msc_morph.morphology import measure_field
    from napari_msc_morph.synthetic import if_field

    field = if_field(size=(128, 128), n_cells=6, seed=1)
    dapi = field.channels["DAPI"]  # uint16 intensities, not labels
    with pytest.raises(BadInputError, match=r"nuclei.tif does not look like a label image"):
        measure_field(dapi, input_names={"labels": "nuclei.tif"})
    # real labels of the same field pass
    assert len(measure_field(field.cells).table) > 0
