"""Bad cross-validation / class-weight / torchrun options: refused before any work, saying what to do.

Each CLI case exits 2 with one ``msc-morph train: error:`` line naming the option,
the inputs are byte-identical afterwards and no bundle, run or cross-validation
folder is written; the library raises BadInputError the same way.
"""

import numpy as np
import pandas as pd
import pytest
import tifffile
from corpus_helpers import digests, stderr_lines, tiny_train_config

from napari_msc_morph.cli import main
from napari_msc_morph.errors import BadInputError
from napari_msc_morph.training import TrainConfig
from napari_msc_morph.training.crossval import check_cv_options, cross_validate

TINY = ["--task", "passage", "--backbone", "test_resnet", "--input-size", "32", "--epochs", "1",
        "--device", "cpu", "--val", "1"]


def _three_donors(folder):
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for d in range(1, 4):
        for p in (1, 10):
            rng = np.random.default_rng([d, p])
            tifffile.imwrite(folder / f"D{d}_P{p}.tif", rng.integers(0, 255, (40, 48), np.uint8))
            rows.append({"path": f"D{d}_P{p}.tif", "label": f"P{p}", "donor": f"D{d}"})
    pd.DataFrame(rows).to_csv(folder / "manifest.csv", index=False)
    return folder / "manifest.csv"


CASES = {
    # name: (extra argv, environment, words the one error line holds)
    "one-fold": (["--cv", "1"], {}, ("--cv", "at least 2 folds")),
    "more-folds-than-donors": (["--cv", "4"], {}, ("--cv 4", "3", "donors", "--cv 3")),
    "folds-leave-no-validation-donor": (["--cv", "3", "--val", "2"], {},
                                        ("--cv 3", "fold 1", "--val")),
    "cv-without-report": (["--cv", "2", "--no-report"], {}, ("--cv", "--no-report")),
    "cv-under-torchrun": (["--cv", "2"], {"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0"},
                          ("--cv", "torchrun")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_cv_options_fail_before_any_work(case, tmp_path, capsys, monkeypatch):
    argv, env, words = CASES[case]
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    inputs = tmp_path / "inputs"
    manifest = _three_donors(inputs)
    before = digests(inputs)
    out = tmp_path / "out" / "model"
    code = main(["train", str(manifest), "--out", str(out), *TINY, *argv])
    assert code == 2
    lines = [line for line in stderr_lines(capsys.readouterr().err) if "error:" in line]
    assert len(lines) == 1 and lines[0].startswith("msc-morph train: error:"), lines
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert digests(inputs) == before
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("option,value", [("--cv-keep", "worst"),
                                          ("--class-weights", "inverse")])
def test_unknown_choices_name_the_option(option, value, tmp_path, capsys):
    manifest = _three_donors(tmp_path / "inputs")
    with pytest.raises(SystemExit) as exit_info:  # argparse's own choices check
        main(["train", str(manifest), "--out", str(tmp_path / "m"), *TINY, "--cv", "2",
              option, value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert option in err and value in err
    assert not (tmp_path / "m").exists() and not (tmp_path / "m.cv").exists()


def test_library_refuses_the_same(tmp_path):
    with pytest.raises(BadInputError, match="class_weights.*--class-weights.*none, balanced"):
        TrainConfig(task="passage", backbone="test_resnet", class_weights="inverse")
    with pytest.raises(BadInputError, match="--cv-keep.*best, all"):
        check_cv_options(3, keep="worst")
    manifest = _three_donors(tmp_path / "inputs")
    for k in (1, 4):
        with pytest.raises(BadInputError, match="--cv"):
            cross_validate(manifest, tiny_train_config(), tmp_path / "m", k=k)
    assert not (tmp_path / "m").exists() and not (tmp_path / "m.cv").exists()
