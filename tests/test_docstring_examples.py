"""The examples in the engine's docstrings run and print what they show (doctest).

Examples that nobody runs go stale (two of them had, before this test); every engine
module with an example is run here, so a changed result fails the suite.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import napari_msc_morph

PACKAGE = Path(napari_msc_morph.__file__).parent


def _source(name: str) -> Path:
    path = PACKAGE.joinpath(*name.split(".")[1:])
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


# the docks' examples need a viewer; the engine's run on their own
MODULES = sorted(
    info.name for info in pkgutil.walk_packages(napari_msc_morph.__path__, "napari_msc_morph.")
    if ".widgets" not in info.name and ">>>" in _source(info.name).read_text(encoding="utf-8"))


def test_examples_are_found():
    assert len(MODULES) >= 20, MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    result = doctest.testmod(importlib.import_module(name), report=True,
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    if "# doctest: +SKIP" not in _source(name).read_text(encoding="utf-8"):
        assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"
