"""``msc-morph correlate`` end to end on files."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

from napari_msc_morph import cli
from napari_msc_morph.analysis import aggregate_to_samples, correlate, read_readouts
from napari_msc_morph.commands import correlate as command


def _run(argv):
    # Only this command's parser: the test does not depend on other sub-commands.
    parser = argparse.ArgumentParser(prog="msc-morph")
    sub = parser.add_subparsers(dest="command")
    command.add_parser(sub)
    return command.run(parser.parse_args(["correlate", *argv]))


def test_registered_in_cli():
    assert "correlate" in cli.COMMANDS


def test_cli_writes_the_documented_columns(tmp_path, images, readouts_long, capsys):
    images.to_csv(tmp_path / "scores.csv", index=False)
    readouts_long.to_excel(tmp_path / "readouts.xlsx", index=False)
    out = tmp_path / "correlations.csv"
    code = _run([str(tmp_path / "scores.csv"), str(tmp_path / "readouts.xlsx"), "--on", "sample_id",
                 "--method", "both", "--out", str(out), "--n-boot", "200"])
    assert code == 0
    table = pd.read_csv(out, keep_default_na=True)
    assert list(table.columns[:10]) == ["score", "marker", "assay", "method", "n", "r",
                                        "ci_low", "ci_high", "p", "q"]
    expected = correlate(aggregate_to_samples(images), read_readouts(readouts_long), n_boot=200)
    np.testing.assert_allclose(table["r"], expected["r"], rtol=1e-9)
    np.testing.assert_allclose(table["q"], expected["q"], rtol=1e-9)
    np.testing.assert_allclose(table["ci_low"], expected["ci_low"], rtol=1e-9)
    assert "24 correlations" in capsys.readouterr().out  # 3 scores x 4 pairs x 2 methods


def test_cli_plots(tmp_path, images, readouts_long):
    images.to_csv(tmp_path / "scores.csv", index=False)
    readouts_long.to_csv(tmp_path / "readouts.csv", index=False)
    _run([str(tmp_path / "scores.csv"), str(tmp_path / "readouts.csv"), "--method", "pearson",
          "--scores", "osscore", "--out", str(tmp_path / "c.csv"), "--plots",
          str(tmp_path / "plots"), "--n-boot", "50"])
    names = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert names == ["heatmap_pearson.png", "heatmap_pearson.svg", "scatter_osscore_pearson.png",
                     "scatter_osscore_pearson.svg", "time_course.png", "time_course.svg"]


def test_cli_pearson_on_day_condition_subset_of_scores(tmp_path, images, readouts_long):
    images.to_csv(tmp_path / "scores.csv", index=False)
    readouts_long.drop(columns=["sample_id"]).to_csv(tmp_path / "readouts.csv", index=False)
    out = tmp_path / "c.csv"
    _run([str(tmp_path / "scores.csv"), str(tmp_path / "readouts.csv"), "--on", "day,condition",
          "--method", "pearson", "--scores", "osscore", "--markers", "RUNX2", "OCN",
          "--out", str(out)])
    table = pd.read_csv(out)
    assert set(table["marker"]) == {"RUNX2", "OCN"} and set(table["n"]) == {8}


def test_cli_errors_name_the_problem(tmp_path, images, readouts_long):
    images.drop(columns=["sample_id"]).to_csv(tmp_path / "scores.csv", index=False)
    readouts_long.to_csv(tmp_path / "readouts.csv", index=False)
    with pytest.raises(ValueError, match=r"scores.csv has no column\(s\) \['sample_id'\]"):
        _run([str(tmp_path / "scores.csv"), str(tmp_path / "readouts.csv"), "--out",
              str(tmp_path / "c.csv")])
    assert not (tmp_path / "c.csv").exists()
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        _run([str(tmp_path / "nope.csv"), str(tmp_path / "readouts.csv"), "--out",
              str(tmp_path / "c.csv")])
