"""``msc-morph correlate`` end to end on files."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

from napari_msc_morph import cli
from napari_msc_morph.analysis import (
    SAMPLE_KEYS,
    aggregate_to_samples,
    correlate,
    correlate_study,
    method_choices,
    read_readouts,
)
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
          str(tmp_path / "plots"), "--n-boot", "100"])
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


def test_cli_table_equals_a_direct_correlate_study_call(tmp_path, images, readouts_long, capsys):
    images.to_csv(tmp_path / "scores.csv", index=False)
    readouts_long.to_csv(tmp_path / "readouts.csv", index=False)
    _run([str(tmp_path / "scores.csv"), str(tmp_path / "readouts.csv"), "--on", "sample_id",
          "--scores", "osscore", "cell_count", "--markers", "RUNX2", "OCN", "--min-n", "5",
          "--n-boot", "100", "--seed", "3", "--out", str(tmp_path / "cli.csv")])
    study = correlate_study(tmp_path / "scores.csv", tmp_path / "readouts.csv", on="sample_id",
                            score_columns=["osscore", "cell_count"], markers=["RUNX2", "OCN"],
                            min_n=5, n_boot=100, seed=3, out=tmp_path / "direct.csv")
    assert (tmp_path / "cli.csv").read_bytes() == (tmp_path / "direct.csv").read_bytes()
    assert study.summary().split(" -> ")[0] in capsys.readouterr().out


def test_cli_choices_come_from_the_registries():
    parser = argparse.ArgumentParser(prog="msc-morph")
    sub = command.add_parser(parser.add_subparsers(dest="command"))
    method = next(a for a in sub._actions if a.dest == "method")
    assert list(method.choices) == method_choices()
    on = next(a for a in sub._actions if a.dest == "on")
    assert on.default == SAMPLE_KEYS.names()[0]


def test_cli_prints_the_studys_warnings(tmp_path, images, readouts_long, capsys):
    keep = images["sample_id"].isin(sorted(images["sample_id"].unique())[:3])
    images[keep].to_csv(tmp_path / "scores.csv", index=False)
    readouts_long.to_csv(tmp_path / "readouts.csv", index=False)
    assert _run([str(tmp_path / "scores.csv"), str(tmp_path / "readouts.csv"), "--method",
                 "pearson", "--out", str(tmp_path / "c.csv")]) == 0
    err = capsys.readouterr().err
    assert "warning: only 3 sample(s): r is not reported below 4" in err


def test_cli_user_errors_are_one_line_and_exit_2(tmp_path, images, readouts_long, capsys):
    images.drop(columns=["sample_id"]).to_csv(tmp_path / "scores.csv", index=False)
    readouts_long.to_csv(tmp_path / "readouts.csv", index=False)
    parser = argparse.ArgumentParser(prog="msc-morph")
    command.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["correlate", str(tmp_path / "scores.csv"),
                              str(tmp_path / "readouts.csv"), "--out", str(tmp_path / "c.csv")])
    args._run = command.run
    code = cli.run_command(args)  # the CLI's one error protocol
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("msc-morph correlate: error: ")
    assert "scores.csv has no column(s) ['sample_id']" in err[-1]
