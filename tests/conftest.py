"""Shared pytest configuration.

GUI tests use napari's ``make_napari_viewer`` fixture (provided by napari's
pytest plugin) under Xvfb (pytest-xvfb); nothing is skipped for lack of a display.
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
