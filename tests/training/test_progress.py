"""The CLI's progress output: TQDM_DISABLE, non-terminal stderr, and a tqdm that fails to draw."""

import io

import pytest

from napari_msc_morph.cli import main
from napari_msc_morph.commands import _progress
from napari_msc_morph.commands._progress import progress_bar

BACKBONE = "test_resnet"
TINY = ["--task", "passage", "--backbone", BACKBONE, "--epochs", "1", "--input-size", "64",
        "--batch-size", "8", "--lr", "1e-3", "--downscale", "4", "--crops-per-field", "1",
        "--val", "1", "--test", "1", "--device", "cpu", "--seed", "2"]


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("tqdm_disable", ["1", None])
def test_train_predict_evaluate_cli_with_and_without_tqdm_disable(passage_set, tmp_path, capsys,
                                                                  monkeypatch, tqdm_disable):
    if tqdm_disable:
        monkeypatch.setenv("TQDM_DISABLE", tqdm_disable)
    else:
        monkeypatch.delenv("TQDM_DISABLE", raising=False)
    out = tmp_path / "model"
    assert main(["train", str(passage_set), "--out", str(out), *TINY]) == 0
    image = next(passage_set.parent.glob("D1_P1_*.tif"))
    assert main(["predict", str(out), str(image), "--out", str(tmp_path / "p.csv"),
                 "--device", "cpu"]) == 0
    assert main(["evaluate", str(out), str(tmp_path / "model.train" / "split.csv"), "--out",
                 str(tmp_path / "report"), "--split", "val", "--n-boot", "0",
                 "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err  # stderr is not a terminal here: never a redrawn bar
    if tqdm_disable:
        assert "% (" not in err
    else:  # plain progress lines for logs and pipes
        assert "train: 100% (" in err and "predict: 100% (" in err and "evaluate: 100% (" in err


def test_tqdm_disable_never_creates_a_bar(monkeypatch):
    monkeypatch.setenv("TQDM_DISABLE", "1")
    monkeypatch.setattr("tqdm.auto.tqdm", lambda *a, **k: pytest.fail("tqdm created"))
    stream = _Terminal()
    with progress_bar("train", stream=stream) as progress:
        progress(1, 10, "epoch 1")
        progress(10, 10, "")
    assert stream.getvalue() == ""


@pytest.mark.parametrize("value", ["0", "false", ""])
def test_tqdm_disable_off_values_keep_the_bar(monkeypatch, value):
    monkeypatch.setenv("TQDM_DISABLE", value)
    assert not _progress.progress_disabled()


def test_a_tqdm_that_cannot_take_updates_does_not_end_the_job(monkeypatch):
    class Stub:  # like a disabled tqdm of some versions: no usable total/n
        def __init__(self, *args, **kwargs):
            pass

        @property
        def total(self):
            raise AttributeError("total")

        @total.setter
        def total(self, value):
            raise AttributeError("total")

        def close(self):
            pass

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    monkeypatch.setattr("tqdm.auto.tqdm", Stub)
    stream = _Terminal()
    with progress_bar("train", stream=stream) as progress:
        progress(1, 10, "a")
        progress(2, 10, "b")  # after the first failure the bar is dropped quietly
    assert stream.getvalue().count("progress display stopped") == 1


def test_lines_on_a_pipe_every_tenth():
    stream = io.StringIO()
    with progress_bar("measure", stream=stream) as progress:
        for done in range(0, 101):
            progress(done, 100, f"image {done}")
        progress(5, 0, "unknown total")
    lines = stream.getvalue().splitlines()
    assert lines[0] == "measure: 0% (0/100) image 0"
    assert lines[-1] == "measure: 100% (100/100) image 100" and len(lines) == 11
