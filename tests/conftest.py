"""Shared pytest configuration.

GUI tests use napari's ``make_napari_viewer`` fixture (provided by napari's
pytest plugin) under Xvfb (pytest-xvfb); nothing is skipped for lack of a display.

The suite is hermetic: before anything is imported, the user's config, cache and
data folders are pointed at a temporary folder, so no test reads or writes the
real ``~/.config/napari-msc-morph`` (recent bundles), napari's settings, or
torch/timm caches.
"""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

_HERMETIC_HOME = Path(tempfile.mkdtemp(prefix="msc-morph-tests-"))
for _variable, _folder in (("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache"),
                           ("XDG_DATA_HOME", "data"), ("XDG_STATE_HOME", "state"),
                           ("NAPARI_CONFIG", "config/napari/settings.yaml"),
                           ("TORCH_HOME", "cache/torch"), ("HF_HOME", "cache/huggingface")):
    os.environ[_variable] = str(_HERMETIC_HOME / _folder)
os.environ["HF_HUB_OFFLINE"] = "1"  # no weight downloads during tests


def pytest_sessionstart(session):
    (_HERMETIC_HOME / "config").mkdir(parents=True, exist_ok=True)
