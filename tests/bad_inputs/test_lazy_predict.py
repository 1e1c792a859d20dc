"""Huge-image prediction and --score-maps files: refused cases with a message and nothing lost.

Each case asserts the exit status, a stderr message naming the offending file or
option and saying what to do, and that every file in the workspace is
byte-identical afterwards.
"""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from corpus_helpers import snapshot, stderr_lines

import napari_msc_morph.inference.lazy as lazy_mod
from napari_msc_morph.cli import main


@pytest.fixture(scope="module")
def gray_bundle(tmp_path_factory):
    import torch

    from napari_msc_morph.models import BundleConfig, create_backbone, save_bundle

    config = BundleConfig(task="osteogenic", backbone="test_resnet", input_size=32, in_chans=1,
                          tiling="grid", pixel_size_um=0.65)
    torch.manual_seed(0)
    model = create_backbone("test_resnet", num_classes=config.num_classes, in_chans=1)
    return save_bundle(model, config, tmp_path_factory.mktemp("bundle") / "gray.zip")


@pytest.fixture
def work(tmp_path, monkeypatch, gray_bundle):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    field = rng.integers(0, 4000, (96, 96), dtype=np.uint16)
    tifffile.imwrite("mosaic.tif", field, bigtiff=True, tile=(32, 32),
                     resolution=(1 / 0.65, 1 / 0.65), resolutionunit=5)
    tifffile.imwrite("strips.tif", field, bigtiff=True)  # one strip: one huge chunk
    (tmp_path / "maps.zarr").mkdir()
    (tmp_path / "maps.zarr" / ".zgroup").write_text('{"zarr_format": 2}')
    (tmp_path / "maps.tif").write_bytes(b"earlier maps")
    return tmp_path


def _refused(work, capsys, argv, expected, code=2):
    before = snapshot(work)
    assert main(argv) == code
    err = " ".join(stderr_lines(capsys.readouterr().err))
    for part in expected:
        assert part in err, (part, err)
    assert snapshot(work) == before


PREDICT = ["predict", "BUNDLE", "mosaic.tif", "--out", "p.csv", "--quiet", "--device", "cpu"]


@pytest.mark.parametrize("maps, expected", [
    ("maps.zarr", ["--score-maps maps.zarr is a folder with files in it", "--overwrite"]),
    ("maps.tif", ["--score-maps maps.tif already exists", "--overwrite"]),
    ("maps.png", ["--score-maps maps.png", "not a .png file", "a name ending in .zarr or .tif or .tiff"]),
])
def test_score_map_outputs_refused(work, capsys, gray_bundle, maps, expected):
    argv = [str(gray_bundle) if a == "BUNDLE" else a for a in PREDICT]
    _refused(work, capsys, argv + ["--score-maps", maps], expected)


@pytest.mark.parametrize("extra, image, expected", [
    (["--tiling", "six"], "mosaic.tif",
     ["mosaic.tif is 96 x 96 px", "tile by tile with --tiling grid only", "use --tiling grid"]),
    (["--pixel-size-um", "0.2"], "mosaic.tif",
     ["mosaic.tif is 96 x 96 px at 0.2 µm/px", "Resample the file to 0.65 µm/px"]),
    ([], "strips.tif", ["strips.tif is stored in chunks of 96 x 96 px",
                        "tile=(512, 512)"]),
])
def test_huge_images_that_cannot_go_tile_by_tile(work, capsys, monkeypatch, gray_bundle,
                                                 extra, image, expected):
    monkeypatch.setattr(lazy_mod, "LAZY_MIN_PIXELS", 96 * 96)  # these files count as huge
    monkeypatch.setattr(lazy_mod, "MAX_CHUNK_BYTES", 96 * 96)  # one strip of 96 rows is too big
    argv = ["predict", str(gray_bundle), image, "--out", "p.csv", "--quiet", "--device", "cpu"]
    _refused(work, capsys, argv + extra, expected)
