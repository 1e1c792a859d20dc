"""The column and feature-family registries, the segmentation registries and their faces."""

from __future__ import annotations

import argparse
import re
import warnings
from pathlib import Path

import numpy as np

from napari_msc_morph.morphology import (
    COLUMNS,
    FEATURE_FAMILIES,
    SEGMENTATION_BACKENDS,
    THRESHOLD_METHODS,
    measure_cells,
)
from napari_msc_morph.morphology.columns import columns_markdown, output_columns

DOCS = Path(__file__).resolve().parents[2] / "docs" / "morphometry.md"


def generated_block(text: str, name: str) -> str:
    match = re.search(
        rf"<!-- {name} table: generated .*? -->\n(.*?)\n<!-- end of {name} table -->", text, re.S
    )
    assert match, f"docs/morphometry.md has no generated {name} table"
    return match.group(1)


def test_docs_column_table_is_the_registry():
    text = DOCS.read_text(encoding="utf-8")
    assert generated_block(text, "columns") == columns_markdown(), (
        "docs/morphometry.md's column table differs from COLUMNS: paste "
        "napari_msc_morph.morphology.columns.columns_markdown() between the markers"
    )
    assert generated_block(text, "families") == FEATURE_FAMILIES.markdown_table()


def test_every_family_has_columns_and_every_column_a_family():
    families = {COLUMNS.get(name).family for name in COLUMNS}
    assert families == set(FEATURE_FAMILIES.names())
    assert FEATURE_FAMILIES.names() == ["size", "shape", "convex", "intensity", "linkage"]


def test_table_columns_dtypes_and_units_follow_the_registry():
    labels = np.zeros((40, 60), np.uint16)
    labels[5:15, 5:25] = 3
    labels[20:35, 30:50] = 9
    nuclei = (labels > 0).astype(np.int32) * 2
    channels = {"A": np.arange(2400, dtype=np.uint16).reshape(40, 60), "B": np.ones((40, 60))}
    for pixel_size in (None, 0.5):
        for with_nuclei in (False, True):
            expected = output_columns(["A", "B"], with_nuclei=with_nuclei,
                                      with_pixel_size=pixel_size is not None)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # no pixel size: said elsewhere
                table = measure_cells(labels, channels, nuclei if with_nuclei else None,
                                      pixel_size)
            assert list(table.columns) == [c.name for c in expected]
            for column in expected:
                want = labels.dtype if column.dtype == "labels" else np.dtype(column.dtype)
                assert table[column.name].dtype == want, column.name
    table = measure_cells(labels, pixel_size_um=0.5)
    np.testing.assert_allclose(table["perimeter_um"], table["perimeter_px"] * 0.5)
    np.testing.assert_allclose(table["convex_area_um2"], table["convex_area_px"] * 0.25)


def test_length_and_area_features_are_those_the_registry_declares():
    from napari_msc_morph.morphology.measure import AREA_FEATURES, LENGTH_FEATURES

    assert AREA_FEATURES == ("area", "convex_area", "nucleus_area")
    assert "perimeter" in LENGTH_FEATURES and "area" not in LENGTH_FEATURES


def _choices(command: str) -> dict[str, list[str]]:
    import importlib

    module = importlib.import_module(f"napari_msc_morph.commands.{command}")
    sub = module.add_parser(argparse.ArgumentParser().add_subparsers())
    return {a.dest: list(a.choices) for a in sub._actions if a.choices is not None}


def test_cli_choices_are_the_registries():
    choices = _choices("segment")
    assert choices["threshold_method"] == THRESHOLD_METHODS.names() == ["otsu", "li", "triangle", "otsu-log"]
    assert choices["backend"] == SEGMENTATION_BACKENDS.names() == ["classic", "cellpose"]
