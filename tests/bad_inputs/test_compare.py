"""``msc-morph compare`` / ``compare_groups``: unusable input names the column, rows or option.

Each case exits 2 with one error line, and the input table and an earlier
output are byte-identical afterwards.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from napari_msc_morph.analysis import compare_groups
from napari_msc_morph.cli import main
from napari_msc_morph.errors import BadInputError


def _table() -> pd.DataFrame:
    return pd.DataFrame({
        "day": [0, 0, 0, 7, 7, 7, 14, 14, 14],
        "donor": ["A", "B", "C"] * 3,
        "os": [0.1, 0.15, 0.12, 0.4, 0.5, 0.45, 0.8, 0.85, 0.9],
    })


def _text_in_value() -> pd.DataFrame:
    table = _table().astype({"os": object})
    table.loc[[1, 3], "os"] = ["n/a?", "0,4"]
    return table


def _one_day() -> pd.DataFrame:
    return _table().assign(day=7)


def _flat_day() -> pd.DataFrame:
    table = _table()
    table.loc[table.day == 7, "os"] = 0.5
    return table


def _constant() -> pd.DataFrame:
    return _table().assign(os=0.5)


def _one_complete_donor() -> pd.DataFrame:
    return _table().drop(index=[1, 2, 4])


def _fields_without_unit() -> pd.DataFrame:
    """Three cells per image, nothing that says an image is the unit."""
    return pd.DataFrame({"day": [0] * 6 + [7] * 6, "image": [f"im{i // 3}" for i in range(12)],
                         "os": [0.1, 0.2, 0.15, 0.3, 0.25, 0.2, 0.5, 0.6, 0.55, 0.7, 0.65, 0.6]})


def _cells_without_image() -> pd.DataFrame:
    return _fields_without_unit().drop(columns="image").assign(label=[1, 2, 3] * 4)


# case -> (table, extra options, kwargs for compare_groups, texts the message must hold)
CASES = {
    "missing value column": (_table, ["--value", "osscore", "--by", "day"],
                             {"value": "osscore", "by": "day"}, ["--value", "'osscore'", "os"]),
    "missing by column": (_table, ["--value", "os", "--by", "days"],
                          {"value": "os", "by": "days"}, ["--by", "'days'"]),
    "missing paired-by column": (_table, ["--value", "os", "--by", "day", "--paired-by", "patient"],
                                 {"value": "os", "by": "day", "paired_by": "patient"},
                                 ["--paired-by", "'patient'"]),
    "text in value column": (_text_in_value, ["--value", "os", "--by", "day"],
                             {"value": "os", "by": "day"}, ["'os'", "row(s) 3, 5", "'n/a?'"]),
    "one group": (_one_day, ["--value", "os", "--by", "day"], {"value": "os", "by": "day"},
                  ["'day'", "1 group", "at least 2"]),
    "group not in order": (_table, ["--value", "os", "--by", "day", "--order", "0,7"],
                           {"value": "os", "by": "day", "order": ["0", "7"]},
                           ["14", "'day'", "--order"]),
    "welch with paired-by": (_table, ["--value", "os", "--by", "day", "--paired-by", "donor",
                                      "--method", "welch"],
                             {"value": "os", "by": "day", "paired_by": "donor", "method": "welch"},
                             ["--method welch", "--paired-by donor"]),
    "friedman without paired-by": (_table, ["--value", "os", "--by", "day", "--method", "friedman"],
                                   {"value": "os", "by": "day", "method": "friedman"},
                                   ["--method friedman", "--paired-by"]),
    "welch on a flat group": (_flat_day, ["--value", "os", "--by", "day", "--method", "welch"],
                              {"value": "os", "by": "day", "method": "welch"},
                              ["group(s) 7", "--method kruskal"]),
    "constant value column": (_constant, ["--value", "os", "--by", "day"],
                              {"value": "os", "by": "day"}, ["'os'", "1 distinct number", "--value"]),
    "paired with one complete donor": (_one_complete_donor,
                                       ["--value", "os", "--by", "day", "--paired-by", "donor"],
                                       {"value": "os", "by": "day", "paired_by": "donor"},
                                       ["'donor'", "only 1"]),
}

CASES.update({
    "missing unit column": (_table, ["--value", "os", "--by", "day", "--unit", "well"],
                            {"value": "os", "by": "day", "unit": "well"},
                            ["--unit", "'well'", "--unit none"]),
    "control not a group": (_table, ["--value", "os", "--by", "day", "--control", "21"],
                            {"value": "os", "by": "day", "control": "21"},
                            ["--control '21'", "0, 7, 14"]),
    "rows repeat within groups, no unit": (_fields_without_unit, ["--value", "os", "--by", "day"],
                                           {"value": "os", "by": "day"},
                                           ["image", "--unit image", "--unit none"]),
    "cells without an image column": (_cells_without_image, ["--value", "os", "--by", "day"],
                                      {"value": "os", "by": "day"}, ["'label' column", "--unit"]),
    "unit in several groups": (_table, ["--value", "os", "--by", "day", "--unit", "donor"],
                               {"value": "os", "by": "day", "unit": "donor"},
                               ["--unit donor", "--paired-by donor", "--mixed"]),
    "mixed with one row per unit": (_table, ["--value", "os", "--by", "day", "--mixed",
                                             "--unit", "none"],
                                    {"value": "os", "by": "day", "method": "mixed", "unit": "none"},
                                    ["--mixed", "several rows per unit"]),
    "anova with paired-by": (_table, ["--value", "os", "--by", "day", "--paired-by", "donor",
                                      "--method", "anova"],
                             {"value": "os", "by": "day", "paired_by": "donor", "method": "anova"},
                             ["--method anova", "--paired-by donor"]),
})

OPTION_CASES = {
    "order with one group": (["--order", "7"], ["--order", "fewer than 2"]),
    "plot is not a figure": (["--plot", "plot.csv"], ["--plot", ".png"]),
    "out is the input": (["--out", "table.csv"], ["--out", "table this command reads"]),
}


def _hashes(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


def _one_error(capsys) -> str:
    errors = [line for line in capsys.readouterr().err.splitlines()
              if "msc-morph compare: error: " in line]
    assert len(errors) == 1
    return errors[0]


@pytest.mark.parametrize("case", sorted(CASES))
def test_cli_bad_table_names_the_column_and_touches_nothing(tmp_path, capsys, case):
    make, options, _, expected = CASES[case]
    make().to_csv(tmp_path / "table.csv", index=False)
    out = tmp_path / "results.csv"
    out.write_text("earlier results\n")
    before = _hashes(tmp_path)
    code = main(["compare", str(tmp_path / "table.csv"), *options, "--out", str(out),
                 "--plot", str(tmp_path / "box.png"), "--overwrite"])
    assert code == 2
    error = _one_error(capsys)
    for text in expected:
        assert text in error
    assert _hashes(tmp_path) == before


@pytest.mark.parametrize("case", sorted(CASES))
def test_library_bad_table_raises_bad_input(case):
    make, _, kwargs, expected = CASES[case]
    with pytest.raises(BadInputError) as err:
        compare_groups(make(), **kwargs)
    for text in expected:
        assert text in str(err.value)


@pytest.mark.parametrize("case", sorted(OPTION_CASES))
def test_cli_bad_option_names_it_and_touches_nothing(tmp_path, capsys, case):
    options, expected = OPTION_CASES[case]
    _table().to_csv(tmp_path / "table.csv", index=False)
    before = _hashes(tmp_path)
    argv = ["compare", str(tmp_path / "table.csv"), "--value", "os", "--by", "day",
            "--out", str(tmp_path / "results.csv")]
    for i in range(0, len(options), 2):
        name, value = options[i], options[i + 1]
        value = str(tmp_path / value) if name in ("--plot", "--out") else value
        if name in argv:
            argv[argv.index(name) + 1] = value
        else:
            argv += [name, value]
    assert main(argv) == 2
    error = _one_error(capsys)
    for text in expected:
        assert text in error
    assert _hashes(tmp_path) == before


def test_cli_mixed_with_another_method_is_refused(tmp_path, capsys):
    _table().to_csv(tmp_path / "table.csv", index=False)
    before = _hashes(tmp_path)
    assert main(["compare", str(tmp_path / "table.csv"), "--value", "os", "--by", "day",
                 "--mixed", "--method", "welch", "--out", str(tmp_path / "results.csv")]) == 2
    error = _one_error(capsys)
    assert "--mixed" in error and "--method welch" in error
    assert _hashes(tmp_path) == before
