"""Hand-edited bundles (issue 25): fingerprints, classes that fit the task, encodings, NaN.

Every refusal asserts the exception (library) or exit code 2 (CLI), a message that names
the file and the key or classes at fault, and that the bundle is byte-identical afterwards.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from corpus_helpers import BACKBONE, digests, stderr_lines

from napari_msc_morph.cli import main
from napari_msc_morph.errors import BadInputError
from napari_msc_morph.io import write_tiff
from napari_msc_morph.models import (
    BundleConfig,
    create_backbone,
    load_bundle,
    read_bundle_config,
    save_bundle,
)
from napari_msc_morph.models.bundle import MODEL_JSON


def _save(path: Path, **kw) -> Path:
    config = BundleConfig(task=kw.pop("task", "osteogenic"), backbone=BACKBONE, input_size=32,
                          pixel_size_um=0.65, **kw)
    torch.manual_seed(0)
    model = create_backbone(BACKBONE, num_classes=config.num_classes)
    return save_bundle(model, config, path)


@pytest.fixture(scope="module")
def base_bundle(tmp_path_factory):
    return _save(tmp_path_factory.mktemp("round2") / "bundle")


@pytest.fixture
def bundle_dir(tmp_path, base_bundle):
    return Path(shutil.copytree(base_bundle, tmp_path / "bundle"))


def _data(bundle: Path) -> dict:
    return json.loads((bundle / MODEL_JSON).read_text())


def _edit(bundle: Path, **changes) -> None:
    data = _data(bundle)
    data.update(changes)
    (bundle / MODEL_JSON).write_text(json.dumps(data))


def _predict(bundle, tmp_path, capsys):
    image = tmp_path / "field.tif"
    write_tiff(np.random.default_rng(0).integers(0, 256, (40, 40), dtype=np.uint8), image,
               pixel_size_um=0.65)
    out = tmp_path / "pred.csv"
    rc = main(["predict", str(bundle), str(image), "--out", str(out), "--device", "cpu",
               "--quiet"])
    return rc, stderr_lines(capsys.readouterr().err), out


# --------------------------------------------------------------------------- fingerprint
@pytest.mark.parametrize("change", [
    pytest.param(lambda d: d.update(class_names=d["class_names"][::-1]), id="classes-swapped"),
    pytest.param(lambda d: d.update(calibration={"temperature": 3.0}), id="temperature"),
    pytest.param(lambda d: d.update(temperature=0.5), id="top-level-temperature"),
    pytest.param(lambda d: d.update(mean=[0.4, 0.4, 0.4]), id="mean"),
    pytest.param(lambda d: d.update(pixel_size_um=1.3), id="pixel-size"),
    pytest.param(lambda d: d.update(intensity="percentile"), id="intensity"),
    pytest.param(lambda d: d.update(positive_class="control"), id="positive-class"),
    pytest.param(lambda d: d.update(input_size=48), id="input-size"),
])
def test_a_hand_edit_that_changes_the_outputs_is_refused(bundle_dir, tmp_path, capsys, change):
    data = _data(bundle_dir)
    change(data)
    (bundle_dir / MODEL_JSON).write_text(json.dumps(data))
    before = digests(bundle_dir)
    with pytest.raises(BadInputError, match="edited after the bundle was written") as info:
        load_bundle(bundle_dir)
    assert "model.json in bundle" in str(info.value) and data["model_id"] in str(info.value)
    with pytest.raises(BadInputError, match="edited after"):
        read_bundle_config(bundle_dir)
    rc, lines, out = _predict(bundle_dir, tmp_path, capsys)
    assert rc == 2 and "edited after the bundle was written" in lines[-1], lines
    assert not out.exists() and digests(bundle_dir) == before


def test_an_edited_model_id_is_refused_naming_it(bundle_dir):
    _edit(bundle_dir, model_id="osteogenic-best-model")
    with pytest.raises(BadInputError, match="model_id no longer matches"):
        load_bundle(bundle_dir)


@pytest.mark.parametrize("change", [
    dict(description="my favourite model"),
    dict(tiling="grid"),
    dict(metrics={"val_accuracy": 0.9}),
    dict(created="2020-01-01T00:00:00+00:00"),
])
def test_edits_that_leave_the_outputs_alone_still_load(bundle_dir, change):
    model_id = _data(bundle_dir)["model_id"]
    _edit(bundle_dir, **change)
    assert load_bundle(bundle_dir).config.model_id == model_id


def test_the_model_id_changes_with_class_order_temperature_and_weights(tmp_path):
    base = read_bundle_config(_save(tmp_path / "a"))
    again = read_bundle_config(_save(tmp_path / "a2"))
    swapped = read_bundle_config(_save(tmp_path / "b", class_names=("induced", "control")))
    warm = read_bundle_config(_save(tmp_path / "c", calibration={"temperature": 2.0}))
    assert base.model_id == again.model_id  # the same model keeps its id
    assert len({base.model_id, swapped.model_id, warm.model_id}) == 3
    config = BundleConfig(task="osteogenic", backbone=BACKBONE, input_size=32, pixel_size_um=0.65)
    torch.manual_seed(1)  # other weights
    other = save_bundle(create_backbone(BACKBONE, num_classes=2), config, tmp_path / "d")
    assert read_bundle_config(other).model_id != base.model_id


def test_a_bundle_without_a_fingerprint_still_loads(bundle_dir):
    # bundles written before fingerprints existed cannot be checked; they keep working
    data = _data(bundle_dir)
    data.pop("output_sha256")
    (bundle_dir / MODEL_JSON).write_text(json.dumps(data))
    assert load_bundle(bundle_dir).config.model_id == data["model_id"]


# --------------------------------------------------------------------------- task fit
@pytest.mark.parametrize("task, classes, words", [
    ("passage", ["control", "induced"], ["'passage'", "control (a osteogenic class)", "P1, P2"]),
    ("passage", ["P10", "P1"], ["'passage'", "increasing", "P1, P2"]),
    ("passage", ["early", "late"], ["'passage'", "number in every class name"]),
    ("osteogenic", ["P1", "P5"], ["'osteogenic'", "P1 (a passage class)", "control, induced"]),
    ("nsc_fate", ["control", "induced"], ["'nsc_fate'", "neuron, astrocyte"]),
    ("source", ["neuron", "glia"], ["'source'", "neuron (a nsc_fate class)"]),
])
def test_classes_that_do_not_fit_the_task_are_refused(tmp_path, capsys, task, classes, words):
    with pytest.raises(BadInputError) as info:
        BundleConfig(task=task, backbone=BACKBONE, input_size=32, class_names=classes)
    assert all(w in str(info.value) for w in words), str(info.value)
    # the same, hand-written into a bundle's model.json (no fingerprint to catch it first)
    bundle = _save(tmp_path / "b")
    data = _data(bundle)
    data.update(task=task, class_names=classes, output_sha256="", score=None,
                positive_class=None)
    (bundle / MODEL_JSON).write_text(json.dumps(data))
    before = digests(bundle)
    rc, lines, out = _predict(bundle, tmp_path, capsys)
    assert rc == 2 and "model.json in b" in lines[-1] and f"task {task!r}" in lines[-1], lines
    assert not out.exists() and digests(bundle) == before


@pytest.mark.parametrize("task, classes", [
    ("passage", ["P2", "P4", "P6"]),
    ("osteogenic", ["day0", "day7", "day14"]),
    ("nsc_fate", ["neuron", "glia"]),
    ("source", ["umbilical_cord", "adipose"]),
])
def test_classes_that_fit_the_task_are_accepted(task, classes):
    config = BundleConfig(task=task, backbone=BACKBONE, input_size=32, class_names=classes)
    assert list(config.class_names) == classes


# --------------------------------------------------------------------------- encodings
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8-sig", "utf-32"])
@pytest.mark.parametrize("as_zip", [False, True], ids=["folder", "zip"])
def test_model_json_saved_in_another_unicode_encoding_loads(bundle_dir, tmp_path, encoding,
                                                           as_zip):
    text = (bundle_dir / MODEL_JSON).read_text()
    (bundle_dir / MODEL_JSON).write_bytes(text.encode(encoding))
    bundle = bundle_dir
    if as_zip:
        bundle = tmp_path / "bundle.zip"
        with zipfile.ZipFile(bundle, "w") as zf:
            for p in bundle_dir.iterdir():
                zf.write(p, p.name)
    assert load_bundle(bundle).config.class_names == ("control", "induced")


def test_model_json_that_is_no_unicode_text_names_the_file_and_byte(bundle_dir, tmp_path,
                                                                   capsys):
    raw = (bundle_dir / MODEL_JSON).read_bytes().replace(b'"control"', b'"contr\xf4l"')
    (bundle_dir / MODEL_JSON).write_bytes(raw)
    before = digests(bundle_dir)
    rc, lines, out = _predict(bundle_dir, tmp_path, capsys)
    assert rc == 2 and "model.json" in lines[-1] and "byte" in lines[-1], lines
    assert "UTF-8" in lines[-1] and not out.exists() and digests(bundle_dir) == before


# --------------------------------------------------------------------------- NaN / Infinity
@pytest.mark.parametrize("key, literal", [
    ("input_size", "NaN"),
    ("in_chans", "Infinity"),
    ("schema_version", "NaN"),
    ("pixel_size_um", "-Infinity"),
    ("grid_overlap", "NaN"),
    ("temperature", "Infinity"),
])
def test_nan_where_a_number_belongs_names_the_file_and_key(bundle_dir, tmp_path, capsys, key,
                                                          literal):
    data = _data(bundle_dir)
    data[key] = "@@"
    (bundle_dir / MODEL_JSON).write_text(json.dumps(data).replace('"@@"', literal))
    before = digests(bundle_dir)
    with pytest.raises(BadInputError) as info:
        load_bundle(bundle_dir)
    assert f"'{key}'" in str(info.value) and "model.json in bundle" in str(info.value)
    rc, lines, out = _predict(bundle_dir, tmp_path, capsys)
    assert rc == 2 and f"'{key}'" in lines[-1], lines
    assert not out.exists() and digests(bundle_dir) == before


def test_nan_inside_the_mean_list_names_the_key(bundle_dir):
    text = json.dumps(_data(bundle_dir)).replace('"mean": [', '"mean": [NaN, ', 1)
    data = json.loads(text)
    data["mean"] = data["mean"][:3]
    (bundle_dir / MODEL_JSON).write_text(json.dumps(data))
    with pytest.raises(BadInputError, match="key 'mean' holds"):
        load_bundle(bundle_dir)
