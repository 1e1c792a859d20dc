"""``msc-morph explain``: one float32 heat map per image with its pixel size, an overlay, a summary."""

import numpy as np
import pandas as pd
import pytest
from explain_helpers import responsive_bundle
from PIL import Image

from napari_msc_morph.cli import main
from napari_msc_morph.io import read_image, write_tiff


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return responsive_bundle(tmp_path_factory.mktemp("bundle") / "osteo.zip")


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(4)
    folder = tmp_path / "imgs"
    write_tiff(rng.integers(0, 256, (90, 130, 3), dtype=np.uint8), folder / "a.tif",
               pixel_size_um=0.65)
    write_tiff(rng.integers(0, 4000, (80, 100), dtype=np.uint16), folder / "sub" / "b.tif",
               pixel_size_um=0.65)
    return folder


def test_cli_writes_aligned_heat_maps_with_pixel_size(tmp_path, images, bundle, capsys):
    out = tmp_path / "cams"
    code = main(["explain", str(bundle), str(images), "--out", str(out), "--device", "cpu",
                 "--precision", "fp32", "--quiet"])
    assert code == 0
    assert {p.name for p in out.iterdir()} == {
        "a_gradcam.tif", "a_gradcam.png", "b_gradcam.tif", "b_gradcam.png", "gradcam.csv"}
    for stem, shape in (("a", (90, 130)), ("b", (80, 100))):
        heat = read_image(out / f"{stem}_gradcam.tif")
        assert heat.data.dtype == np.float32 and heat.data.shape == shape
        assert heat.pixel_size_um == pytest.approx(0.65)
        assert heat.data.min() >= 0 and heat.data.max() == pytest.approx(1.0)
        overlay = np.asarray(Image.open(out / f"{stem}_gradcam.png"))
        assert overlay.shape == shape + (3,)
    table = pd.read_csv(out / "gradcam.csv")
    assert list(table["heatmap"]) == ["a_gradcam.tif", "b_gradcam.tif"]
    assert (table["target"] == "induced").all() and (table["target_layer"] == "layer4").all()
    assert (table["pixel_size_source"] == "file").all() and (table["coverage"] == 1.0).all()
    assert "target induced, layer layer4, grid" in capsys.readouterr().out


def test_cli_named_target_and_tiling(tmp_path, images, bundle):
    out = tmp_path / "cams"
    code = main(["explain", str(bundle), str(images / "a.tif"), "--out", str(out),
                 "--target", "control", "--tiling", "center", "--device", "cpu", "--quiet"])
    assert code == 0
    row = pd.read_csv(out / "gradcam.csv").iloc[0]
    assert row["target"] == "control" and row["tiling"] == "center" and row["coverage"] < 1


def test_cli_unknown_target_names_the_classes(tmp_path, images, bundle, capsys):
    out = tmp_path / "cams"
    code = main(["explain", str(bundle), str(images), "--out", str(out), "--target", "bone"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--target" in err and "'bone'" in err and "control, induced, predicted" in err
    assert not out.exists()
