"""bioimage.io export and import: bioimageio.spec validates, bioimageio.core reproduces, offline.

One tiny package (timm's test_resnet, 32 px) is exported once per module and shared.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from bioimageio_helpers import rewrite_package, tiny_bundle, without_bundle

from napari_msc_morph.bioimageio import export_bioimageio, import_bioimageio
from napari_msc_morph.cli import main
from napari_msc_morph.inference import predict_image
from napari_msc_morph.models import load_bundle


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("bioimageio")
    bundle = tiny_bundle(root / "model.zip")
    steps = []
    result = export_bioimageio(bundle, root / "package.zip", authors=["Ada Lovelace", "Ri Ng"],
                               licence="cc-by-4.0", run_test=False,
                               progress=lambda done, total, msg: steps.append((done, total, msg)))
    return bundle, result, steps


def test_export_writes_a_package_bioimageio_spec_validates_offline(exported):
    from bioimageio.spec import load_description
    from bioimageio.spec.model.v0_5 import ModelDescr

    bundle, result, steps = exported
    assert result.path.is_file() and result.validation == "valid-format"
    assert steps[0][0] == 0 and [s[2] for s in steps][:3] == ["test tensors", "weights", "package"]
    # perform_io_checks: every file's sha256 is checked; no URL is in the package to fetch
    descr = load_description(result.path, perform_io_checks=True)
    assert isinstance(descr, ModelDescr), descr.validation_summary.format()
    assert descr.validation_summary.status == "valid-format"
    assert [a.name for a in descr.authors] == ["Ada Lovelace", "Ri Ng"]
    assert str(descr.license) == "CC-BY-4.0"
    assert set(descr.weights.available_formats) == {"torchscript", "pytorch_state_dict"}
    arch = descr.weights.pytorch_state_dict.architecture
    assert (arch.import_from, str(arch.callable)) == (
        "napari_msc_morph.models.bioimageio_arch", "build_classifier")
    assert arch.kwargs == {"backbone": "test_resnet", "num_classes": 2, "in_chans": 3}
    # class names on the output, the bundle's mean/std as preprocessing, softmax after
    channel = [a for a in descr.outputs[0].axes if a.type == "channel"][0]
    assert list(channel.channel_names) == ["control", "induced"]
    config = load_bundle(bundle).config
    pre = {p.id: p for p in descr.inputs[0].preprocessing}
    assert pre["fixed_zero_mean_unit_variance"].kwargs.mean == pytest.approx(list(config.mean))
    assert pre["scale_linear"].kwargs.gain == pytest.approx(1 / 255)  # 8-bit test crop
    assert [p.id for p in descr.outputs[0].postprocessing][:1] == ["softmax"]
    assert {c.doi for c in descr.cite} >= {"10.1016/j.csbj.2026.01.008", "10.1109/CVPR.2016.90"}
    assert "image-classification" in descr.tags and "osteogenic" in descr.tags
    assert len(descr.covers) == 1 and descr.documentation is not None
    with zipfile.ZipFile(result.path) as zf:
        names = set(zf.namelist())
        readme = zf.read("README.md").decode()
        section = json.loads(zf.read("model.json"))
    assert {"model.json", "weights.safetensors", "cover.png", "test_input.npy",
            "test_output.npy"} <= names
    assert "## Validation" in readme and "control, induced" in readme
    assert section["weights_sha256"] == config.weights_sha256


def test_bioimageio_core_reproduces_the_test_outputs_of_our_predict_path(exported):
    from bioimageio.core import test_model

    bundle, result, _ = exported
    summary = test_model(result.path, devices=["cpu"])
    assert summary.status == "passed", summary.format()
    tested = {d.name for d in summary.details if d.status == "passed"}
    assert any("torchscript" in n for n in tested) and any("pytorch_state_dict" in n for n in tested)
    # the test output is what our own Predictor says about the test crop
    with zipfile.ZipFile(result.path) as zf:
        crop = np.load(zf.open("test_input.npy"))
        expected = np.load(zf.open("test_output.npy"))
    assert crop.shape == (1, 3, 32, 32) and crop.dtype == np.uint8
    ours = predict_image(load_bundle(bundle), crop[0, 0], tiling="center", device="cpu",
                         precision="fp32")
    np.testing.assert_allclose(expected[0], ours.probabilities, rtol=1e-5, atol=1e-6)
    assert result.probabilities == pytest.approx(list(expected[0]))


def _field():
    return np.random.default_rng(3).integers(0, 256, (96, 120), dtype=np.uint8)


def test_import_of_an_exported_package_gives_the_bundle_back(exported, tmp_path):
    bundle, result, _ = exported
    back = import_bioimageio(result.path, tmp_path / "back.zip")
    assert back.route == "bundle attachment" and back.class_names == ("control", "induced")
    original, imported = load_bundle(bundle), load_bundle(back.path)
    assert imported.config.weights_sha256 == original.config.weights_sha256
    assert imported.config.model_id == original.config.model_id
    a = predict_image(original, _field(), tiling="six", device="cpu", precision="fp32")
    b = predict_image(imported, _field(), tiling="six", device="cpu", precision="fp32")
    np.testing.assert_array_equal(a.tile_probabilities, b.tile_probabilities)


def test_import_of_a_state_dict_package_without_the_bundle_predicts_the_same(exported, tmp_path):
    bundle, result, _ = exported
    foreign = rewrite_package(result.path, tmp_path / "foreign.zip", without_bundle)
    with zipfile.ZipFile(foreign) as zf:
        assert "weights.safetensors" not in zf.namelist()
    back = import_bioimageio(foreign, tmp_path / "back", task="osteogenic")
    assert back.route == "pytorch_state_dict"
    original, imported = load_bundle(bundle), load_bundle(back.path)
    for key in ("class_names", "input_size", "in_chans", "backbone", "pixel_size_um"):
        assert getattr(imported.config, key) == getattr(original.config, key), key
    assert imported.config.mean == pytest.approx(original.config.mean)
    a = predict_image(original, _field(), tiling="six", device="cpu", precision="fp32")
    b = predict_image(imported, _field(), tiling="six", device="cpu", precision="fp32")
    np.testing.assert_allclose(a.tile_probabilities, b.tile_probabilities, rtol=1e-6, atol=1e-7)


def test_cli_export_of_a_percentile_bundle_reproduces_and_imports_back(tmp_path, capsys):
    from bioimageio.spec import load_description

    from napari_msc_morph.io import write_tiff

    bundle = tiny_bundle(tmp_path / "model", task="passage", intensity="percentile", in_chans=1)
    image = tmp_path / "field.tif"
    write_tiff(np.random.default_rng(1).integers(100, 4000, (40, 40), dtype=np.uint16), image,
               pixel_size_um=0.65)
    package = tmp_path / "cli-package.zip"
    rc = main(["export-bioimageio", str(bundle), "--out", str(package), "--author", "Ada",
               "--licence", "MIT", "--weights", "torchscript", "--test-image", str(image),
               "--cite", "10.1000/xyz123 Our lab (2026) Our own study."])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "bioimageio.core test: passed" in out and "torchscript ->" in out
    descr = load_description(package, perform_io_checks=False)
    assert descr.weights.pytorch_state_dict is None and descr.weights.torchscript is not None
    assert "10.1000/xyz123" in {c.doi for c in descr.cite}
    # 16-bit field, percentile bundle: the spec's scale_range does what intensity_range does
    assert [p.id for p in descr.inputs[0].preprocessing] == [
        "ensure_dtype", "scale_range", "clip", "fixed_zero_mean_unit_variance", "ensure_dtype"]
    channel = [a for a in descr.outputs[0].axes if a.type == "channel"][0]
    assert list(channel.channel_names) == [f"P{i}" for i in range(1, 11)]
    rc = main(["import-bioimageio", str(package), "--out", str(tmp_path / "bundle")])
    out = capsys.readouterr().out
    assert rc == 0 and "bundle attachment" in out
    assert load_bundle(tmp_path / "bundle").config.weights_sha256 == \
        load_bundle(bundle).config.weights_sha256


def test_small_parts_licence_citation_temperature_and_intensity_scheme():
    from types import SimpleNamespace

    from napari_msc_morph.bioimageio.parts import (
        check_licence,
        intensity_scheme,
        parse_citation,
    )
    from napari_msc_morph.models.calibration import bundle_temperature

    assert check_licence("mit") == "MIT" and check_licence(" cc-by-4.0 ") == "CC-BY-4.0"
    assert parse_citation("10.1234/ab.c Someone (2020) A title.") == (
        "Someone (2020) A title.", "10.1234/ab.c")
    # the temperature the export divides by (1.0: no scale_linear step)
    assert bundle_temperature(SimpleNamespace(calibration={"temperature": 2.5})) == 2.5
    assert bundle_temperature(SimpleNamespace(calibration={"temperature": 1.0})) == 1.0
    assert bundle_temperature(SimpleNamespace(calibration=None)) == 1.0
    auto, pct = SimpleNamespace(intensity="auto"), SimpleNamespace(intensity="percentile")
    assert intensity_scheme(auto, np.zeros((4, 4), np.uint8)) == ("linear", 0.0, 255.0)
    assert intensity_scheme(auto, np.full((4, 4), 0.5, np.float32)) == ("linear", 0.0, 1.0)
    assert intensity_scheme(auto, np.zeros((4, 4), np.uint16))[0] == "percentile"
    assert intensity_scheme(pct, np.zeros((4, 4), np.uint8))[0] == "percentile"
    assert intensity_scheme(SimpleNamespace(intensity="dtype"),
                            np.zeros((4, 4), np.uint16)) == ("linear", 0.0, 65535.0)


def test_bioimageio_core_pipeline_runs_the_package_as_the_docs_show(exported):
    from bioimageio.core import Sample, Tensor, create_prediction_pipeline
    from bioimageio.spec import load_description

    _, result, _ = exported
    pipeline = create_prediction_pipeline(load_description(result.path))
    with zipfile.ZipFile(result.path) as zf:
        crop = np.load(zf.open("test_input.npy"))
        expected = np.load(zf.open("test_output.npy"))
    sample = Sample(members={"raw": Tensor.from_numpy(crop, dims=("batch", "channel", "y", "x"))},
                    stat={}, id="crop")
    out = pipeline.predict_sample_without_blocking(sample).members["probabilities"]
    np.testing.assert_allclose(out.data.values, expected, rtol=1e-4, atol=1e-6)


def test_a_calibrated_bundle_exports_with_its_temperature_and_reproduces(tmp_path):
    # postprocessing divides the logits by T before softmax, as our Predictor does
    from bioimageio.core import test_model

    bundle = tiny_bundle(tmp_path / "model", seed=1,
                         calibration={"temperature": 2.5, "fitted_on": "validation"})
    result = export_bioimageio(bundle, tmp_path / "package.zip", authors=["Ada Lovelace"],
                               licence="cc-by-4.0", weights="torchscript", run_test=False)
    summary = test_model(result.path, devices=["cpu"])
    assert summary.status == "passed", summary.format()
    with zipfile.ZipFile(result.path) as zf:
        crop = np.load(zf.open("test_input.npy"))
        expected = np.load(zf.open("test_output.npy"))
    calibrated = predict_image(load_bundle(bundle), crop[0, 0], tiling="center", device="cpu",
                               precision="fp32")
    np.testing.assert_allclose(expected[0], calibrated.probabilities, rtol=1e-5, atol=1e-6)
    # and T changed the answer: the same weights without calibration are sharper
    plain = predict_image(load_bundle(tiny_bundle(tmp_path / "plain", seed=1)), crop[0, 0],
                          tiling="center", device="cpu", precision="fp32")
    assert abs(plain.probabilities[0] - 0.5) > abs(calibrated.probabilities[0] - 0.5)
