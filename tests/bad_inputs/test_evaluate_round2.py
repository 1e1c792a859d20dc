"""evaluate, round 2: empty donor cells, an empty --bootstrap-by column, thresholds that are no
probability and a resample count that cannot fit. Each stops with exit 2 and one line naming the
option or the manifest lines, before any prediction, writing nothing; empty donor cells under the
default bootstrap make it resample images, with a warning naming the lines."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from corpus_helpers import digests, stderr_lines

from napari_msc_morph.cli import main
from napari_msc_morph.errors import BadInputError
from napari_msc_morph.io import write_tiff
from napari_msc_morph.models import BundleConfig, create_backbone, save_bundle
from napari_msc_morph.training import evaluate_model


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluate_round2")
    torch.manual_seed(0)
    config = BundleConfig(task="osteogenic", backbone="test_resnet", input_size=64)
    bundle = save_bundle(create_backbone("test_resnet", num_classes=2), config, root / "model")
    rows = []
    for k, (label, donor) in enumerate([("control", "D1"), ("induced", "D1"), ("control", "D2"),
                                        ("induced", "D2"), ("control", ""), ("induced", "")]):
        write_tiff(np.full((64, 64), 30 + 30 * k, np.uint8), root / f"f{k}.tif",
                   pixel_size_um=1.0)
        rows.append({"path": f"f{k}.tif", "label": label, "donor": donor, "strain": "",
                     "split": "test"})
    manifest = root / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    full = root / "full.csv"
    pd.DataFrame(rows[:4]).to_csv(full, index=False)
    return root, bundle, manifest, full


# name -> (manifest: "gaps" or "full", options, texts the one error line holds)
CASES = {
    "empty donor cells, donor named": ("gaps", ["--bootstrap-by", "donor"],
                                       ["manifest lines [6, 7] have no donor", "2 of 6",
                                        "--bootstrap-by image"]),
    "bootstrap-by an empty column": ("full", ["--bootstrap-by", "strain"],
                                     ["--bootstrap-by strain", "empty in every row",
                                      "--bootstrap-by image"]),
    "threshold above 1": ("full", ["--threshold", "1.5"], ["--threshold 1.5", "between 0 and 1"]),
    "threshold nan": ("full", ["--threshold", "nan"], ["--threshold nan", "between 0 and 1"]),
    "threshold negative": ("full", ["--threshold", "-0.2"], ["--threshold -0.2"]),
    "threshold infinite": ("full", ["--threshold", "inf"], ["--threshold inf"]),
    "n-boot a billion": ("full", ["--n-boot", "1000000000"],
                         ["--n-boot 1000000000", "needs about", "GiB", "lower --n-boot"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_cli_refuses_before_any_work(study, tmp_path, capsys, case):
    root, bundle, manifest, full = study
    which, options, expected = CASES[case]
    before = digests(root)
    out = tmp_path / "report"
    code = main(["evaluate", str(bundle), str(manifest if which == "gaps" else full),
                 "--out", str(out), "--device", "cpu", *options])
    errors = [line for line in stderr_lines(capsys.readouterr().err)
              if line.startswith("msc-morph evaluate: error: ")]
    assert code == 2 and len(errors) == 1, errors
    for text in expected:
        assert text in errors[0], (text, errors[0])
    assert not out.exists() or not any(out.iterdir())
    assert digests(root) == before


def test_empty_donor_cells_are_no_donor_by_default(study, tmp_path, capsys):
    root, bundle, manifest, _ = study
    out = tmp_path / "report"
    assert main(["evaluate", str(bundle), str(manifest), "--out", str(out), "--device", "cpu",
                 "--n-boot", "50"]) == 0
    err = capsys.readouterr().err
    assert "manifest lines [6, 7] have no donor" in err and "resample images" in err
    metrics = json.loads((out / "metrics.json").read_text())
    # the two rows without a donor were not pooled as a third donor ("from 3 donors")
    assert metrics["bootstrap_by"] == "image" and "n_donors" not in metrics
    assert "from 3 donors" not in (out / "report.md").read_text()


def test_images_resampled_when_asked_and_donors_counted_right(study, tmp_path):
    root, bundle, manifest, full = study
    ev = evaluate_model(bundle, manifest, device="cpu", n_boot=50, bootstrap_by="image")
    assert ev.metrics["bootstrap_by"] == "image" and ev.metrics["n_images"] == 6
    ev = evaluate_model(bundle, full, device="cpu", n_boot=50)
    assert ev.metrics["n_donors"] == 2  # not a third, empty one
    assert ev.metrics["bootstrap_stratified"] is False  # both donors hold both classes


@pytest.mark.parametrize("threshold", [1.01, float("nan"), "0.5", None, True])
def test_library_threshold_is_checked(study, threshold):
    _, bundle, _, full = study
    with pytest.raises(BadInputError, match="--threshold"):
        evaluate_model(bundle, full, device="cpu", threshold=threshold)
