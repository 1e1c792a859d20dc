"""Manifest integrity: one image listed twice (any spelling, a link, a copy) never lands in
two splits; weak splits are reported.

Duplicates are an error naming both rows (library: ManifestError; CLI: exit 2, one line),
with the inputs byte-identical afterwards and nothing written; ``dedupe=True`` /
``--dedupe`` keeps the first row and says so in model.json.
"""

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile
from corpus_helpers import BACKBONE, tiny_train_config

from napari_msc_morph.cli import main
from napari_msc_morph.training import train_model
from napari_msc_morph.training.data import ManifestError

CLI_TINY = ["--task", "passage", "--backbone", BACKBONE, "--epochs", "1", "--input-size", "32",
            "--batch-size", "4", "--crops-per-field", "1", "--val", "1", "--test", "1",
            "--device", "cpu", "--no-report"]


def write_rows(folder: Path, n_donors=4, per_class=2, donors=None) -> list[dict]:
    """Distinct random 8-bit fields of P1 and P10 in ``folder/img``; the manifest rows."""
    (folder / "img").mkdir(parents=True, exist_ok=True)
    rows = []
    for d in range(1, n_donors + 1):
        for p in (1, 10):
            for k in range(per_class):
                rng = np.random.default_rng([d, p, k])
                name = f"D{d}_P{p}_{k}.tif"
                level = 60 if p == 1 else 160
                tifffile.imwrite(folder / "img" / name,
                                 rng.integers(level - 40, level + 40, (48, 64), dtype=np.uint8))
                rows.append({"path": f"img/{name}", "label": f"P{p}",
                             "donor": donors(d, p, k) if donors else f"D{d}"})
    return rows


def write_manifest(folder: Path, rows) -> Path:
    manifest = folder / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() or p.is_symlink()}


def _case_insensitive(folder: Path) -> bool:
    probe = folder / "CaseProbe.tmp"
    probe.write_text("x")
    try:
        return (folder / "caseprobe.tmp").exists()
    finally:
        probe.unlink()


def _add_duplicate(folder: Path, rows: list, how: str) -> tuple[int, int]:
    """Append a row showing the image of row 0 (manifest line 2); return (2, new line)."""
    first = rows[0]
    label = first["label"]
    if how == "same_path":
        path = first["path"]
    elif how == "dotdot_spelling":
        path = "./img/../img/" + Path(first["path"]).name
    elif how == "absolute_spelling":
        path = str((folder / first["path"]).resolve())
    elif how == "symlink":
        os.symlink(folder / first["path"], folder / "img" / "alias.tif")
        path = "img/alias.tif"
    elif how == "hard_link":
        os.link(folder / first["path"], folder / "img" / "hard.tif")
        path = "img/hard.tif"
    elif how == "byte_copy":
        shutil.copyfile(folder / first["path"], folder / "img" / "copy.tif")
        path = "img/copy.tif"
    elif how == "letter_case":
        path = first["path"].upper()
    else:
        raise AssertionError(how)
    # the duplicate goes to another donor: without the check it could land in another split
    rows.append({"path": path, "label": label, "donor": "D4"})
    return 2, len(rows) + 1


HOWS = ["same_path", "dotdot_spelling", "absolute_spelling", "symlink", "hard_link",
        "byte_copy"]
# Letter case only names one file where the filesystem ignores it (macOS, Windows); on a
# case-sensitive one the upper-case path is another, missing file, so the case is not made.
if _case_insensitive(Path(tempfile.gettempdir())):
    HOWS.append("letter_case")


@pytest.mark.parametrize("face", ["library", "cli"])
@pytest.mark.parametrize("how", HOWS)
def test_one_image_in_two_rows_is_an_error_naming_both(tmp_path, capsys, how, face):
    rows = write_rows(tmp_path)
    first_line, dup_line = _add_duplicate(tmp_path, rows, how)
    manifest = write_manifest(tmp_path, rows)
    before = snapshot(tmp_path)
    out = tmp_path / "out" / "model"
    if face == "library":
        with pytest.raises(ManifestError) as info:
            train_model(manifest, tiny_train_config(), out)
        message = str(info.value)
        assert [p.line for p in info.value.problems] == [dup_line]
    else:
        assert main(["train", str(manifest), "--out", str(out), *CLI_TINY]) == 2
        message = capsys.readouterr().err
        assert "msc-morph train: error:" in message
    assert f"line {dup_line} [path]" in message and f"same image as line {first_line}" in message
    assert "D1_P1_0.tif" in message and "--dedupe" in message
    assert str(manifest) in message
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("face", ["library", "cli"])
@pytest.mark.parametrize("how", ["symlink", "byte_copy", "dotdot_spelling"])
def test_dedupe_keeps_the_first_row_and_says_so(tmp_path, capsys, how, face):
    rows = write_rows(tmp_path)
    _, dup_line = _add_duplicate(tmp_path, rows, how)
    manifest = write_manifest(tmp_path, rows)
    before = snapshot(tmp_path)
    out = tmp_path / "out" / "model"
    if face == "library":
        result = train_model(manifest, tiny_train_config(), out, dedupe=True, test_report=False)
        split = result.split
    else:
        assert main(["train", str(manifest), "--out", str(out), "--dedupe", *CLI_TINY]) == 0
        assert f"line {dup_line}" in capsys.readouterr().err  # logged
        split = pd.read_csv(tmp_path / "out" / "model.train" / "split.csv")
        split["path"] = [str(tmp_path / "out" / "model.train" / p) for p in split["path"]]
    assert len(split) == len(rows) - 1
    resolved = [os.path.realpath(p) for p in split["path"]]
    assert len(set(resolved)) == len(resolved)
    digests = [hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in split["path"]]
    assert len(set(digests)) == len(digests)  # no image in two splits (or twice in one)
    warnings = json.loads((out / "model.json").read_text())["metrics"]["warnings"]
    assert any(f"line {dup_line}" in w and "merged into line 2" in w for w in warnings)
    assert snapshot(tmp_path) == {**before, **{k: v for k, v in snapshot(tmp_path).items()
                                               if k.startswith("out")}}


@pytest.mark.parametrize("face", ["library", "cli"])
def test_dedupe_cannot_merge_rows_with_different_labels(tmp_path, capsys, face):
    rows = write_rows(tmp_path)
    rows.append({"path": rows[0]["path"], "label": "P10", "donor": "D1"})
    manifest = write_manifest(tmp_path, rows)
    before = snapshot(tmp_path)
    out = tmp_path / "out" / "model"
    if face == "library":
        with pytest.raises(ManifestError) as info:
            train_model(manifest, tiny_train_config(), out, dedupe=True)
        message = str(info.value)
    else:
        assert main(["train", str(manifest), "--out", str(out), "--dedupe", *CLI_TINY]) == 2
        message = capsys.readouterr().err
    assert f"line {len(rows) + 1} [path]" in message and "same image as line 2" in message
    assert snapshot(tmp_path) == before and not (tmp_path / "out").exists()


def test_one_group_per_image_is_a_warning_in_the_report(tmp_path, caplog):
    rows = write_rows(tmp_path, donors=lambda d, p, k: f"D{d}{p}{k}")
    manifest = write_manifest(tmp_path, rows)
    result = train_model(manifest, tiny_train_config(), tmp_path / "model", test_report=False)
    warnings = result.metrics["warnings"]
    assert any("every image has its own 'donor'" in w for w in warnings)
    assert "every image has its own 'donor'" in caplog.text


def test_class_absent_from_test_split_is_a_warning_in_the_report(tmp_path, capsys):
    rows = write_rows(tmp_path)
    for row in rows:
        d = row["donor"]
        row["split"] = {"D1": "train", "D2": "train", "D3": "val", "D4": "test"}[d]
    rows = [r for r in rows if not (r["split"] == "test" and r["label"] == "P10")]
    manifest = write_manifest(tmp_path, rows)
    out = tmp_path / "model"
    assert main(["train", str(manifest), "--out", str(out), *CLI_TINY]) == 0
    assert "P10 have no image in the test split" in capsys.readouterr().err
    warnings = json.loads((out / "model.json").read_text())["metrics"]["warnings"]
    assert any("P10 have no image in the test split" in w for w in warnings)
    assert not any("validation split" in w for w in warnings)
