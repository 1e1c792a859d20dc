"""scripts/count_lines.py: the line budget's counter (issue 21) sorts every line once."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("count_lines", ROOT / "scripts" / "count_lines.py")
count_lines = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(count_lines)

SOURCE = '''"""Module docstring,
two lines."""

import os  # a trailing comment keeps the line code

# a comment line


def f():
    """One line."""
    return os.sep


class A:
    x = "not a docstring"
'''


def test_line_kinds_sorts_each_line():
    kinds = count_lines.line_kinds(SOURCE)
    assert kinds == [
        "docstring", "docstring", "blank", "code", "blank", "comment", "blank", "blank",
        "code", "docstring", "code", "blank", "blank", "code", "code",
    ]


def test_folder_names_the_package_folder():
    assert count_lines.folder("src/napari_msc_morph/batch/study.py") == "batch"
    assert count_lines.folder("src/napari_msc_morph/io.py") == "top level"


def test_composition_total_is_every_line():
    files = {"src/napari_msc_morph/a/x.py": SOURCE, "src/napari_msc_morph/y.py": "z = 1\n"}
    table = count_lines.composition(files)
    assert sum(table["total"].values()) == len(SOURCE.splitlines()) + 1
    assert table["top level"]["code"] == 1
    assert table["a"]["docstring"] == 3
