import numpy as np
import pandas as pd
import pytest
import tifffile

from napari_msc_morph.cli import main
from napari_msc_morph.io import read_image, write_tiff

RNG = np.random.default_rng(1)


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "imgs"
    write_tiff(RNG.integers(0, 256, (100, 140, 3), dtype=np.uint8), folder / "a.tif", pixel_size_um=0.5)
    write_tiff(RNG.integers(0, 4000, (90, 120), dtype=np.uint16), folder / "b.tif", pixel_size_um=0.5)
    return folder


def test_cli_passage_columns(tmp_path, images, passage_bundle_path, capsys):
    out = tmp_path / "pred.csv"
    code = main(["predict", str(passage_bundle_path), str(images), "--out", str(out),
                 "--tiling", "six", "--device", "cpu", "--batch-size", "4", "--quiet"])
    assert code == 0
    table = pd.read_csv(out)
    assert len(table) == 2
    classes = [f"P{k}" for k in range(1, 11)]
    expected = (["image", "task", "model_id", "tiling", "predicted_class"]
                + [f"p_{c}" for c in classes]
                + ["interval3_lo", "interval3_hi", "interval3_p",
                   "interval5_lo", "interval5_hi", "interval5_p", "expected_passage", "n_tiles",
                   "pixel_size_um", "pixel_size_source"])
    assert list(table.columns) == expected
    assert table["image"].str.endswith(("a.tif", "b.tif")).all()
    assert (table["task"] == "passage").all() and (table["n_tiles"] == 6).all()
    np.testing.assert_allclose(table[[f"p_{c}" for c in classes]].sum(axis=1), 1.0, rtol=1e-5)
    assert set(table["predicted_class"]) <= set(classes)
    err = capsys.readouterr().err
    assert "grayscale but the model takes RGB" in err  # b.tif


def test_cli_osteogenic_grid_with_score_maps(tmp_path, images, osteo_bundle_path):
    out = tmp_path / "pred.csv"
    maps = tmp_path / "maps"
    code = main(["predict", str(osteo_bundle_path), str(images / "a.tif"), "--out", str(out),
                 "--tiling", "grid", "--score-maps", str(maps), "--device", "cpu", "--quiet"])
    assert code == 0
    table = pd.read_csv(out)
    row = table.iloc[0]
    assert row["os_score"] == pytest.approx(row["p_induced"])
    assert "interval3_lo" not in table.columns
    assert row["map_stride_px"] == 32
    os_map = read_image(maps / "a_os_score.tif")
    assert os_map.data.dtype == np.float32
    assert os_map.data.shape == (1 + (100 - 64) // 32, 1 + (140 - 64) // 32)
    assert os_map.pixel_size_um == pytest.approx(0.5 * 32)
    assert row["n_tiles"] == os_map.data.size
    assert {p.name for p in maps.iterdir()} == {"a_os_score.tif", "a_p_control.tif", "a_p_induced.tif"}


def test_cli_stack_rows_per_plane(tmp_path, osteo_bundle_path):
    stack = RNG.integers(0, 256, (3, 70, 70), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "stack.tif", stack)
    out = tmp_path / "pred.csv"
    assert main(["predict", str(osteo_bundle_path), str(tmp_path / "stack.tif"), "--out", str(out),
                 "--tiling", "center", "--device", "cpu", "--quiet"]) == 0
    table = pd.read_csv(out, dtype={"plane": str})
    assert table["plane"].tolist() == ["0", "1", "2"]


def test_cli_user_errors(tmp_path, images, osteo_bundle_path, capsys):
    out = tmp_path / "pred.csv"
    assert main(["predict", str(osteo_bundle_path), str(images), "--out", str(out),
                 "--tiling", "six", "--score-maps", str(tmp_path / "m")]) == 2
    assert "--score-maps needs --tiling grid" in capsys.readouterr().err
    (tmp_path / "model.pth").write_bytes(b"\x80\x04junk")
    assert main(["predict", str(tmp_path / "model.pth"), str(images), "--out", str(out)]) == 2
    assert "unpickling can execute arbitrary code" in capsys.readouterr().err
    assert main(["predict", str(osteo_bundle_path), str(tmp_path / "missing.tif"), "--out", str(out)]) == 2
    assert not out.exists()
