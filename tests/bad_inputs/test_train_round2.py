"""Train options that crashed (issue 25): each is now a clear error naming the option.

`--patience -1` ended in "no epoch finished" (exit 1), `--batch-size 1` in a BatchNorm
ValueError, a ViT at 32 px in an AssertionError, and `--lr 1e9` in a message about
`--precision`, an option train does not have. Each case: exit 2, one
`msc-morph train: error:` line naming the option, inputs byte-identical, no bundle.
"""


import pandas as pd
import pytest
from corpus_helpers import snapshot, tiny_passage_set

from napari_msc_morph.cli import main
from napari_msc_morph.errors import BadInputError
from napari_msc_morph.training import TrainConfig

TINY = ["--task", "passage", "--backbone", "test_resnet", "--input-size", "32", "--epochs", "1",
        "--device", "cpu", "--val", "1", "--test", "1", "--crops-per-field", "2", "--no-report"]




CASES = {
    # name: (extra argv, words in the message, whether the run folder may exist afterwards)
    "patience-negative": (["--patience", "-1"], ("--patience", "-1"), False),
    "plateau-patience-negative": (["--plateau-patience", "-2"], ("--plateau-patience", "-2"),
                                  False),
    "batch-size-one-batchnorm": (["--batch-size", "1"], ("--batch-size", "2 or more"), False),
    "vit-at-32px": (["--backbone", "vit_tiny_patch16_224"],
                    ("--input-size", "224", "vit_tiny_patch16_224"), False),
    "diverging-lr": (["--lr", "1e9"], ("--lr", "diverged", "1e+09"), True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_train_crashes_are_clear_errors(case, tmp_path, capsys):
    argv, words, run_folder_kept = CASES[case]
    inputs = tmp_path / "inputs"
    manifest = tiny_passage_set(inputs)
    before = snapshot(inputs)
    out = tmp_path / "out" / "model"
    code = main(["train", str(manifest), "--out", str(out), *TINY, *argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("msc-morph train: error:") == 1
    assert "--precision" not in err and "unexpected error" not in err
    for word in words:
        assert word in err, (word, err)
    assert snapshot(inputs) == before
    assert not out.exists()  # no bundle
    if not run_folder_kept:  # refused before anything was written
        assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_library_refuses_negative_patience():
    with pytest.raises(BadInputError, match="early_stopping .--patience."):
        TrainConfig(task="passage", early_stopping=-1)
    assert TrainConfig(task="passage", early_stopping=0).early_stopping is None


def test_a_split_without_validation_rows_says_the_training_loss_is_monitored(tmp_path, capsys):
    """Issue 25: a hand-written split with no validation rows monitored train_loss silently."""
    manifest = tiny_passage_set(tmp_path / "inputs")
    table = pd.read_csv(manifest)
    table["split"] = ["test" if donor == "D4" else "train" for donor in table["donor"]]
    table.to_csv(manifest, index=False)
    argv = ["--task", "passage", "--backbone", "test_resnet", "--input-size", "32", "--epochs",
            "1", "--device", "cpu", "--crops-per-field", "2", "--no-report"]
    code = main(["train", str(manifest), *argv, "--out", str(tmp_path / "model")])
    assert code == 0
    err = capsys.readouterr().err
    assert "warning: no validation images" in err and "training loss" in err
    model = (tmp_path / "model" / "model.json").read_text()
    assert "no validation images" in model


def test_a_recipes_monitor_stays_with_its_task():
    """Issue 25: `--recipe osteonet --task passage` picked passage epochs by the osteogenic
    recipe's val_auc."""
    from napari_msc_morph.cli import build_parser
    from napari_msc_morph.commands.train import config_from_args

    parser = build_parser(only="train")
    mixed = config_from_args(parser.parse_args(
        ["train", "m.csv", "--recipe", "osteonet", "--task", "passage", "--out", "x"]))
    assert mixed.monitor == TrainConfig(task="passage").monitor != "val_auc"
    own = config_from_args(parser.parse_args(["train", "m.csv", "--recipe", "osteonet",
                                              "--out", "x"]))
    assert own.monitor == "val_auc"
