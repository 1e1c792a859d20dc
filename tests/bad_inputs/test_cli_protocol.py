"""The one CLI error protocol: every way a command ends is one line and one exit status.

User-caused errors (the package's own, the OSError family, a missing optional
package) exit 2; a ValueError or KeyError is a bug like any other (bad input is raised as
BadInputError where it enters); Ctrl-C and Cancelled exit 130 saying what was
kept; anything else exits 1 naming a log file with the traceback (``--debug``
prints it). Inputs and earlier outputs stay byte-identical in every case.
"""

from __future__ import annotations

import errno
import importlib
import sys

import numpy as np
import pytest
from corpus_helpers import snapshot, stderr_lines

from napari_msc_morph import cli, io, morphology, training
from napari_msc_morph.cli import main
from napari_msc_morph.errors import BadInputError, Cancelled, MissingDependencyError
from napari_msc_morph.io import write_tiff

# Modules that bind `from .io import read_image` on first import: import them now, so a
# reader patched in a test cannot leak into them when a command imports them mid-test.
for _name in ("channels", "inference.images", "training.data", "synthetic"):
    importlib.import_module(f"napari_msc_morph.{_name}")


@pytest.fixture
def work(tmp_path, monkeypatch):
    """labels.tif (input), old.csv (an earlier output); logs go to a private cache folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    tmp_path = tmp_path / "work"
    labels = np.zeros((32, 32), np.uint16)
    labels[4:12, 4:14] = 1
    labels[18:28, 16:30] = 2
    write_tiff(labels, tmp_path / "labels.tif", pixel_size_um=0.5)
    (tmp_path / "old.csv").write_text("label,area_px\n1,80\n")
    (tmp_path / "manifest.csv").write_text("path,label,donor\nlabels.tif,P1,D1\n")
    (tmp_path / "folder").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


# measure --out old.csv --overwrite passes the output checks, then the reader raises
MEASURE = ["measure", "labels.tif", "--out", "old.csv", "--overwrite"]
PATH = "/data/plate 1/labels.tif"

RAISED = [
    ("permission", PermissionError(errno.EACCES, "Permission denied", PATH), 2,
     [PATH, "permission denied", "check the file's permissions"]),
    ("is-a-directory", IsADirectoryError(errno.EISDIR, "Is a directory", PATH), 2,
     [PATH, "is a folder, but a file is needed"]),
    ("not-a-directory", NotADirectoryError(errno.ENOTDIR, "Not a directory", PATH), 2,
     [PATH, "part of this path is a file"]),
    ("file-exists", FileExistsError(errno.EEXIST, "File exists", PATH), 2,
     [PATH, "already exists"]),
    ("file-not-found", FileNotFoundError(errno.ENOENT, "No such file", PATH), 2,
     [PATH, "does not exist"]),
    ("disk-full", OSError(errno.ENOSPC, "No space left on device", PATH), 2,
     [PATH, "No space left on device"]),
    ("rename-failed", OSError(errno.EXDEV, "Invalid cross-device link", PATH, None, "/b/x.tif"),
     2, [PATH, "/b/x.tif", "Invalid cross-device link"]),
    ("os-error-without-path", OSError("the network share went away"), 2,
     ["the network share went away"]),
    ("bad-input-multiline", BadInputError("labels.tif: empty\nadd objects first"), 2,
     ["labels.tif: empty add objects first"]),
    ("missing-dependency", MissingDependencyError("cellpose", "cellpose", "backend='cellpose'"),
     2, ['pip install "napari-msc-morph[cellpose]"']),
    ("bare-import-error-openpyxl", ModuleNotFoundError("No module named 'openpyxl'",
                                                       name="openpyxl"), 2,
     ["openpyxl is not installed", 'pip install "napari-msc-morph[all]"']),
    ("bare-import-error-bioio-plugin", ModuleNotFoundError("No module named 'bioio_czi'",
                                                           name="bioio_czi"), 2,
     ['pip install "napari-msc-morph[formats]"']),
    ("import-error-of-a-required-package", ModuleNotFoundError("No module named 'timm'",
                                                               name="timm"), 2,
     ["timm is not installed", "reinstall"]),
]


@pytest.mark.parametrize("error, code, fragments", [c[1:] for c in RAISED],
                         ids=[c[0] for c in RAISED])
def test_user_errors_are_one_line_exit_2(work, monkeypatch, capsys, error, code, fragments):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(io, "read_image", fail)
    before = snapshot(work)
    assert main(MEASURE) == code
    lines = stderr_lines(capsys.readouterr().err)
    assert len(lines) == 1, lines
    assert lines[0].startswith("msc-morph measure: error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert snapshot(work) == before
    assert not (work.parent / "cache").exists()  # user errors write no log


@pytest.mark.parametrize("error, fragments", [
    (KeyboardInterrupt(), ["msc-morph measure: interrupted;", "kept"]),
    (Cancelled("stopped from the Cancel button"),
     ["msc-morph measure: cancelled: stopped from the Cancel button;", "kept"]),
], ids=["ctrl-c", "cancelled"])
def test_interrupt_and_cancel_exit_130_and_keep_the_old_output(work, monkeypatch, capsys,
                                                               error, fragments):
    def stop(*args, **kwargs):
        raise error

    monkeypatch.setattr(morphology, "measure_field", stop)  # mid-job, under the progress bar
    before = snapshot(work)
    assert main(MEASURE) == 130
    lines = stderr_lines(capsys.readouterr().err)
    assert lines[-1].startswith(fragments[0]) and fragments[1] in lines[-1]
    assert sum("msc-morph" in line for line in lines) == 1
    assert snapshot(work) == before  # old.csv was not touched: nothing half-written


def test_ctrl_c_in_train_says_how_to_resume(work, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "train_model", interrupted)
    assert main(["train", "manifest.csv", "--task", "passage", "--backbone", "test_resnet",
                 "--out", "model"]) == 130
    line = stderr_lines(capsys.readouterr().err)[-1]
    assert line.startswith("msc-morph train: interrupted;")
    assert "model.train" in line and "--resume" in line


@pytest.mark.parametrize("error", [
    RuntimeError("boom in the engine"),
    ValueError("boom in the engine"),   # not a user error unless raised as BadInputError
    KeyError("boom in the engine"),
], ids=["runtime-error", "value-error", "key-error"])
def test_unexpected_error_exits_1_naming_a_log_with_the_traceback(work, monkeypatch, capsys,
                                                                    error):
    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(morphology, "measure_field", broken)
    before = snapshot(work)
    assert main(MEASURE) == 1
    lines = stderr_lines(capsys.readouterr().err)
    line = lines[-1]
    kind = type(error).__name__
    assert sum("msc-morph" in x for x in lines) == 1
    assert line.startswith(f"msc-morph measure: unexpected error: {kind}: ")
    assert "boom in the engine" in line
    assert "Traceback" not in "".join(lines) and "--debug" in line
    logs = list((work.parent / "cache" / "napari-msc-morph" / "logs").glob("*.log"))
    assert len(logs) == 1 and str(logs[0]) in line
    text = logs[0].read_text()
    assert "Traceback (most recent call last)" in text
    assert f"{kind}: " in text and "boom in the engine" in text and "in broken" in text
    assert snapshot(work) == before


def test_each_command_help_line_is_the_modules_own():
    # cli.COMMANDS holds each command's one-line help so --help imports no command; the
    # modules take it from there (command_parser), and none may say another
    full = cli.build_parser()
    choices = next(a for a in full._actions if a.dest == "command")._choices_actions
    assert {c.dest.replace("-", "_"): c.help for c in choices} == cli.COMMANDS


def test_help_and_a_command_import_only_what_they_need():
    import subprocess

    code = ("import sys; from napari_msc_morph import cli; cli.build_parser(only={!r}); "
            "print(sorted(m for m in sys.modules if m.startswith('napari_msc_morph.commands.')))")
    run = [sys.executable, "-c"]
    top = subprocess.run([*run, code.format(None)], capture_output=True, text=True, check=True)
    assert top.stdout.strip() == "[]"
    one = subprocess.run([*run, code.format("recipes")], capture_output=True, text=True,
                         check=True)
    assert "napari_msc_morph.commands.recipes" in one.stdout
    assert "napari_msc_morph.commands.train" not in one.stdout
    assert cli._command_in(["-v", "--debug", "export-bioimageio", "x"]) == "export_bioimageio"
    assert cli._command_in(["--help"]) is None and cli._command_in(["nope"]) is None


@pytest.mark.parametrize("where", ["before", "after"], ids=["global", "after-the-command"])
def test_debug_prints_the_traceback_instead_of_a_log(work, monkeypatch, capsys, where):
    def broken(*args, **kwargs):
        raise RuntimeError("boom in the engine")

    monkeypatch.setattr(morphology, "measure_field", broken)
    assert main(["--debug", *MEASURE] if where == "before" else [*MEASURE, "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "in broken" in err
    assert stderr_lines(err)[-1].startswith("msc-morph measure: unexpected error: RuntimeError")
    assert not (work.parent / "cache").exists()


def test_debug_also_shows_where_a_user_error_came_from(work, capsys):
    assert main(["--debug", "measure", "labels.tif", "--out", "labels.tif"]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "_outputs.py" in err
    assert stderr_lines(err)[-1].startswith("msc-morph measure: error: --out labels.tif")


def test_a_broken_internal_import_is_a_bug_not_a_missing_package(work, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise ImportError("cannot import name 'gone' from 'napari_msc_morph.io'",
                          name="napari_msc_morph.io")

    monkeypatch.setattr(io, "read_image", broken)
    assert main(MEASURE) == 1
    line = stderr_lines(capsys.readouterr().err)[-1]
    assert "unexpected error: ImportError" in line and ".log" in line


def test_when_no_log_can_be_written_the_traceback_is_printed(work, monkeypatch, capsys):
    (work / "cache-file").write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(work / "cache-file"))

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(io, "read_image", broken)
    assert main(MEASURE) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert stderr_lines(err)[-1].endswith("(could not write a log file)")


def test_a_missing_optional_package_is_named_with_its_extra(work, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "cellpose", None)  # `import cellpose` fails
    before = snapshot(work)
    assert main(["segment", "--nuclei", "labels.tif", "--backend", "cellpose",
                 "--out", "nuclei.tif"]) == 2
    line = stderr_lines(capsys.readouterr().err)[-1]
    assert line.startswith("msc-morph segment: error: cellpose is not installed")
    assert 'pip install "napari-msc-morph[cellpose]"' in line
    assert snapshot(work) == before


def test_an_xlsx_output_without_openpyxl_is_refused_before_any_work(work, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "openpyxl", None)
    monkeypatch.setattr(morphology, "measure_field", None)  # must not be reached
    before = snapshot(work)
    assert main(["measure", "labels.tif", "--out", "cells.xlsx"]) == 2
    lines = stderr_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "cells.xlsx" in lines[0]
    assert 'pip install "napari-msc-morph[all]"' in lines[0] and ".csv" in lines[0]
    assert snapshot(work) == before


def test_an_input_that_is_a_folder_is_one_line(work, capsys):
    before = snapshot(work)
    assert main(["segment", "--nuclei", "folder", "--out", "nuclei.tif"]) == 2
    lines = stderr_lines(capsys.readouterr().err)
    assert len(lines) == 1 and lines[0].startswith("msc-morph segment: error: folder")
    assert snapshot(work) == before


def test_debug_is_off_by_default_and_survives_the_subcommand(work):
    args = cli.build_parser().parse_args(MEASURE)
    assert args.debug is False
    assert cli.build_parser().parse_args(["--debug", *MEASURE]).debug is True


def test_a_batch_with_failures_returns_3_through_the_protocol(work):
    parser = cli.build_parser()
    args = parser.parse_args(MEASURE)
    args._run = lambda args: 3
    assert cli.run_command(args) == 3


def test_help_lists_every_exit_status():
    text = cli.build_parser().format_help()
    assert "--debug" in text and "exit status:" in text
    for code in ("0", "1", "2", "3", "130"):
        assert f"\n  {code} " in text, code


def test_warnings_go_to_the_stderr_of_each_call(capsys, monkeypatch):
    # main() runs many times in one process; the log handler must follow sys.stderr
    # (a handler bound to the first call's stream hid later calls' warnings).
    import io
    import logging

    from napari_msc_morph.cli import _configure_logging

    first = io.StringIO()
    monkeypatch.setattr("sys.stderr", first)
    _configure_logging(0)
    second = io.StringIO()
    monkeypatch.setattr("sys.stderr", second)
    _configure_logging(0)
    logging.getLogger("napari_msc_morph.test").warning("line 18 merged into line 2")
    assert "line 18" in second.getvalue()
    assert "line 18" not in first.getvalue()


def test_the_packages_warnings_are_one_plain_line(monkeypatch, capsys):
    """Issue 25: a split that leaks donors was shown as a raw Python warning with a code line."""
    import warnings

    from napari_msc_morph import cli

    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
    cli._configure_logging(0)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn_explicit("Splitting single images, not donors", UserWarning,
                               filename=f"{cli.os.sep}x{cli.os.sep}napari_msc_morph{cli.os.sep}"
                                        "training/splits.py", lineno=7)
    err = capsys.readouterr().err
    assert err == "warning: Splitting single images, not donors\n"
