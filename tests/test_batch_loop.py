"""The one per-item loop: what a collecting batch records and what ends it."""

from __future__ import annotations

import pytest

from napari_msc_morph.batch import run_fields
from napari_msc_morph.errors import BadInputError


def _task(item):
    if item == "bad":
        raise BadInputError("bad.tif: not an image")
    if item == "bug":
        raise KeyError("a bug in the task")
    return item.upper()


def test_a_collecting_batch_records_user_errors_and_goes_on():
    results = run_fields(_task, ["a", "bad", "c"], ["a", "bad", "c"], on_error="collect")
    assert list(results) == ["A", "C"] and results.indices == [0, 2]
    assert [(f.field, f.index) for f in results.failures] == [("bad", 1)]
    assert "not an image" in results.failures[0].error


def test_a_bug_ends_even_a_collecting_batch():
    # a KeyError is not the item's fault: it must reach the face (exit 1, a log),
    # not hide as one row of the errors table
    with pytest.raises(KeyError, match="a bug in the task"):
        run_fields(_task, ["a", "bug", "c"], ["a", "bug", "c"], on_error="collect")
