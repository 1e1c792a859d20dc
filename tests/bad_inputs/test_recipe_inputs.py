"""Bad recipe / pretrained-weights options: refused before any work, with a message saying what to do.

Each case: the CLI exits 2 with one ``msc-morph train: error:`` line naming the offending
option or file, the inputs (manifest, images, weights) are byte-identical afterwards and no
bundle or run folder is written; the library raises BadInputError the same way.
"""

from pathlib import Path

import pytest
import torch
from corpus_helpers import snapshot, tiny_passage_set

from napari_msc_morph.cli import main
from napari_msc_morph.errors import BadInputError
from napari_msc_morph.training import TrainConfig, train_model

TINY = ["--backbone", "test_resnet", "--input-size", "32", "--epochs", "1", "--device", "cpu",
        "--val", "1", "--test", "1", "--no-report"]




def _pickle(path: Path) -> Path:
    torch.save({"w": torch.zeros(1)}, path)
    return path


CASES = {
    # name: (extra argv, builder of a weights file in the inputs folder or None, words in message)
    "offline-without-weights": (["--recipe", "passage-resnext"], None,
                                ("test_resnet", "offline", "--weights", "--no-pretrained")),
    "weights-missing": (["--recipe", "osteonet", "--task", "passage", "--weights",
                         "{inputs}/none.safetensors"], None,
                        ("none.safetensors", "does not exist", "--no-pretrained")),
    "weights-pickle": (["--recipe", "nsc-resnet50-binary", "--task", "passage", "--weights",
                        "{inputs}/w.pth"], _pickle, ("w.pth", ".safetensors", "save_file")),
    "weights-and-no-pretrained": (["--recipe", "passage-resnext", "--no-pretrained",
                                   "--weights", "{inputs}/w.pth"], _pickle,
                                  ("--weights", "--no-pretrained")),
    "pretrained-without-weights": (["--task", "passage", "--pretrained"], None,
                                   ("test_resnet", "--weights", "--no-pretrained")),
    "neither-task-nor-recipe": ([], None, ("--task", "--recipe")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_recipe_options_fail_before_any_work(case, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    argv, make_weights, words = CASES[case]
    inputs = tmp_path / "inputs"
    manifest = tiny_passage_set(inputs)
    if make_weights is not None:
        make_weights(inputs / "w.pth")
    before = snapshot(inputs)
    out = tmp_path / "out" / "model"
    code = main(["train", str(manifest), "--out", str(out), *TINY,
                 *[a.format(inputs=inputs) for a in argv]])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("msc-morph train: error:") == 1
    for word in words:
        assert word in err, (word, err)
    assert snapshot(inputs) == before
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_unknown_recipe_names_the_choices(tmp_path, capsys):
    manifest = tiny_passage_set(tmp_path / "inputs")
    with pytest.raises(SystemExit) as exit_info:  # argparse's own choices check
        main(["train", str(manifest), "--out", str(tmp_path / "m"), "--recipe", "passage"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--recipe" in err and "passage-resnext" in err


def test_library_refuses_pretrained_offline_before_writing(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    manifest = tiny_passage_set(tmp_path / "inputs")
    config = TrainConfig(task="passage", backbone="test_resnet", input_size=32, epochs=1,
                         pretrained=True, device="cpu", val=1, test=1)
    with pytest.raises(BadInputError, match="offline.*--weights.*--no-pretrained"):
        train_model(manifest, config, tmp_path / "model")
    assert not (tmp_path / "model").exists() and not (tmp_path / "model.train").exists()
