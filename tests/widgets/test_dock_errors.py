"""A dock reports user errors as their message and anything else as a bug with a log file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from napari_msc_morph.errors import BadInputError, log_folder
from napari_msc_morph.widgets._panel import JobDock


class _Dock(JobDock):
    job_title = "Test job"

    def __init__(self, viewer, failure):
        super().__init__()
        self.viewer = viewer
        self.failure = failure
        self.build_run_panel(None, "Run")

    def run(self):
        def job(progress, cancel):
            raise self.failure

        return self.start_job(job, lambda result: None)


@pytest.fixture
def errors(monkeypatch):
    shown: list[str] = []
    monkeypatch.setattr("napari.utils.notifications.show_error", shown.append)
    return shown


def _logs() -> set[Path]:
    folder = log_folder()
    return set(folder.glob("*.log")) if folder.is_dir() else set()


def _run(make_napari_viewer, qtbot, failure) -> _Dock:
    dock = _Dock(make_napari_viewer(), failure)
    dock.run()
    qtbot.waitUntil(lambda: not dock.busy, timeout=30_000)
    return dock


def test_a_bug_names_its_log_file_and_the_dock_is_usable_again(make_napari_viewer, qtbot,
                                                               errors):
    # the suite points the user cache folder at a temporary one (tests/conftest.py)
    assert str(log_folder()).startswith(os.environ["XDG_CACHE_HOME"])
    before = _logs()
    dock = _run(make_napari_viewer, qtbot, ValueError("index out of range"))
    (log,) = _logs() - before
    assert len(errors) == 1
    message = errors[0]
    assert "bug in napari-msc-morph" in message and "ValueError: index out of range" in message
    assert str(log) in message and "report it with that file" in message
    assert "ValueError: index out of range" in log.read_text(encoding="utf-8")
    assert "Traceback" in log.read_text(encoding="utf-8")
    assert dock.run_button.isEnabled() and not dock.cancel_button.isEnabled()
    assert "bug" in dock.status.text()


def test_a_user_error_is_its_message_and_writes_no_log(make_napari_viewer, qtbot, errors):
    before = _logs()
    dock = _run(make_napari_viewer, qtbot, BadInputError("Layer 'x' is RGB: choose a gray one."))
    assert errors == ["Test job: Layer 'x' is RGB: choose a gray one."]
    assert dock.status.text() == "Layer 'x' is RGB: choose a gray one."
    assert _logs() == before
    assert dock.run_button.isEnabled()


def test_an_os_error_is_a_user_error(make_napari_viewer, qtbot, errors):
    before = _logs()
    _run(make_napari_viewer, qtbot, FileNotFoundError(2, "No such file", "missing.tif"))
    assert len(errors) == 1 and "missing.tif" in errors[0] and "bug" not in errors[0]
    assert _logs() == before
