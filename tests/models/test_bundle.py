import hashlib
import json
import pickle
import zipfile

import numpy as np
import pytest
import torch

from napari_msc_morph.models import (
    BundleConfig,
    create_backbone,
    get_task,
    load_bundle,
    read_bundle_config,
    save_bundle,
)
from napari_msc_morph.models.bundle import MODEL_JSON, SCHEMA_VERSION, WEIGHTS_FILE

BACKBONE = "resnet10t"


def _model(num_classes=2, in_chans=3, seed=0):
    torch.manual_seed(seed)
    return create_backbone(BACKBONE, num_classes=num_classes, in_chans=in_chans).eval()


def _config(**kw):
    kw.setdefault("task", "osteogenic")
    kw.setdefault("backbone", BACKBONE)
    kw.setdefault("input_size", 64)
    return BundleConfig(**kw)


def _same_outputs(a, b, in_chans=3):
    x = torch.rand(2, in_chans, 64, 64)
    with torch.no_grad():
        return torch.allclose(a.eval()(x), b.eval()(x), atol=1e-6)


@pytest.mark.parametrize("name", ["bundle", "bundle.zip"])
def test_round_trip_folder_and_zip(tmp_path, name):
    model = _model()
    config = _config(pixel_size_um=0.65, metrics={"val_auc": 0.91}, description="test")
    out = save_bundle(model, config, tmp_path / name)
    assert out == tmp_path / name
    bundle = load_bundle(out)
    assert bundle.config.class_names == ("control", "induced")
    assert bundle.config.score == "os_score"
    assert bundle.config.positive_class == "induced"
    assert bundle.config.pixel_size_um == 0.65
    assert bundle.config.metrics == {"val_auc": 0.91}
    assert bundle.config.schema_version == SCHEMA_VERSION
    assert bundle.config.package_version
    assert bundle.config.model_id.startswith("osteogenic-resnet10t-")
    assert bundle.task.name == "osteogenic"
    assert not bundle.model.training
    assert _same_outputs(model, bundle.model)
    # no temporary files left beside the bundle
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_round_trip_ordinal_custom_classes_and_grayscale(tmp_path):
    classes = ["P2", "P4", "P6", "P8"]
    model = _model(num_classes=4, in_chans=1)
    config = _config(task="passage", class_names=classes, in_chans=1, tiling="grid")
    assert config.mean == pytest.approx((np.mean([0.485, 0.456, 0.406]),))
    save_bundle(model, config, tmp_path / "p")
    bundle = load_bundle(tmp_path / "p" / MODEL_JSON)  # the json path works too
    assert bundle.config.ordinal and bundle.config.class_names == tuple(classes)
    assert bundle.config.score == "expected_passage"
    assert bundle.config.tiling == "grid"
    assert _same_outputs(model, bundle.model, in_chans=1)


def test_overwrite_existing_bundle_and_refuse_foreign_folder(tmp_path):
    save_bundle(_model(seed=0), _config(), tmp_path / "b")
    second = _model(seed=1)
    save_bundle(second, _config(), tmp_path / "b")
    assert _same_outputs(second, load_bundle(tmp_path / "b").model)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="holds other files"):
        save_bundle(_model(), _config(), tmp_path / "other")
    assert (tmp_path / "other" / "notes.txt").read_text() == "keep me"


def test_zip_with_top_level_folder_is_read(tmp_path):
    save_bundle(_model(), _config(), tmp_path / "b")
    with zipfile.ZipFile(tmp_path / "wrapped.zip", "w") as zf:
        for f in (MODEL_JSON, WEIGHTS_FILE):
            zf.write(tmp_path / "b" / f, f"my-model/{f}")
    assert load_bundle(tmp_path / "wrapped.zip").config.task == "osteogenic"
    assert read_bundle_config(tmp_path / "wrapped.zip").backbone == BACKBONE


def test_save_refuses_head_mismatch_and_pickle_name(tmp_path):
    with pytest.raises(ValueError, match="3 outputs but the config lists 2 classes"):
        save_bundle(_model(num_classes=3), _config(), tmp_path / "b")
    with pytest.raises(ValueError, match="never a pickle"):
        save_bundle(_model(), _config(), tmp_path / "model.pt")
    assert not (tmp_path / "b").exists()


# ---------------------------------------------------------------- refusals on load
def _edit_json(folder, **changes):
    data = json.loads((folder / MODEL_JSON).read_text())
    for key, value in changes.items():
        if value is KeyError:
            data.pop(key)
        else:
            data[key] = value
    (folder / MODEL_JSON).write_text(json.dumps(data))


@pytest.fixture
def bundle_dir(tmp_path):
    return save_bundle(_model(), _config(), tmp_path / "b")


def test_missing_keys(bundle_dir):
    _edit_json(bundle_dir, backbone=KeyError, weights_sha256=KeyError)
    with pytest.raises(ValueError, match="missing required keys: backbone, weights_sha256"):
        load_bundle(bundle_dir)


def test_class_count_does_not_match_head(bundle_dir):
    _edit_json(bundle_dir, class_names=["control", "day7", "induced"])
    with pytest.raises(ValueError, match="classifier with 2 outputs but model.json lists 3 classes"):
        load_bundle(bundle_dir)


def test_unknown_backbone(bundle_dir):
    _edit_json(bundle_dir, backbone="resnext50")
    with pytest.raises(ValueError, match=r"Unknown timm backbone 'resnext50'.*resnext50_32x4d"):
        load_bundle(bundle_dir)


def test_weights_hash_mismatch(bundle_dir):
    _edit_json(bundle_dir, weights_sha256="0" * 64)
    with pytest.raises(ValueError, match="does not match model.json"):
        load_bundle(bundle_dir)


def test_weights_changed_after_save(bundle_dir):
    from safetensors.torch import load_file, save_file

    state = load_file(bundle_dir / WEIGHTS_FILE)
    state["fc.bias"] = state["fc.bias"] + 1
    save_file(state, bundle_dir / WEIGHTS_FILE)
    with pytest.raises(ValueError, match="changed or corrupted"):
        load_bundle(bundle_dir)


def test_weights_for_another_backbone(bundle_dir):
    from safetensors.torch import save

    other = create_backbone("resnet18", num_classes=2).state_dict()
    data = save({k: v.contiguous() for k, v in other.items()})
    (bundle_dir / WEIGHTS_FILE).write_bytes(data)
    _edit_json(bundle_dir, weights_sha256=hashlib.sha256(data).hexdigest())
    with pytest.raises(ValueError, match="do not fit backbone 'resnet10t'"):
        load_bundle(bundle_dir)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(schema_version=SCHEMA_VERSION + 1), "update napari-msc-morph"),
        (dict(task="weather"), "Unknown task 'weather'"),
        (dict(in_chans=4), "in_chans must be 1 or 3"),
        (dict(mean=[0.5]), "mean has 1 values but in_chans is 3"),
        (dict(tiling="random"), "tiling must be one of"),
        (dict(pixel_size_um=-1), "pixel_size_um must be a positive number"),
        (dict(input_size=12.5), "input_size must be an integer"),
        (dict(class_names=["a", "a"]), "repeated class names"),
        (dict(class_names="control,induced"), "class_names must be a list"),
    ],
)
def test_invalid_values(bundle_dir, change, message):
    _edit_json(bundle_dir, **change)
    with pytest.raises(ValueError, match=message):
        load_bundle(bundle_dir)


def test_invalid_json(bundle_dir):
    (bundle_dir / MODEL_JSON).write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_bundle(bundle_dir)


def test_missing_path_and_files(tmp_path, bundle_dir):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_bundle(tmp_path / "nope.zip")
    (bundle_dir / WEIGHTS_FILE).unlink()
    with pytest.raises(FileNotFoundError, match="has no weights.safetensors"):
        load_bundle(bundle_dir)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="not a model bundle"):
        load_bundle(tmp_path / "empty")


def test_task_mismatch(bundle_dir):
    with pytest.raises(ValueError, match="model for the 'osteogenic' task, not 'passage'"):
        load_bundle(bundle_dir, task="passage")


class _Boom:
    """Unpickling this would create a file; the test proves nothing ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("suffix", [".pt", ".pth", ".ckpt"])
def test_pickles_are_refused_and_never_executed(tmp_path, suffix):
    marker = tmp_path / "executed"
    payload = tmp_path / f"model{suffix}"
    payload.write_bytes(pickle.dumps(_Boom(str(marker))))
    with pytest.raises(ValueError, match="unpickling can execute arbitrary code"):
        load_bundle(payload)
    assert not marker.exists()


def test_torch_save_zip_and_disguised_pickles_are_refused(tmp_path, bundle_dir):
    marker = tmp_path / "executed"
    # torch.save writes a zip with data.pkl inside
    torch.save({"w": torch.zeros(2)}, tmp_path / "ckpt.zip")
    with pytest.raises(ValueError, match="pickled"):
        load_bundle(tmp_path / "ckpt.zip")
    # a pickle saved under a bundle-like name
    disguised = tmp_path / "disguised.zip"
    disguised.write_bytes(pickle.dumps(_Boom(str(marker))))
    with pytest.raises(ValueError, match="pickled"):
        load_bundle(disguised)
    # a pickle renamed to weights.safetensors inside a folder bundle
    (bundle_dir / WEIGHTS_FILE).write_bytes(pickle.dumps(_Boom(str(marker))))
    with pytest.raises(ValueError, match="pickled"):
        load_bundle(bundle_dir)
    # a folder that only holds a checkpoint
    (tmp_path / "ckpt_dir").mkdir()
    torch.save({"w": torch.zeros(2)}, tmp_path / "ckpt_dir" / "model.pth")
    with pytest.raises(ValueError, match="model.pth is a pickled"):
        load_bundle(tmp_path / "ckpt_dir")
    assert not marker.exists()


def test_tasks_as_data():
    passage = get_task("passage")
    assert passage.ordinal and passage.class_names[0] == "P1" and passage.num_classes == 10
    assert get_task("source").class_names == ("umbilical_cord", "bone_marrow")
    assert get_task("nsc_fate", ["neuron", "glia"]).class_names == ("neuron", "glia")
    days = get_task("osteogenic", ["day0", "day7", "day14", "day21"])
    assert days.ordinal and days.score == "os_score" and days.positive_class is None
    two = get_task("osteogenic", ["ctrl", "osteo"])
    assert not two.ordinal and two.positive_class == "osteo"
    with pytest.raises(ValueError, match="Unknown task"):
        get_task("nope")
    with pytest.raises(ValueError, match="at least two class names"):
        get_task("source", ["only"])
