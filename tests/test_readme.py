"""The README's first command, run as written, from a fresh working directory.

A user's first contact with the product is the README's set-up block; this
runs its ``msc-morph`` command verbatim (only ``--open`` is dropped: no viewer
in CI) in an empty temporary folder, with the relative ``--out`` it names,
and checks the report and the result tables it promises.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_first_command() -> list[str]:
    """The ``msc-morph`` part of the first line of the README's set-up block."""
    text = README.read_text(encoding="utf-8")
    setup = text.split("## Set up", 1)[1]
    block = re.search(r"```bash\n(.*?)```", setup, re.S).group(1)
    first_line = block.strip().splitlines()[0]
    parts = [part.strip() for part in first_line.split("&&")]
    command = next(part for part in parts if part.startswith("msc-morph "))
    return [arg for arg in shlex.split(command) if arg != "--open"]


def test_the_readme_names_a_relative_out_folder():
    args = readme_first_command()
    assert args[:2] == ["msc-morph", "demo"]
    out = args[args.index("--out") + 1]
    assert not Path(out).is_absolute()


@pytest.mark.slow
def test_readme_first_command_runs_as_written(tmp_path):
    args = readme_first_command()
    executable = Path(sys.executable).with_name("msc-morph")
    env = dict(os.environ, TQDM_DISABLE="1")
    result = subprocess.run([str(executable), *args[1:]], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=3000)
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / args[args.index("--out") + 1]
    assert (out / "report.html").is_file()
    scores = pd.read_csv(out / "osteogenic" / "held_out_os_scores.csv")
    assert len(scores) > 0 and scores["os_score"].notna().all()
    assert scores["os_score"].between(0, 1).all()
    samples = pd.read_csv(out / "correlation" / "sample_scores.csv")
    assert samples[["os_score", "median_cell_area_um2"]].notna().all().all()
    correlations = pd.read_csv(out / "correlation" / "correlations.csv")
    assert correlations["r"].notna().any()
    assert "report:" in result.stdout
