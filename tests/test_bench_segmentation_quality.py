"""The segmentation benchmark scores label images made elsewhere and keeps a named test list.

It is how published segmenters (StarDist, Cellpose) and the defaults are compared on
the same images (docs/morphometry.md, "Segmentation quality"), so its scores are
checked here against counts worked out by hand on the six real BBBC039 crops.
"""

from __future__ import annotations

import runpy
import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile

ROOT = Path(__file__).resolve().parent
BENCH = ROOT.parent / "benchmarks" / "bench_segmentation_quality.py"
CROPS = ROOT / "data" / "bbbc039"


@pytest.fixture(scope="module")
def bench():
    return runpy.run_path(str(BENCH))


@pytest.fixture
def folders(tmp_path):
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    for mask in sorted(CROPS.glob("*_mask.tif")):
        name = mask.name.replace("_mask", "")
        shutil.copy(CROPS / name, images / name)
        shutil.copy(mask, masks / name)
    return images, masks


def rows(text: str) -> dict[str, dict[str, str]]:
    """The printed markdown table, by method and column."""
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    return {cells[0]: dict(zip(header[1:], cells[1:], strict=True))
            for cells in ([c.strip() for c in line.strip("|").split("|")] for line in lines[1:])}


def test_predicted_labels_are_scored_against_the_same_truth(bench, folders, tmp_path, capsys):
    images, masks = folders
    perfect, half = tmp_path / "perfect", tmp_path / "half"
    perfect.mkdir()
    half.mkdir()
    kept = missed = 0
    per_image = []
    for mask in sorted(masks.iterdir()):
        truth = tifffile.imread(mask)
        shutil.copy(mask, perfect / mask.name)
        ids = np.unique(truth[truth > 0])
        odd = ids[ids % 2 == 1]
        tifffile.imwrite(half / mask.name, np.where(np.isin(truth, odd), 0, truth))
        kept += len(ids) - len(odd)
        missed += len(odd)
        per_image.append(2 * (len(ids) - len(odd)) / (2 * (len(ids) - len(odd)) + len(odd)))

    bench["main"]([str(images), str(masks), "--predicted", str(perfect),
                   "--predicted", str(half)])
    table = rows(capsys.readouterr().out)

    assert set(table) == {"previous", "current", "perfect", "half"}
    assert table["perfect"]["F1@0.5"] == "1.000"
    assert table["perfect"]["AP@0.9"] == "1.000"
    assert table["perfect"]["DSB F1"] == "1.000"
    assert table["perfect"]["s/image"] == "n/a"
    # Dropping the odd-numbered nuclei: every kept one matches, every dropped one is missed.
    assert float(table["half"]["F1@0.5"]) == pytest.approx(2 * kept / (2 * kept + missed),
                                                           abs=5e-4)
    assert float(table["half"]["recall"]) == pytest.approx(kept / (kept + missed), abs=5e-4)
    assert table["half"]["recall@0.7"] == table["half"]["recall"]
    assert table["half"]["precision"] == "1.000"
    assert float(table["half"]["DSB F1"]) == pytest.approx(np.mean(per_image), abs=5e-4)
    assert float(table["current"]["F1@0.5"]) >= 0.85


def test_a_test_list_keeps_only_the_images_it_names(bench, folders, tmp_path, capsys):
    images, masks = folders
    names = sorted(p.name for p in images.iterdir())
    listed = tmp_path / "test.txt"
    listed.write_text(f"{Path(names[0]).stem}\n{names[3]}\n\n")

    bench["main"]([str(images), str(masks), "--stems", str(listed)])

    assert capsys.readouterr().out.startswith("2 images (all, listed)")


def test_a_prediction_folder_missing_an_image_is_refused(bench, folders, tmp_path):
    images, masks = folders
    partial = tmp_path / "partial"
    partial.mkdir()
    first = sorted(masks.iterdir())[0]
    shutil.copy(first, partial / first.name)

    with pytest.raises(SystemExit, match="no label image for 5 of the images"):
        bench["main"]([str(images), str(masks), "--predicted", str(partial)])


def test_only_labels_made_elsewhere_are_scored_when_asked(bench, folders, tmp_path, capsys):
    images, masks = folders
    with pytest.raises(SystemExit):
        bench["main"]([str(images), str(masks), "--no-defaults"])
    capsys.readouterr()

    bench["main"]([str(images), str(masks), "--no-defaults", "--predicted", str(masks)])

    assert set(rows(capsys.readouterr().out)) == {"masks"}
