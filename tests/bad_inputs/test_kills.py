"""Kills, concurrent runs, full disks and shared drives (issue 25).

- ``kill -9`` of a measure batch or a predict run after its first field: the earlier
  table is byte-identical, nothing temporary is left in the output folder, and the
  re-run gives the right table; a write killed half-way leaves a hidden temporary file
  that a folder input never mistakes for a field.
- Two ``train`` runs into one ``--out``: the second exits 2 naming the folder; a lock
  left by a killed run is taken over with a warning.
- A full disk (``ENOSPC``) names the path, and leaves no half bundle and no folder
  that blocks the re-run; bundle folders honour the umask.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from corpus_helpers import BACKBONE, digests, stderr_lines

import napari_msc_morph
from napari_msc_morph.cli import main
from napari_msc_morph.errors import BadInputError
from napari_msc_morph.io import write_table, write_tiff
from napari_msc_morph.models import BundleConfig, create_backbone, load_bundle, save_bundle
from napari_msc_morph.training.run_lock import lock_path, output_lock

SRC = str(Path(napari_msc_morph.__file__).resolve().parents[1])

#: Runs the CLI, stopping for good once the first item of a batch is done (or, with
#: KILL_AT_REPLACE, just before a write's rename), after touching KILL_MARKER.
_WRAPPER = r'''
import os, re, sys, time
from pathlib import Path
marker = Path(os.environ["KILL_MARKER"])
at_replace = os.environ.get("KILL_AT_REPLACE")
if at_replace:
    real_replace = os.replace
    def replace(src, dst, *a, **k):
        if str(dst).endswith(at_replace):
            marker.touch()
            time.sleep(600)
        return real_replace(src, dst, *a, **k)
    os.replace = replace
else:
    import napari_msc_morph.batch.run as run_module
    real_report = run_module.report
    def report(progress, done, total, message=""):
        real_report(progress, done, total, message)
        if re.search(r"\((field|image) 1/\d+\)$", str(message)):
            marker.touch()
            time.sleep(600)
    run_module.report = report
if sys.argv[1] == "--exec":  # python code instead of the CLI: sys.argv[1:] are its args
    sys.argv = sys.argv[2:]
    exec(sys.argv[0])
else:
    from napari_msc_morph.cli import main
    sys.exit(main(sys.argv[1:]))
'''


def _run_and_kill(tmp_path: Path, argv, at_replace: str | None = None) -> None:
    """Start the CLI in a subprocess, wait for its marker, then SIGKILL it."""
    script = tmp_path / "wrapper.py"
    script.write_text(_WRAPPER)
    marker = tmp_path / "killed-here"
    env = {**os.environ, "PYTHONPATH": SRC, "KILL_MARKER": str(marker),
           "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    if at_replace:
        env["KILL_AT_REPLACE"] = at_replace
    proc = subprocess.Popen([sys.executable, str(script), *map(str, argv)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while not marker.exists():
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the run never reached the kill point"
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


def _labels(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    labels = np.zeros((64, 64), np.uint16)
    for k in range(1, 4):
        y, x = rng.integers(2, 44, 2)
        h, w = rng.integers(6, 18, 2)
        labels[y:y + h, x:x + w] = k
    return labels


@pytest.fixture(scope="module")
def label_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kill-labels") / "labels"
    for k in range(4):
        write_tiff(_labels(k), folder / f"field{k}.tif", pixel_size_um=0.5)
    return folder


def _others(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


# --------------------------------------------------------------------------- measure
def test_kill_during_a_measure_batch_keeps_the_earlier_table(label_folder, tmp_path, capsys):
    out = tmp_path / "results" / "cells.csv"
    assert main(["measure", str(label_folder), "--out", str(out)]) == 0
    reference = out.read_bytes()
    out.write_bytes(reference.replace(b"field0", b"fieldX"))  # "the earlier table"
    earlier = digests(out.parent, label_folder)
    _run_and_kill(tmp_path, ["measure", label_folder, "--out", out, "--overwrite"])
    assert digests(out.parent, label_folder) == earlier  # unchanged, nothing left beside it
    capsys.readouterr()
    assert main(["measure", str(label_folder), "--out", str(out), "--overwrite"]) == 0
    assert out.read_bytes() == reference and _others(out.parent, {"cells.csv"}) == []


def test_kill_during_the_table_write_keeps_the_earlier_table(label_folder, tmp_path):
    out = tmp_path / "cells.csv"
    assert main(["measure", str(label_folder), "--out", str(out)]) == 0
    reference = out.read_bytes()
    out.write_bytes(b"earlier,table\n1,2\n")
    _run_and_kill(tmp_path, ["measure", label_folder, "--out", out, "--overwrite"],
                  at_replace="cells.csv")
    assert out.read_bytes() == b"earlier,table\n1,2\n"
    assert main(["measure", str(label_folder), "--out", str(out), "--overwrite"]) == 0
    assert out.read_bytes() == reference


def test_a_label_write_killed_half_way_is_not_read_as_a_field(label_folder, tmp_path):
    folder = Path(shutil.copytree(label_folder, tmp_path / "labels"))
    reference = tmp_path / "reference.csv"
    assert main(["measure", str(folder), "--out", str(reference)]) == 0
    # a `segment` (here: any TIFF write) killed just before its rename
    code = ("import sys, numpy as np; from napari_msc_morph.io import write_tiff; "
            "write_tiff(np.ones((64, 64), np.uint16), sys.argv[1], pixel_size_um=0.5)")
    _run_and_kill(tmp_path, ["--exec", code, folder / "field9.tif"], at_replace="field9.tif")
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".field9.tif.")]
    assert leftovers, "the kill should leave the write's temporary file"
    again = tmp_path / "again.csv"
    assert main(["measure", str(folder), "--out", str(again)]) == 0
    assert again.read_bytes() == reference.read_bytes()


# --------------------------------------------------------------------------- predict
@pytest.fixture(scope="module")
def predict_inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("kill-predict")
    config = BundleConfig(task="osteogenic", backbone=BACKBONE, input_size=32,
                          pixel_size_um=0.65)
    torch.manual_seed(0)
    bundle = save_bundle(create_backbone(BACKBONE, num_classes=2), config, root / "bundle")
    images = root / "images"
    for k in range(4):
        rng = np.random.default_rng(k)
        write_tiff(rng.integers(0, 256, (48, 48), dtype=np.uint8), images / f"img{k}.tif",
                   pixel_size_um=0.65)
    return bundle, images


def test_kill_during_a_predict_run_keeps_the_earlier_table(predict_inputs, tmp_path):
    bundle, images = predict_inputs
    out = tmp_path / "results" / "pred.csv"
    # fp32: CPU bf16 (the default here) differs at ~1e-4 from run to run, kill or not
    argv = ["predict", bundle, images, "--out", out, "--device", "cpu", "--quiet",
            "--precision", "fp32"]
    assert main([str(a) for a in argv]) == 0
    reference = out.read_bytes()
    out.write_bytes(reference.replace(b"img0", b"imgX"))
    earlier = digests(out.parent, images, bundle)
    _run_and_kill(tmp_path, [*argv, "--overwrite"])
    assert digests(out.parent, images, bundle) == earlier
    assert main([str(a) for a in argv] + ["--overwrite"]) == 0
    assert out.read_bytes() == reference and _others(out.parent, {"pred.csv"}) == []


# --------------------------------------------------------------------------- train lock
@pytest.fixture(scope="module")
def train_set(tmp_path_factory):
    sys.path.insert(0, str(Path(__file__).parent))
    from test_training import CLI_TINY, write_tiny_set

    return write_tiny_set(tmp_path_factory.mktemp("lock-train") / "data"), CLI_TINY


_HOLD = r'''
import sys, time
from pathlib import Path
from napari_msc_morph.training.run_lock import output_lock
with output_lock(sys.argv[1]):
    Path(sys.argv[2]).touch()
    while not Path(sys.argv[3]).exists():
        time.sleep(0.05)
'''


def test_a_second_train_into_the_same_out_exits_2_naming_the_folder(train_set, tmp_path,
                                                                    capsys):
    manifest, tiny = train_set
    out = tmp_path / "models" / "osteo"
    held, release = tmp_path / "held", tmp_path / "release"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(out), str(held), str(release)],
                              env={**os.environ, "PYTHONPATH": SRC})
    try:
        deadline = time.monotonic() + 120
        while not held.exists():
            assert holder.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        lock_before = lock_path(out).read_bytes()
        rc = main(["train", str(manifest), "--out", str(out), *tiny])
        lines = stderr_lines(capsys.readouterr().err)
        assert rc == 2, lines
        assert "another msc-morph train is writing to" in lines[-1]
        assert str(out.parent.absolute()) in lines[-1] and f"pid {holder.pid}" in lines[-1]
        assert not out.exists() and lock_path(out).read_bytes() == lock_before
    finally:
        release.touch()
        holder.wait(60)
    assert holder.returncode == 0 and not lock_path(out).exists()  # removed at exit


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_lock_left_by_a_killed_train_is_taken_over(train_set, tmp_path, capsys, caplog):
    manifest, tiny = train_set
    out = tmp_path / "osteo"
    pid = _dead_pid()
    lock_path(out).write_text(json.dumps({"pid": pid, "host": socket.gethostname(),
                                          "started": "2026-01-01T00:00:00"}))
    with caplog.at_level("WARNING"):
        rc = main(["train", str(manifest), "--out", str(out), *tiny])
    assert rc == 0, capsys.readouterr().err
    assert f"pid {pid}" in caplog.text and "taking it over" in caplog.text
    assert sorted(p.name for p in out.iterdir()) == ["model.json", "weights.safetensors"]
    assert not lock_path(out).exists()


@pytest.mark.parametrize("content, words", [
    (lambda: {"pid": 12345, "host": "another-computer", "started": "today"},
     "pid 12345 on another-computer"),
    (lambda: {"pid": os.getppid(), "host": socket.gethostname()}, f"pid {os.getppid()}"),
    (lambda: "not json at all", "an unreadable lock"),
])
def test_a_lock_that_cannot_be_judged_stale_is_refused_naming_the_lock_file(tmp_path, content,
                                                                            words):
    out = tmp_path / "model.zip"
    value = content()
    lock_path(out).write_text(value if isinstance(value, str) else json.dumps(value))
    before = lock_path(out).read_bytes()
    with pytest.raises(BadInputError) as info:
        with output_lock(out):
            pass
    assert words in str(info.value) and str(lock_path(out)) in str(info.value)
    assert lock_path(out).read_bytes() == before


@pytest.mark.parametrize("where", ["bundle", "new/models/bundle"])
def test_the_lock_is_removed_when_the_run_fails(tmp_path, where):
    out = tmp_path / where
    with pytest.raises(RuntimeError), output_lock(out):
        assert lock_path(out).is_file()
        raise RuntimeError("training failed")
    assert not lock_path(out).exists() and not out.exists()
    assert list(tmp_path.iterdir()) == []  # no folder made for the lock is left


# --------------------------------------------------------------------------- umask
@pytest.mark.parametrize("umask, mode", [(0o022, 0o755), (0o002, 0o775), (0o077, 0o700)])
def test_bundle_folders_honour_the_umask(tmp_path, umask, mode):
    config = BundleConfig(task="osteogenic", backbone=BACKBONE, input_size=32)
    old = os.umask(umask)
    try:
        path = save_bundle(create_backbone(BACKBONE, num_classes=2), config, tmp_path / "b")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    for name in ("model.json", "weights.safetensors"):
        assert stat.S_IMODE((path / name).stat().st_mode) == 0o666 & ~umask


# --------------------------------------------------------------------------- full disk
def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_names_the_table_and_keeps_the_earlier_one(label_folder, tmp_path, capsys,
                                                               monkeypatch):
    out = tmp_path / "cells.csv"
    out.write_bytes(b"earlier\n")
    monkeypatch.setattr("pandas.DataFrame.to_csv", _disk_full)
    rc = main(["measure", str(label_folder), "--out", str(out), "--overwrite"])
    lines = stderr_lines(capsys.readouterr().err)
    assert rc == 2 and str(out) in lines[-1] and "no space left" in lines[-1], lines
    assert out.read_bytes() == b"earlier\n" and _others(tmp_path, {"cells.csv"}) == []


def test_a_full_disk_in_write_table_raises_an_oserror_naming_the_path(tmp_path, monkeypatch):
    import pandas as pd

    monkeypatch.setattr("pandas.DataFrame.to_csv", _disk_full)
    with pytest.raises(OSError) as info:
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.csv")
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(tmp_path / "t.csv")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", ["", ".zip"], ids=["folder", "zip"])
def test_a_full_disk_leaves_no_half_bundle_and_names_it(tmp_path, monkeypatch, suffix):
    config = BundleConfig(task="osteogenic", backbone=BACKBONE, input_size=32)
    model = create_backbone(BACKBONE, num_classes=2)
    earlier = save_bundle(model, config, tmp_path / f"bundle{suffix}")
    before = digests(earlier)
    real = Path.write_bytes if not suffix else None
    if suffix:
        monkeypatch.setattr("zipfile.ZipFile.writestr", _disk_full)
    else:
        def write_bytes(self, data):
            if self.name == "weights.safetensors":
                _disk_full()
            return real(self, data)
        monkeypatch.setattr(Path, "write_bytes", write_bytes)
    with pytest.raises(OSError) as info:
        save_bundle(model, config, earlier)
    assert info.value.errno == errno.ENOSPC and f"bundle{suffix}" in str(info.value)
    assert digests(earlier) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"bundle{suffix}"]
    monkeypatch.undo()
    assert load_bundle(earlier).config.class_names == ("control", "induced")


def test_a_full_disk_in_synth_leaves_no_folder_that_blocks_the_re_run(tmp_path, capsys,
                                                                      monkeypatch):
    out = tmp_path / "synthetic"
    monkeypatch.setattr("tifffile.imwrite", _disk_full)
    rc = main(["synth", "osteo", "--out", str(out), "--n-donors", "1", "--per-class", "1",
               "--size", "64", "64"])
    lines = stderr_lines(capsys.readouterr().err)
    assert rc == 2 and "no space left" in lines[-1] and "synthetic" in lines[-1], lines
    assert not out.exists()
    monkeypatch.undo()
    assert main(["synth", "osteo", "--out", str(out), "--n-donors", "1", "--per-class", "1",
                 "--size", "64", "64"]) == 0
    assert (out / "manifest.csv").is_file()


def test_a_full_disk_during_train_names_the_checkpoint_and_the_re_run_works(train_set, tmp_path,
                                                                            capsys, monkeypatch):
    manifest, tiny = train_set
    out = tmp_path / "model"

    def fsync_full(fd):  # the checkpoint's data reach the disk only at fsync
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", fsync_full)
    rc = main(["train", str(manifest), "--out", str(out), *tiny])
    lines = stderr_lines(capsys.readouterr().err)
    assert rc == 2 and "checkpoint.safetensors" in lines[-1] and "no space left" in lines[-1]
    leftovers = [p.name for p in (tmp_path / "model.train").iterdir() if p.name.startswith(".")]
    assert leftovers == [] and not lock_path(out).exists()
    monkeypatch.undo()
    # the epoch's bundle is there but no checkpoint: --resume says what works instead
    rc = main(["train", str(manifest), "--out", str(out), *tiny, "--resume"])
    lines = stderr_lines(capsys.readouterr().err)
    assert rc == 2 and "--overwrite instead of --resume" in lines[-1], lines
    assert main(["train", str(manifest), "--out", str(out), *tiny, "--overwrite"]) == 0
    assert (tmp_path / "model.train" / "checkpoint.safetensors").is_file()
    assert load_bundle(out).config.task == "passage"
