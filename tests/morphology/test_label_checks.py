"""Labels that are not labels yet, and nuclei that do not fit their cells (issue 25)."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.draw import disk

from napari_msc_morph.errors import BadInputError
from napari_msc_morph.morphology import measure_field
from napari_msc_morph.morphology._checks import check_nuclei_in_cells, split_disconnected


def four_nuclei(value=255, dtype=np.uint8):
    mask = np.zeros((64, 64), dtype)
    for center in ((15, 15), (15, 48), (48, 15), (48, 48)):
        mask[disk(center, 7, shape=mask.shape)] = value
    return mask


def test_fiji_binary_mask_is_measured_as_its_four_nuclei_with_a_warning():
    mask = four_nuclei(255)
    result = measure_field(mask, pixel_size_um=0.5, input_names={"labels": "mask.tif"})
    assert len(result.table) == 4  # was one cell of all four nuclei' pixels
    assert result.table["area_px"].tolist() == [int((mask > 0).sum()) // 4] * 4
    warning, = result.warnings
    assert "mask.tif" in warning and "set to 255" in warning and "4 objects" in warning


def test_boolean_mask_of_separate_nuclei_gives_one_object_each():
    result = measure_field(four_nuclei(True, bool), input_names={"labels": "nuclei layer"})
    assert len(result.table) == 4
    assert "nuclei layer" in result.warnings[0]


def test_one_id_used_for_two_separate_objects_is_split_keeping_other_ids():
    labels = four_nuclei(0, np.uint16)
    labels[disk((15, 15), 7)] = 1
    labels[disk((15, 48), 7)] = 1  # painted with the same id
    labels[disk((48, 15), 7)] = 2
    labels[disk((48, 48), 7)] = 3
    result = measure_field(labels, input_names={"labels": "cells.tif"})
    assert sorted(result.table["label"]) == [1, 2, 3, 4]
    assert "3 ids" in result.warnings[0] and "4 objects" in result.warnings[0]


def test_small_fragment_stays_with_its_id_and_connected_labels_are_untouched():
    labels = four_nuclei(0, np.uint16)
    for index, center in enumerate(((15, 15), (15, 48), (48, 15), (48, 48)), start=1):
        labels[disk(center, 7)] = index
    same, note = split_disconnected(labels)
    assert same is labels and note == ""
    labels[30, 30] = 1  # a stray brush pixel: not an object
    same, note = split_disconnected(labels)
    assert same is labels and note == ""


def test_planes_of_a_stack_are_split_separately():
    stack = np.stack([four_nuclei(1, np.uint8), four_nuclei(1, np.uint8)])
    labels, note = split_disconnected(stack, "stack.tif")
    assert labels.shape == stack.shape
    assert [len(np.unique(plane)) - 1 for plane in labels] == [4, 4]
    assert "8 objects" in note


def _cells_and_nuclei(n=6):
    cells = np.zeros((60, 20 * n), np.uint16)
    nuclei = np.zeros_like(cells)
    for i in range(n):
        cells[10:50, 20 * i + 1:20 * i + 19] = i + 1
        nuclei[25:35, 20 * i + 6:20 * i + 14] = i + 1
    return cells, nuclei


def test_nuclei_inside_their_cells_pass_quietly():
    cells, nuclei = _cells_and_nuclei()
    assert check_nuclei_in_cells(cells, nuclei) == ""
    assert measure_field(cells, nuclei=nuclei).warnings == []


def test_swapped_cell_and_nuclei_labels_are_refused_naming_both_files():
    cells, nuclei = _cells_and_nuclei()
    with pytest.raises(BadInputError) as err:
        measure_field(nuclei, nuclei=cells, input_names={"labels": "n.tif", "nuclei": "c.tif"})
    for part in ("n.tif", "c.tif", "swapped", "6 of 6 nuclei are larger"):
        assert part in str(err.value)


def test_nuclei_of_another_field_are_a_warning_with_counts():
    cells, nuclei = _cells_and_nuclei()
    other = nuclei.copy()
    other[:, 60:] = 0
    other[51:59, 60:] = nuclei[25:33, 60:]  # three nuclei below the cells, as from another field
    result = measure_field(cells, nuclei=other,
                           input_names={"labels": "cells.tif", "nuclei": "other_nuclei.tif"})
    warning, = result.warnings
    for part in ("other_nuclei.tif", "cells.tif", "3 of 6 cells have no nucleus",
                 "3 of 6 nuclei lie mostly outside"):
        assert part in warning, warning


def test_input_warnings_survive_study_thresholds():
    result = measure_field(four_nuclei(255), {"RUNX2": np.ones((64, 64))})
    again = result.with_thresholds({"RUNX2": 0.5})
    assert any("set to 255" in w for w in again.warnings)


def test_huge_ids_are_split_the_same_way():
    labels = four_nuclei(0, np.uint32).astype(np.uint32)
    labels[disk((15, 15), 7)] = 3_000_000
    labels[disk((15, 48), 7)] = 3_000_000  # one huge id on two nuclei
    labels[disk((48, 15), 7)] = 5_000_000
    split, note = split_disconnected(labels, "big.tif")
    assert len(np.unique(split)) - 1 == 3 and "3 objects" in note
    assert set(np.unique(split[labels == 5_000_000])) == {5_000_000}  # untouched ids stay


def test_nuclei_check_with_huge_ids_counts_the_same():
    cells, nuclei = _cells_and_nuclei()
    assert check_nuclei_in_cells(cells.astype(np.uint32) * 1_000_000, nuclei) == ""
