"""A checkpoint is one file written atomically: a kill at any instant leaves a resumable run."""

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file
from safetensors.torch import load_file as load_torch
from safetensors.torch import save_file

from napari_msc_morph.errors import BadInputError
from napari_msc_morph.training import TrainConfig, train_model
from napari_msc_morph.training import checkpoint as ckpt

BACKBONE = "test_resnet"
SRC = str(Path(ckpt.__file__).resolve().parents[2])


def _config(**kw):
    base = dict(task="passage", backbone=BACKBONE, input_size=64, epochs=2, batch_size=8,
                crops_per_field=1, downscale=4, device="cpu", val=1, test=1, lr=1e-3, seed=5)
    base.update(kw)
    return TrainConfig(**base)


def _model_tensors(work_dir):
    tensors = load_file(str(work_dir / ckpt.CHECKPOINT_WEIGHTS))
    return {k: v for k, v in tensors.items() if k.startswith("model.")}


@pytest.fixture(scope="module")
def full_run(passage_set, tmp_path_factory):
    """Two uninterrupted epochs: what every resumed run must reproduce."""
    return train_model(passage_set, _config(), tmp_path_factory.mktemp("full") / "m",
                       test_report=False)


def _assert_same_weights(a_dir, b_dir):
    a, b = _model_tensors(a_dir), _model_tensors(b_dir)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_checkpoint_is_one_file_with_its_state(full_run):
    work = full_run.work_dir
    assert (work / ckpt.CHECKPOINT_WEIGHTS).is_file()
    assert not (work / ckpt.CHECKPOINT_JSON).exists()
    assert not list(work.glob(".checkpoint*"))  # no temporary files left
    state = ckpt.checkpoint_state(work)
    assert state["epoch"] == 1 and len(state["history"]) == 2


def test_kill_while_writing_the_second_checkpoint_resumes_bit_identically(passage_set,
                                                                          tmp_path):
    """A real process dies (os._exit) after the new checkpoint's bytes are written, before
    the rename: the first epoch's checkpoint is intact and resuming gives the full run.

    Every run is a fresh process with the same environment: bit-identical weights need
    the same float summation order, which state left by other tests in this process
    (thread pools, kernels picked at first use) could change.
    """
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {SRC!r})
        from napari_msc_morph.training import TrainConfig, train_model
        from napari_msc_morph.training import checkpoint
        mode, out = sys.argv[1], sys.argv[2]
        real, calls = checkpoint.write_durably, []
        def dying(data, target):
            calls.append(target)
            if len(calls) == 2:
                os.fsync = lambda fd: os._exit(9)  # killed mid-write
            return real(data, target)
        if mode == "die":
            checkpoint.write_durably = dying
        config = TrainConfig(**{_config().to_dict()!r})
        result = train_model({str(passage_set)!r}, config, out, resume=mode == "resume",
                             test_report=False)
        print(",".join(str(e) for e in result.history["epoch"]))
    """)
    import torch

    env = dict(os.environ, PYTHONHASHSEED="0", OMP_NUM_THREADS=str(torch.get_num_threads()))

    def run(mode, out):
        return subprocess.run([sys.executable, "-c", script, mode, str(out)], env=env,
                              capture_output=True, text=True, timeout=600)

    reference = run("full", tmp_path / "ref")
    assert reference.returncode == 0, reference.stderr[-2000:]
    done = run("die", tmp_path / "m")
    assert done.returncode == 9, done.stderr[-2000:]
    work = tmp_path / "m.train"
    assert list(work.glob(".checkpoint.safetensors.*.tmp"))  # the half-finished write
    assert ckpt.checkpoint_state(work)["epoch"] == 0  # the last complete checkpoint

    resumed = run("resume", tmp_path / "m")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert resumed.stdout.strip().splitlines()[-1] == "1,2"
    assert not list(work.glob(".checkpoint*"))  # the stale temporary file is cleaned up
    _assert_same_weights(tmp_path / "ref.train", work)


def test_exception_mid_write_keeps_the_previous_checkpoint(passage_set, tmp_path, monkeypatch,
                                                           full_run):
    real, calls = ckpt.write_durably, []

    class Killed(BaseException):
        pass

    def half_written(data, target):
        calls.append(target)
        if len(calls) == 2:  # the second epoch's checkpoint: half the bytes, then death
            Path(target).with_name(".checkpoint.safetensors.x.tmp").write_bytes(data[:len(data) // 2])
            raise Killed()
        return real(data, target)

    monkeypatch.setattr(ckpt, "write_durably", half_written)
    with pytest.raises(Killed):
        train_model(passage_set, _config(), tmp_path / "m", test_report=False)
    monkeypatch.setattr(ckpt, "write_durably", real)
    resumed = train_model(passage_set, _config(), tmp_path / "m", resume=True,
                          test_report=False)
    assert list(resumed.history["epoch"]) == [1, 2]
    _assert_same_weights(full_run.work_dir, resumed.work_dir)


def _to_old_layout(work: Path, blob_changed: bool = False) -> None:
    """Rewrite a checkpoint as the two-file layout of earlier versions."""
    path = work / ckpt.CHECKPOINT_WEIGHTS
    state = ckpt.checkpoint_state(work)
    save_file(load_torch(str(path)), str(path), metadata={"format": "pt"})
    state["weights_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    if blob_changed:
        state["weights_sha256"] = "0" * 64
    (work / ckpt.CHECKPOINT_JSON).write_text(json.dumps(state))


def test_old_two_file_checkpoint_still_resumes(passage_set, tmp_path, full_run):
    one = train_model(passage_set, _config(epochs=1), tmp_path / "m", test_report=False)
    _to_old_layout(one.work_dir)
    resumed = train_model(passage_set, _config(), tmp_path / "m", resume=True,
                          test_report=False)
    assert list(resumed.history["epoch"]) == [1, 2]
    _assert_same_weights(full_run.work_dir, resumed.work_dir)
    assert not (resumed.work_dir / ckpt.CHECKPOINT_JSON).exists()  # now in the new layout


@pytest.mark.parametrize("damage", ["old_pair_mismatch", "truncated", "no_state"])
def test_unusable_checkpoint_is_refused_with_a_message(passage_set, tmp_path, damage):
    one = train_model(passage_set, _config(epochs=1), tmp_path / "m", test_report=False)
    path = one.work_dir / ckpt.CHECKPOINT_WEIGHTS
    if damage == "old_pair_mismatch":
        _to_old_layout(one.work_dir, blob_changed=True)
        expected = "does not match checkpoint.json"
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:100])
        expected = "is damaged"
    else:
        save_file(load_torch(str(path)), str(path), metadata={"format": "pt"})
        expected = "holds no run state"
    with pytest.raises(BadInputError, match=expected) as info:
        train_model(passage_set, _config(), tmp_path / "m", resume=True, test_report=False)
    assert str(path) in str(info.value) and "without --resume" in str(info.value)


def test_write_durably_fsyncs_file_and_folder(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    ckpt.write_durably(b"abc", tmp_path / "x.bin")
    assert (tmp_path / "x.bin").read_bytes() == b"abc"
    assert len(synced) == 2  # the file, then its folder
    assert [p.name for p in tmp_path.iterdir()] == ["x.bin"]
