"""``msc-morph explain`` and ``explain_images`` on bad inputs: one line naming the problem,
exit 2 before any work (3 when only some images fail), inputs and earlier outputs untouched.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from corpus_helpers import snapshot, stderr_lines

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inference"))
from explain_helpers import responsive_bundle  # noqa: E402

from napari_msc_morph.cli import main  # noqa: E402
from napari_msc_morph.errors import BadInputError  # noqa: E402
from napari_msc_morph.inference import Explainer, explain_images  # noqa: E402
from napari_msc_morph.io import write_tiff  # noqa: E402
from napari_msc_morph.models import BundleConfig, ModelBundle  # noqa: E402


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return responsive_bundle(tmp_path_factory.mktemp("bundle") / "osteo.zip")


@pytest.fixture
def work(tmp_path, monkeypatch):
    rng = np.random.default_rng(9)
    write_tiff(rng.integers(0, 256, (70, 80), dtype=np.uint8), tmp_path / "images" / "a_good.tif",
               pixel_size_um=0.5)
    write_tiff(np.zeros((70, 70, 4), np.uint8), tmp_path / "rgba" / "rgba.tif")
    (tmp_path / "images" / "broken.tif").write_bytes(b"this is not a tiff")
    (tmp_path / "cams").mkdir()
    (tmp_path / "cams" / "keep.txt").write_text("an earlier run\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _refused(work, capsys, argv, *needles):
    before = snapshot(work)
    code = main(["explain", *argv])
    lines = stderr_lines(capsys.readouterr().err)
    assert code == 2, lines
    assert len(lines) == 1 and lines[0].startswith("msc-morph explain: error:")
    for needle in needles:
        assert needle in lines[0]
    assert snapshot(work) == before
    return lines[0]


def test_unknown_target(work, bundle, capsys):
    _refused(work, capsys, [str(bundle), "images/a_good.tif", "--out", "new", "--target", "OCN"],
             "--target", "'OCN'", "control, induced, predicted")


def test_existing_output_folder_is_kept(work, bundle, capsys):
    _refused(work, capsys, [str(bundle), "images/a_good.tif", "--out", "cams"],
             "--out cams", "--overwrite")


def test_output_is_an_input(work, bundle, capsys):
    _refused(work, capsys, [str(bundle), "images", "--out", "images"], "--out")


def test_output_is_a_file(work, bundle, capsys):
    _refused(work, capsys, [str(bundle), "images/a_good.tif", "--out", "cams/keep.txt"],
             "cams/keep.txt")


def test_overlap_out_of_range(work, bundle, capsys):
    _refused(work, capsys, [str(bundle), "images/a_good.tif", "--out", "new", "--overlap", "1.5"],
             "--overlap", "1.5")


def test_missing_image(work, bundle, capsys):
    _refused(work, capsys, [str(bundle), "nowhere.tif", "--out", "new"], "nowhere.tif")


def test_pickle_instead_of_a_bundle(work, capsys):
    (work / "model.pth").write_bytes(b"\x80\x04junk")
    _refused(work, capsys, ["model.pth", "images/a_good.tif", "--out", "new"], "model.pth")


def test_only_rgba_image(work, bundle, capsys):
    _refused(work, capsys, [str(bundle), "rgba/rgba.tif", "--out", "new"], "4 channels")


def test_bad_image_among_good_ones_exit_3(work, bundle, capsys):
    before = snapshot(work / "images")
    code = main(["explain", str(bundle), "images", "--out", "new", "--device", "cpu", "--quiet"])
    err = capsys.readouterr().err
    assert code == 3
    assert "broken.tif" in err
    assert snapshot(work / "images") == before
    assert (work / "new" / "a_good_gradcam.tif").is_file()
    errors = pd.read_csv(work / "new" / "gradcam.errors.csv")
    assert list(errors["image"].map(lambda p: Path(p).name)) == ["broken.tif"]
    assert not any(p.name.startswith(".") for p in (work / "new").iterdir())  # no temp files


def test_network_without_feature_maps():
    """A vision transformer's stages give tokens, not maps: refused with a message."""
    from napari_msc_morph.models import create_backbone

    config = BundleConfig(task="osteogenic", backbone="test_vit", input_size=64)
    vit = ModelBundle(create_backbone("test_vit", num_classes=2, img_size=64).eval(), config)
    with pytest.raises(BadInputError, match="Grad-CAM needs a CNN backbone"):
        explain_images(Explainer(vit, device="cpu"), [np.zeros((64, 64), np.uint8)])


def test_library_errors_name_the_option(bundle):
    with pytest.raises(BadInputError, match="on_error"):
        explain_images(bundle, [np.zeros((64, 64))], on_error="skip")
    with pytest.raises(BadInputError, match="pixel size"):
        explain_images(bundle, [np.zeros((64, 64))], pixel_size_um=-1)
    with pytest.raises(BadInputError, match="No images"):
        explain_images(bundle, [])
    with pytest.raises(BadInputError, match="tiling"):
        explain_images(bundle, [np.zeros((64, 64))], tiling="spiral")
