"""`msc-morph synth` end to end through cli.main."""

import pandas as pd

from napari_msc_morph.cli import main
from napari_msc_morph.io import read_image


def test_synth_passage_end_to_end(tmp_path, capsys):
    out = tmp_path / "passage"
    code = main(["synth", "passage", "--out", str(out), "--n-donors", "2", "--per-class", "1",
                 "--size", "64", "96", "--seed", "7"])
    assert code == 0
    manifest = pd.read_csv(out / "manifest.csv")
    assert len(manifest) == 20
    assert set(manifest["donor"]) == {"D1", "D2"}
    image = read_image(out / manifest["path"][0])
    assert image.data.shape == (64, 96)
    captured = capsys.readouterr()
    summary = [line for line in captured.out.splitlines() if line.startswith("wrote")]
    assert len(summary) == 1 and "20 passage images" in summary[0]


def test_synth_if_and_rgb(tmp_path):
    assert main(["synth", "if", "--out", str(tmp_path / "if"), "--n-donors", "1", "--per-class", "1",
                 "--size", "96", "96"]) == 0
    manifest = pd.read_csv(tmp_path / "if" / "manifest.csv")
    assert (tmp_path / "if" / manifest["cells_path"][0]).exists()
    assert main(["synth", "nsc", "--out", str(tmp_path / "nsc"), "--n-donors", "1", "--per-class", "1",
                 "--size", "64", "64", "--rgb"]) == 0
    manifest = pd.read_csv(tmp_path / "nsc" / "manifest.csv")
    assert read_image(tmp_path / "nsc" / manifest["path"][0]).data.shape == (64, 64, 3)


def test_synth_user_errors_exit_2(tmp_path, capsys):
    assert main(["synth", "passage", "--out", str(tmp_path), "--n-donors", "0"]) == 2
    assert "n_donors" in capsys.readouterr().err
    assert main(["synth", "if", "--out", str(tmp_path), "--rgb"]) == 2
    assert main(["synth", "passage", "--out", str(tmp_path), "--size", "4", "4"]) == 2
