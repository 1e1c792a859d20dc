"""Bundles from strangers: broken numbers, newer schemas, zip bombs, extra files.

Every case asserts the exception (library) or exit code 2 and one error line
(CLI), that the message names the offending tensor, field, member or file,
and that the bundle and image files are byte-identical afterwards (and no
output table was written).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from corpus_helpers import digests
from safetensors.torch import load_file
from safetensors.torch import save as save_safetensors

from napari_msc_morph.cli import main
from napari_msc_morph.errors import BadInputError
from napari_msc_morph.io import write_tiff
from napari_msc_morph.models import BundleConfig, _archive, create_backbone, load_bundle, save_bundle
from napari_msc_morph.models.bundle import MODEL_JSON, SCHEMA_VERSION, WEIGHTS_FILE


# --------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def base_bundle(tmp_path_factory):
    torch.manual_seed(0)
    config = BundleConfig(task="osteogenic", backbone="resnet10t", input_size=64)
    model = create_backbone("resnet10t", num_classes=2)
    return save_bundle(model, config, tmp_path_factory.mktemp("base") / "bundle")


@pytest.fixture
def bundle_dir(tmp_path, base_bundle):
    return Path(shutil.copytree(base_bundle, tmp_path / "bundle"))


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "images" / "field.tif"
    write_tiff(np.random.default_rng(0).integers(0, 256, (80, 90), dtype=np.uint8), path,
               pixel_size_um=0.5)
    return path


def edit_json(bundle: Path, **changes) -> None:
    data = json.loads((bundle / MODEL_JSON).read_text())
    data.update(changes)
    (bundle / MODEL_JSON).write_text(json.dumps(data))


def rewrite_weights(bundle: Path, key: str, value: float) -> None:
    """Put ``value`` into tensor ``key`` and re-sign model.json, as a stranger could."""
    state = load_file(str(bundle / WEIGHTS_FILE))
    state[key] = state[key].clone()
    state[key].view(-1)[0] = value
    data = save_safetensors(state, metadata={"format": "pt"})
    (bundle / WEIGHTS_FILE).write_bytes(data)
    edit_json(bundle, weights_sha256=hashlib.sha256(data).hexdigest())


def zip_folder(folder: Path, target: Path, extra: dict | None = None) -> Path:
    with zipfile.ZipFile(target, "w") as zf:
        for name in (MODEL_JSON, WEIGHTS_FILE):
            zf.write(folder / name, name)
        for name, data in (extra or {}).items():
            zf.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return target


def run_predict(bundle: Path, image: Path, tmp_path: Path, capsys) -> tuple[int, str, Path]:
    out = tmp_path / "pred.csv"
    code = main(["predict", str(bundle), str(image), "--out", str(out), "--device", "cpu",
                 "--quiet"])
    return code, capsys.readouterr().err, out


# --------------------------------------------------------------------------- broken numbers
BROKEN = [
    # (what to break, how, words the message must hold)
    ("fc.weight", float("nan"), ["fc.weight", "NaN"]),
    ("conv1.0.weight", float("inf"), ["conv1.0.weight", "Inf"]),
    ("conv1.1.running_var", float("-inf"), ["conv1.1.running_var", "Inf"]),
    ("fc.bias", float("nan"), ["fc.bias"]),
]


@pytest.mark.parametrize("key, value, words", BROKEN, ids=[b[0] for b in BROKEN])
def test_non_finite_weight_tensor_is_refused_naming_it(bundle_dir, key, value, words):
    rewrite_weights(bundle_dir, key, value)
    before = digests(bundle_dir)
    with pytest.raises(BadInputError) as info:
        load_bundle(bundle_dir)
    for word in [*words, "bundle"]:
        assert word in str(info.value)
    assert digests(bundle_dir) == before


@pytest.mark.parametrize("key, value, words", BROKEN[:2], ids=[b[0] for b in BROKEN[:2]])
def test_cli_non_finite_weights_exit_2(tmp_path, bundle_dir, image, capsys, key, value, words):
    rewrite_weights(bundle_dir, key, value)
    as_zip = zip_folder(bundle_dir, tmp_path / "stranger.zip")
    before = digests(bundle_dir, as_zip, image)
    code, err, out = run_predict(as_zip, image, tmp_path, capsys)
    assert code == 2
    line = err.strip().splitlines()[-1]
    assert line.startswith("msc-morph predict: error: stranger.zip")
    assert all(word in line for word in words)
    assert not out.exists() and digests(bundle_dir, as_zip, image) == before


CONFIG_CASES = [
    (dict(mean=[0.5, float("nan"), 0.5]), "mean"),
    (dict(std=[0.2, 0.0, 0.2]), "std"),
    (dict(std=[0.2, float("inf"), 0.2]), "std"),
    (dict(std=[0.2, -0.1, 0.2]), "std"),
    (dict(std=[float("nan")] * 3), "std"),
    (dict(temperature=0), "temperature"),
    (dict(temperature=float("nan")), "temperature"),
    (dict(temperature="hot"), "temperature"),
    (dict(pixel_size_um=float("nan")), "pixel_size_um"),
    (dict(pixel_size_um=0), "pixel_size_um"),
    (dict(pixel_size_um=float("inf")), "pixel_size_um"),
    (dict(pixel_size_um="0.5um"), "pixel_size_um"),
    (dict(grid_overlap=0.95), "grid_overlap"),
    (dict(input_size=100_000), "input_size"),
]


@pytest.mark.parametrize("change, name", CONFIG_CASES,
                         ids=[f"{n}={list(c.values())[0]}" for c, n in CONFIG_CASES])
def test_bad_numbers_in_model_json_are_refused_naming_the_field(bundle_dir, change, name):
    edit_json(bundle_dir, **change)
    before = digests(bundle_dir)
    with pytest.raises(BadInputError, match=name) as info:
        load_bundle(bundle_dir)
    assert "model.json in bundle" in str(info.value)
    assert digests(bundle_dir) == before


def test_cli_zero_std_exit_2(tmp_path, bundle_dir, image, capsys):
    edit_json(bundle_dir, std=[0.0, 0.0, 0.0])
    before = digests(bundle_dir, image)
    code, err, out = run_predict(bundle_dir, image, tmp_path, capsys)
    assert code == 2 and "std" in err and "model.json in bundle" in err
    assert not out.exists() and digests(bundle_dir, image) == before


def test_valid_temperature_and_null_pixel_size_load(bundle_dir):
    # as a model.json without an output fingerprint (older versions, or written by hand)
    edit_json(bundle_dir, temperature=1.5, pixel_size_um=None, output_sha256="")
    assert load_bundle(bundle_dir).config.pixel_size_um is None


# --------------------------------------------------------------------------- schema
@pytest.mark.parametrize("as_zip", [False, True], ids=["folder", "zip"])
def test_newer_schema_is_refused_naming_both_versions(tmp_path, bundle_dir, image, capsys, as_zip):
    newer = SCHEMA_VERSION + 1
    # a newer schema may rename keys: the version is judged before anything else
    data = json.loads((bundle_dir / MODEL_JSON).read_text())
    data["schema_version"] = newer
    data["network"] = data.pop("backbone")
    data["package_version"] = "9.0.0"
    (bundle_dir / MODEL_JSON).write_text(json.dumps(data))
    bundle = zip_folder(bundle_dir, tmp_path / "new.zip") if as_zip else bundle_dir
    before = digests(bundle, image)
    with pytest.raises(BadInputError) as info:
        load_bundle(bundle)
    message = str(info.value)
    assert f"schema version {newer}" in message and f"up to {SCHEMA_VERSION}" in message
    assert "9.0.0" in message and "update napari-msc-morph" in message
    code, err, out = run_predict(bundle, image, tmp_path, capsys)
    assert code == 2 and f"schema version {newer}" in err
    assert not out.exists() and digests(bundle, image) == before


# --------------------------------------------------------------------------- extra files
@pytest.mark.parametrize("as_zip", [False, True], ids=["folder", "zip"])
def test_unknown_files_are_ignored_with_a_notice(tmp_path, bundle_dir, caplog, as_zip):
    if as_zip:
        bundle = zip_folder(bundle_dir, tmp_path / "extra.zip",
                            extra={"README.txt": "hi", "__MACOSX/._model.json": "x"})
    else:
        (bundle_dir / "README.txt").write_text("notes from the lab")
        bundle = bundle_dir
    before = digests(bundle)
    with caplog.at_level(logging.INFO, logger="napari_msc_morph"):
        loaded = load_bundle(bundle)
    assert loaded.config.task == "osteogenic"
    assert any("README.txt" in r.getMessage() and "ignored" in r.getMessage()
               for r in caplog.records)
    assert digests(bundle) == before


# --------------------------------------------------------------------------- zip bombs
def _no_member_opened(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a member was opened before the limits were checked")

    monkeypatch.setattr(zipfile.ZipFile, "open", refuse)


def test_zip_bomb_is_refused_from_the_central_directory(tmp_path, bundle_dir, monkeypatch, capsys,
                                                       image):
    bomb = zip_folder(bundle_dir, tmp_path / "bomb.zip",
                      extra={"padding.bin.txt": b"\0" * (16 * 1024**2)})  # 16 MiB -> ~16 KiB
    with zipfile.ZipFile(bomb) as zf:
        assert zf.getinfo("padding.bin.txt").compress_size < 100_000  # small on disk
    before = digests(bomb, image)
    _no_member_opened(monkeypatch)
    with pytest.raises(BadInputError, match=r"member 'padding.bin.txt' is compressed .* zip bomb"):
        load_bundle(bomb)
    code, err, out = run_predict(bomb, image, tmp_path, capsys)
    assert code == 2 and "padding.bin.txt" in err and "zip bomb" in err
    assert not out.exists() and digests(bomb, image) == before


def test_huge_model_json_is_refused_before_reading(tmp_path, bundle_dir, monkeypatch):
    bomb = tmp_path / "json-bomb.zip"
    with zipfile.ZipFile(bomb, "w") as zf:
        zf.writestr(MODEL_JSON, b" " * (_archive.MAX_CONFIG_BYTES + 1),
                    compress_type=zipfile.ZIP_DEFLATED)
        zf.write(bundle_dir / WEIGHTS_FILE, WEIGHTS_FILE)
    _no_member_opened(monkeypatch)
    with pytest.raises(BadInputError, match="member 'model.json' unpacks to"):
        load_bundle(bomb)


def test_member_over_the_size_limit_is_refused(tmp_path, bundle_dir, monkeypatch):
    bundle = zip_folder(bundle_dir, tmp_path / "big.zip")
    monkeypatch.setattr(_archive, "MAX_MEMBER_BYTES", 1000)  # the weights are ~20 MB
    _no_member_opened(monkeypatch)
    with pytest.raises(BadInputError, match="member 'weights.safetensors' unpacks to"):
        load_bundle(bundle)


def test_too_many_members(tmp_path, bundle_dir, image, capsys):
    crowded = zip_folder(bundle_dir, tmp_path / "crowded.zip",
                         extra={f"junk/{k}.txt": "" for k in range(_archive.MAX_MEMBERS)})
    before = digests(crowded, image)
    with pytest.raises(BadInputError, match=rf"crowded.zip holds {_archive.MAX_MEMBERS + 2} members"):
        load_bundle(crowded)
    code, err, out = run_predict(crowded, image, tmp_path, capsys)
    assert code == 2 and "members" in err and "crowded.zip" in err
    assert not out.exists() and digests(crowded, image) == before


@pytest.mark.parametrize("member", ["../model.json", "/abs/model.json", "a/../../weights.txt"])
def test_path_traversal_members_are_refused(tmp_path, bundle_dir, member):
    bad = tmp_path / "traversal.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr(member, (bundle_dir / MODEL_JSON).read_text())
        zf.write(bundle_dir / WEIGHTS_FILE, WEIGHTS_FILE)
    before = digests(tmp_path)
    with pytest.raises(BadInputError, match="points outside the archive") as info:
        load_bundle(bad)
    assert repr(member) in str(info.value)
    assert digests(tmp_path) == before  # nothing extracted beside it (or above it)


def test_zip_members_are_streamed_not_read_whole(tmp_path, bundle_dir, monkeypatch):
    bundle = zip_folder(bundle_dir, tmp_path / "ok.zip")
    reads = []
    original = zipfile.ZipExtFile.read

    def spy(self, n=-1):
        reads.append(n)
        return original(self, n)

    monkeypatch.setattr(zipfile.ZipFile, "read", lambda *a, **k: pytest.fail("whole member read"))
    monkeypatch.setattr(zipfile.ZipExtFile, "read", spy)
    assert load_bundle(bundle).config.task == "osteogenic"
    assert reads and all(0 < n <= _archive.CHUNK_BYTES for n in reads)


def test_lying_member_size_is_cut_off(tmp_path, bundle_dir):
    """A member that inflates past its declared size stops at the limit."""
    bundle = zip_folder(bundle_dir, tmp_path / "liar.zip")
    with zipfile.ZipFile(bundle) as zf:
        info = zf.getinfo(WEIGHTS_FILE)
        with pytest.raises(BadInputError, match="unpacks past 1,000 bytes"):
            _archive._stream(zf, info, bundle, io.BytesIO(), limit=1000)
