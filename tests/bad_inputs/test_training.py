"""Bad training/evaluation images: z-stacks, series and >3 channels are refused, never RGB.

Each case: the library raises BadInputError (a ManifestError at validation, before any
work), the CLI exits 2 with one ``msc-morph <command>: error:`` line, the message names
the file, its shape/axes and what to do, the inputs are byte-identical afterwards and
no output is written.
"""

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile
from corpus_helpers import BACKBONE, tiny_train_config

from napari_msc_morph.cli import main
from napari_msc_morph.errors import BadInputError
from napari_msc_morph.training import evaluate_model, train_model
from napari_msc_morph.training.data import load_field

SHAPE = (48, 64)


def write_tiny_set(folder: Path, n_donors=4, per_class=2) -> Path:
    """Distinct random 8-bit fields of P1 and P10 for ``n_donors`` donors + manifest.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for d in range(1, n_donors + 1):
        for p in (1, 10):
            for k in range(per_class):
                rng = np.random.default_rng([d, p, k])
                name = f"D{d}_P{p}_{k}.tif"
                level = 60 if p == 1 else 160
                tifffile.imwrite(folder / name, rng.integers(level - 40, level + 40, SHAPE,
                                                             dtype=np.uint8))
                rows.append({"path": name, "label": f"P{p}", "donor": f"D{d}"})
    manifest = folder / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest


CLI_TINY = ["--task", "passage", "--backbone", BACKBONE, "--epochs", "1", "--input-size", "32",
            "--batch-size", "4", "--crops-per-field", "1", "--val", "1", "--test", "1",
            "--device", "cpu"]


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


#: name -> (array, tifffile keywords, words the message must contain)
def _bad_image(kind):
    h, w = SHAPE
    z = np.arange(3 * h * w, dtype=np.uint8).reshape(3, h, w)
    if kind == "zstack_imagej_3_planes":  # the old bug: 3 z-planes taken for RGB
        return z, dict(imagej=True, metadata={"axes": "ZYX"}), ["z-stack", "ZYX", "project"]
    if kind == "zstack_ome_uint16":
        return (np.zeros((5, h, w), np.uint16), dict(ome=True, metadata={"axes": "ZYX"}),
                ["z-stack", "ZYX", "Z Project"])
    if kind == "five_channels":
        return (np.zeros((5, h, w), np.uint16), dict(imagej=True, metadata={"axes": "CYX"}),
                ["5 channels", "CYX", "pick the bright-field"])
    if kind == "two_channels":
        return (np.zeros((2, h, w), np.uint8), dict(imagej=True, metadata={"axes": "CYX"}),
                ["2 channels", "FILE:CHANNEL"])
    if kind == "time_series":
        return (np.zeros((4, h, w), np.uint8), dict(imagej=True, metadata={"axes": "TYX"}),
                ["time series", "TYX"])
    if kind == "zcyx_hyperstack":
        return (np.zeros((3, 2, h, w), np.uint16), dict(imagej=True, metadata={"axes": "ZCYX"}),
                ["z-stack", "ZCYX"])
    raise AssertionError(kind)


KINDS = ["zstack_imagej_3_planes", "zstack_ome_uint16", "five_channels", "two_channels",
         "time_series", "zcyx_hyperstack"]


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny_bundle")
    manifest = write_tiny_set(folder / "data")
    return train_model(manifest, tiny_train_config(), folder / "model", test_report=False).bundle_path


@pytest.mark.parametrize("face", ["train_library", "train_cli", "evaluate_library",
                                  "evaluate_cli", "load_field"])
@pytest.mark.parametrize("kind", KINDS)
def test_stacks_and_many_channels_are_refused(tmp_path, capsys, kind, face, request):
    manifest = write_tiny_set(tmp_path / "data")
    bad = tmp_path / "data" / "D2_P10_1.tif"  # manifest line 9
    data, kwargs, words = _bad_image(kind)
    tifffile.imwrite(bad, data, **kwargs)
    out = tmp_path / "out"
    before = snapshot(tmp_path / "data")

    if face == "load_field":
        with pytest.raises(BadInputError) as info:
            load_field(bad)
        message = str(info.value)
    elif face == "train_library":
        with pytest.raises(BadInputError) as info:
            train_model(manifest, tiny_train_config(), out / "model")
        message = str(info.value)
        assert "line 9 [path]" in message
    elif face == "evaluate_library":
        bundle = request.getfixturevalue("tiny_bundle")
        with pytest.raises(BadInputError) as info:
            evaluate_model(bundle, manifest, out_dir=out / "report", split="all", device="cpu")
        message = str(info.value)
        assert "line 9 [path]" in message
    else:
        if face == "train_cli":
            argv = ["train", str(manifest), "--out", str(out / "model"), *CLI_TINY]
        else:
            bundle = request.getfixturevalue("tiny_bundle")
            argv = ["evaluate", str(bundle), str(manifest), "--out", str(out / "report"),
                    "--split", "all", "--device", "cpu", "--n-boot", "0"]
        assert main(argv) == 2
        message = capsys.readouterr().err
        assert f"msc-morph {argv[0]}: error:" in message and "line 9 [path]" in message
    assert str(bad) in message
    for word in words:
        assert word in message, (word, message)
    assert "RGB" in message  # says what is accepted instead
    assert snapshot(tmp_path / "data") == before
    assert not out.exists()


@pytest.mark.parametrize("kind", ["rgb_yxs_uint8", "rgb_planar_syx", "rgba", "single_channel_cyx"])
def test_colour_and_single_plane_files_still_load(tmp_path, kind):
    h, w = SHAPE
    path = tmp_path / "x.tif"
    if kind == "rgb_yxs_uint8":
        tifffile.imwrite(path, np.zeros((h, w, 3), np.uint8), photometric="rgb")
    elif kind == "rgb_planar_syx":
        tifffile.imwrite(path, np.zeros((3, h, w), np.uint8), photometric="rgb",
                         planarconfig="separate")
    elif kind == "rgba":
        tifffile.imwrite(path, np.zeros((h, w, 4), np.uint8), photometric="rgb",
                         extrasamples=["unassalpha"])
    else:
        tifffile.imwrite(path, np.zeros((1, h, w), np.uint16), imagej=True,
                         metadata={"axes": "CYX"})
    expected = (h, w) if kind == "single_channel_cyx" else (h, w, 3)
    assert load_field(path).data.shape == expected
