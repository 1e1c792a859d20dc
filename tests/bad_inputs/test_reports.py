"""Bad inputs to the honest reports: bootstrap options and a bundle's calibration.

Each case asserts the exception (library) or exit code 2 with one error line
(CLI), that the message names the option or field, that nothing was written,
and that the inputs are byte-identical afterwards.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from corpus_helpers import digests, stderr_lines

from napari_msc_morph.cli import main
from napari_msc_morph.errors import BadInputError
from napari_msc_morph.io import write_tiff
from napari_msc_morph.models import BundleConfig, create_backbone, load_bundle, save_bundle
from napari_msc_morph.models.bundle import MODEL_JSON
from napari_msc_morph.training import evaluate_model
from napari_msc_morph.training.calibration import fit_temperature


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("report_inputs")
    torch.manual_seed(0)
    config = BundleConfig(task="osteogenic", backbone="test_resnet", input_size=64)
    bundle = save_bundle(create_backbone("test_resnet", num_classes=2), config, root / "model")
    rows = []
    for k, (label, donor) in enumerate([("control", "D1"), ("induced", "D1"),
                                        ("control", "D2"), ("induced", "D2")]):
        write_tiff(np.full((64, 64), 40 + 40 * k, np.uint8), root / f"f{k}.tif",
                   pixel_size_um=1.0)
        rows.append({"path": f"f{k}.tif", "label": label, "donor": donor, "split": "test"})
    manifest = root / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return root, bundle, manifest


@pytest.mark.parametrize("option, value", [("--n-boot", "-5"), ("--bootstrap-by", "strain")])
def test_cli_bad_bootstrap_option_exit_2_names_it(study, tmp_path, capsys, option, value):
    root, bundle, manifest = study
    before = digests(root)
    out = tmp_path / "report"
    code = main(["evaluate", str(bundle), str(manifest), "--out", str(out), "--device", "cpu",
                 option, value])
    lines = stderr_lines(capsys.readouterr().err)
    assert code == 2
    assert option in lines[-1] and (value in lines[-1] or option == "--n-boot")
    assert not any(out.rglob("*.json")) and not any(out.rglob("*.md"))
    assert digests(root) == before


@pytest.mark.parametrize("n_boot", [-1, 2.5, True, "1000"])
def test_library_n_boot_is_checked_before_any_work(study, n_boot):
    _, bundle, manifest = study
    with pytest.raises(BadInputError, match="--n-boot"):
        evaluate_model(bundle, manifest, device="cpu", n_boot=n_boot,
                       progress=lambda *a: pytest.fail("predicted before checking n_boot"))


def test_library_unknown_bootstrap_column_names_it_and_the_columns(study):
    _, bundle, manifest = study
    with pytest.raises(BadInputError, match=r"'strain'.*columns: path, label, donor"):
        evaluate_model(bundle, manifest, device="cpu", bootstrap_by="strain")


@pytest.mark.parametrize("calibration, words", [
    ({"temperature": 0}, "calibration temperature"),
    ({"temperature": float("nan")}, "calibration temperature"),
    ({"temperature": "warm"}, "calibration temperature"),
    ({"fitted_on": "validation"}, "calibration"),
    ("hot", "calibration"),
])
def test_damaged_calibration_in_model_json_is_refused(study, tmp_path, calibration, words):
    _, bundle, _ = study
    copy = shutil.copytree(bundle, tmp_path / "bundle")
    data = json.loads((copy / MODEL_JSON).read_text())
    data["calibration"] = calibration
    (copy / MODEL_JSON).write_text(json.dumps(data))
    before = digests(copy)
    with pytest.raises(BadInputError, match=words) as info:
        load_bundle(copy)
    assert "model.json in bundle" in str(info.value)
    assert digests(copy) == before


def test_cli_damaged_calibration_exit_2(study, tmp_path, capsys):
    root, bundle, manifest = study
    copy = shutil.copytree(bundle, tmp_path / "bundle")
    data = json.loads((copy / MODEL_JSON).read_text())
    data["calibration"] = {"temperature": -2}
    (copy / MODEL_JSON).write_text(json.dumps(data))
    before = digests(copy, root)
    code = main(["evaluate", str(copy), str(manifest), "--out", str(tmp_path / "r"),
                 "--device", "cpu"])
    lines = stderr_lines(capsys.readouterr().err)
    assert code == 2 and "calibration temperature" in lines[-1]
    assert not (tmp_path / "r" / "metrics.json").exists() and digests(copy, root) == before


def test_fit_temperature_refuses_mismatched_targets():
    with pytest.raises(ValueError, match="3 targets for 2 images"):
        fit_temperature(np.zeros((2, 2)), [0, 1, 1])
