"""Numbers checked at the door: overlap and tiles, probabilities, pixel sizes, --min-n, --n-boot.

Every case asserts the exception (library) or exit code 2 and one error line
(CLI), that the message names the option, image or bundle, and that the
inputs are byte-identical afterwards with no output written.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile
import torch
from corpus_helpers import digests

from napari_msc_morph import tiling as tiling_module
from napari_msc_morph.analysis import correlate_study
from napari_msc_morph.analysis.correlate import correlation
from napari_msc_morph.cli import main
from napari_msc_morph.errors import BadInputError
from napari_msc_morph.inference import grid_layout, predict_images, tile_boxes
from napari_msc_morph.io import write_tiff
from napari_msc_morph.models import BundleConfig, create_backbone, load_bundle, save_bundle
from napari_msc_morph.models.checks import check_probabilities


# --------------------------------------------------------------------------- fixtures
def _bundle(path: Path, overflow: bool = False) -> Path:
    torch.manual_seed(0)
    model = create_backbone("resnet10t", num_classes=2)
    if overflow:  # finite weights that overflow float32 on any image: NaN probabilities
        with torch.no_grad():
            model.fc.weight.fill_(3e38)
            model.fc.bias.fill_(3e38)
    config = BundleConfig(task="osteogenic", backbone="resnet10t", input_size=64, tiling="grid")
    return save_bundle(model, config, path)


@pytest.fixture(scope="module")
def bundle_path(tmp_path_factory):
    return _bundle(tmp_path_factory.mktemp("numbers") / "osteo.zip")


@pytest.fixture(scope="module")
def overflow_bundle_path(tmp_path_factory):
    return _bundle(tmp_path_factory.mktemp("numbers") / "overflow.zip", overflow=True)


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "images" / "field.tif"
    write_tiff(np.random.default_rng(0).integers(0, 256, (96, 120), dtype=np.uint8), path,
               pixel_size_um=0.5)
    return path


def _cli(argv, capsys) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err.strip()


# --------------------------------------------------------------------------- overlap and tiles
@pytest.mark.parametrize("overlap", ["0.999", "0.95", "1", "-0.1", "nan", "inf"])
def test_cli_overlap_outside_0_to_0_9_fails_fast(tmp_path, bundle_path, image, capsys, overlap):
    out = tmp_path / "pred.csv"
    before = digests(bundle_path, image)
    start = time.perf_counter()
    code, err = _cli(["predict", str(bundle_path), str(image), "--out", str(out), "--tiling",
                      "grid", "--overlap", overlap, "--device", "cpu", "--quiet"], capsys)
    assert time.perf_counter() - start < 60  # it used to never finish
    assert code == 2
    line = err.splitlines()[-1]
    assert line.startswith("msc-morph predict: error:") and "--overlap" in line and "0.9" in line
    assert not out.exists() and digests(bundle_path, image) == before


@pytest.mark.parametrize("tiling", ["six", "center"])
def test_overlap_is_checked_for_every_tiling(tiling):
    with pytest.raises(BadInputError, match="overlap"):
        tile_boxes(tiling, (200, 200), 64, overlap=0.999)


@pytest.mark.parametrize("overlap", [0.0, 0.5, 0.9])
def test_overlap_limits_are_inclusive(overlap):
    assert grid_layout((300, 300), 64, overlap).stride >= 1


def test_stride_under_one_pixel_is_refused():
    with pytest.raises(BadInputError, match="stride of 0.50 px"):
        grid_layout((50, 50), 5, overlap=0.9)


def test_tile_count_ceiling_says_how_to_reduce_it():
    start = time.perf_counter()
    with pytest.raises(BadInputError) as info:
        grid_layout((40_000, 40_000), 64, overlap=0.9)  # ~44 million tiles
    assert time.perf_counter() - start < 1
    message = str(info.value)
    assert "100,000 allowed per plane" in message
    assert "--overlap" in message and "--tiling six" in message


def test_cli_tile_ceiling_exit_2(tmp_path, bundle_path, image, capsys, monkeypatch):
    monkeypatch.setattr(tiling_module, "MAX_TILES_PER_PLANE", 3)
    out = tmp_path / "pred.csv"
    before = digests(bundle_path, image)
    code, err = _cli(["predict", str(bundle_path), str(image), "--out", str(out), "--tiling",
                      "grid", "--overlap", "0.9", "--device", "cpu", "--quiet"], capsys)
    assert code == 2 and "more than the 3 allowed per plane" in err and "--overlap" in err
    assert not out.exists() and digests(bundle_path, image) == before


# --------------------------------------------------------------------------- probabilities
def test_non_finite_network_output_never_reaches_a_table(overflow_bundle_path):
    bundle = load_bundle(overflow_bundle_path)  # its weights are finite: it loads
    with pytest.raises(BadInputError) as info:
        predict_images(bundle, [np.full((80, 80), 0.5)], device="cpu")
    message = str(info.value)
    assert message.startswith("image 1:") and "overflow.zip" in message and "non-finite" in message


def test_cli_non_finite_network_output_exit_2(tmp_path, overflow_bundle_path, image, capsys):
    out = tmp_path / "pred.csv"
    before = digests(overflow_bundle_path, image)
    code, err = _cli(["predict", str(overflow_bundle_path), str(image), "--out", str(out),
                      "--device", "cpu", "--quiet"], capsys)
    assert code == 2
    line = err.splitlines()[-1]
    assert "field.tif" in line and "overflow.zip" in line and "non-finite" in line
    assert not out.exists() and digests(overflow_bundle_path, image) == before


@pytest.mark.parametrize("probs, words", [
    ([[0.5, 0.6]], "do not sum to 1"),
    ([[1.2, -0.2]], "do not sum to 1"),
    ([[np.nan, 1.0]], "non-finite"),
    ([[0.5, 0.5], [np.inf, 0.0]], "1 of 2 tile"),
])
def test_probabilities_are_checked(probs, words):
    with pytest.raises(BadInputError, match=words) as info:
        check_probabilities(np.array(probs), "a.tif", "bundle m.zip")
    assert "a.tif" in str(info.value) and "m.zip" in str(info.value)


def test_probabilities_within_tolerance_pass():
    probs = np.array([[0.5, 0.5 + 5e-5]])
    assert check_probabilities(probs, "a.tif", "m") is not None


# --------------------------------------------------------------------------- pixel sizes
@pytest.mark.parametrize("size", [-1.0, 0.0, float("nan"), float("inf")])
def test_library_pixel_size_is_refused_naming_the_option(bundle_path, size):
    with pytest.raises(BadInputError, match="pixel_size_um, --pixel-size-um"):
        predict_images(bundle_path, [np.zeros((80, 80))], pixel_size_um=size, device="cpu")


@pytest.mark.parametrize("size", ["-1", "0", "nan"])
def test_cli_predict_pixel_size_exit_2(tmp_path, bundle_path, image, capsys, size):
    out = tmp_path / "pred.csv"
    before = digests(bundle_path, image)
    code, err = _cli(["predict", str(bundle_path), str(image), "--out", str(out),
                      "--pixel-size-um", size, "--device", "cpu", "--quiet"], capsys)
    # an option for every image: checked once, before any image, naming the option
    assert code == 2 and "--pixel-size-um" in err and size in err.lower()
    assert not out.exists() and digests(bundle_path, image) == before


@pytest.mark.parametrize("size", ["-1", "0", "nan"])
def test_cli_measure_pixel_size_exit_2(tmp_path, capsys, size):
    labels = tmp_path / "labels.tif"
    data = np.zeros((40, 40), np.uint16)
    data[5:15, 5:15] = 1
    write_tiff(data, labels)
    out = tmp_path / "cells.csv"
    before = digests(labels)
    code, err = _cli(["measure", str(labels), "--pixel-size", size, "--out", str(out)], capsys)
    assert code == 2 and "--pixel-size" in err
    assert not out.exists() and digests(labels) == before


def test_negative_ome_pixel_size_is_refused_naming_the_file(tmp_path, bundle_path, capsys):
    path = tmp_path / "neg.ome.tif"
    tifffile.imwrite(path, np.zeros((80, 80), np.uint8), ome=True,
                     metadata={"axes": "YX", "PhysicalSizeX": -0.5, "PhysicalSizeY": -0.5})
    out = tmp_path / "pred.csv"
    before = digests(path)
    code, err = _cli(["predict", str(bundle_path), str(path), "--out", str(out), "--device", "cpu",
                      "--quiet"], capsys)
    assert code == 2 and "neg.ome.tif" in err and "PhysicalSizeX" in err
    assert not out.exists() and digests(path) == before


# --------------------------------------------------------------------------- correlation
def _study_files(folder: Path, n_samples: int = 6) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    ids = [f"S{k}" for k in range(n_samples)]
    score = np.linspace(0, 1, n_samples)
    scores = pd.DataFrame({"sample_id": ids, "osscore": score})
    readouts = pd.DataFrame({"sample_id": ids, "marker": "RUNX2", "assay": "qPCR",
                             "value": 3 * score + rng.normal(0, 0.2, n_samples)})
    folder.mkdir(parents=True, exist_ok=True)
    scores.to_csv(folder / "scores.csv", index=False)
    readouts.to_csv(folder / "readouts.csv", index=False)
    return folder / "scores.csv", folder / "readouts.csv"


@pytest.mark.parametrize("option, value", [
    ("--min-n", "1"), ("--min-n", "2"), ("--min-n", "0"), ("--min-n", "-4"),
    ("--n-boot", "1"), ("--n-boot", "50"), ("--n-boot", "99"), ("--n-boot", "-1"),
])
def test_cli_correlate_min_n_and_n_boot_exit_2(tmp_path, capsys, option, value):
    scores, readouts = _study_files(tmp_path / "in")
    out = tmp_path / "corr.csv"
    before = digests(tmp_path / "in")
    code, err = _cli(["correlate", str(scores), str(readouts), "--out", str(out), option, value],
                     capsys)
    assert code == 2
    line = err.splitlines()[-1]
    assert line.startswith("msc-morph correlate: error:") and option in line
    assert not out.exists() and digests(tmp_path / "in") == before


@pytest.mark.parametrize("kwargs, option", [
    (dict(min_n=2), "--min-n"), (dict(min_n=2.5), "--min-n"), (dict(n_boot=10), "--n-boot"),
    (dict(n_boot=True), "--n-boot"),
])
def test_library_min_n_and_n_boot(tmp_path, kwargs, option):
    scores, readouts = _study_files(tmp_path)
    with pytest.raises(BadInputError, match=option):
        correlate_study(scores, readouts, **kwargs)
    with pytest.raises(BadInputError, match=option):
        correlation([1, 2, 3, 4], [1, 3, 2, 4], **kwargs)


def test_n_boot_0_states_no_ci(tmp_path, capsys):
    scores, readouts = _study_files(tmp_path / "in")
    study = correlate_study(scores, readouts, n_boot=0)
    results = study.results.set_index("method")
    assert np.isnan(results.loc["spearman", ["ci_low", "ci_high"]].astype(float)).all()
    assert "n_boot = 0" in results.loc["spearman", "warning"]
    assert np.isfinite(results.loc["spearman", "r"]) and np.isfinite(results.loc["spearman", "p"])
    assert np.isfinite(results.loc["pearson", "ci_low"])  # analytic CI: no bootstrap needed
    assert any("no confidence interval" in w for w in study.warnings)
    out = tmp_path / "corr.csv"
    code, err = _cli(["correlate", str(scores), str(readouts), "--out", str(out), "--n-boot",
                      "0"], capsys)
    assert code == 0 and "warning: no confidence interval: n_boot = 0" in err
    table = pd.read_csv(out)
    assert table.loc[table["method"] == "spearman", "warning"].str.contains("n_boot = 0").all()


def test_min_n_3_reports_r_but_no_p_and_says_why(tmp_path):
    scores, readouts = _study_files(tmp_path, n_samples=3)
    study = correlate_study(scores, readouts, min_n=3, n_boot=100)
    for _, row in study.results.iterrows():
        assert row["n"] == 3 and np.isfinite(row["r"])
        assert np.isnan(row["p"]) and np.isnan(row["q"])
        assert "p is not reported below 4 samples (n = 3)" in row["warning"]
    pearson = study.results.set_index("method").loc["pearson"]
    assert np.isnan(pearson["ci_low"]) and "no confidence interval" in pearson["warning"]
    assert any("p is not reported" in w for w in study.warnings)


def test_collecting_failures_never_turns_a_bad_option_into_per_image_failures(tmp_path):
    from napari_msc_morph.errors import BadInputError
    from napari_msc_morph.inference import predict_images
    from napari_msc_morph.io import write_tiff

    for name in ("a.tif", "b.tif"):
        write_tiff(np.zeros((40, 40), np.uint8), tmp_path / name)
    for kwargs, option in ((dict(overlap=0.999), "--overlap"),
                           (dict(pixel_size_um=-1.0), "--pixel-size-um")):
        with pytest.raises(BadInputError, match=option):
            predict_images(tmp_path / "missing-bundle.zip", [tmp_path], on_error="collect",
                           **kwargs)
