"""--score-maps NAME.zarr / NAME.tif: OME-Zarr and OME BigTIFF maps equal the in-memory maps."""

import numpy as np
import pytest
import tifffile
import zarr
from predict_helpers import make_bundle

from napari_msc_morph._lazy import read_ome_zarr_lazy
from napari_msc_morph.cli import main
from napari_msc_morph.inference import predict_images
from napari_msc_morph.inference.score_store import score_map_array
from napari_msc_morph.io import write_tiff

RNG = np.random.default_rng(16)


@pytest.fixture(scope="module")
def maps_case(tmp_path_factory):
    root = tmp_path_factory.mktemp("maps")
    bundle = make_bundle(root / "gray", in_chans=1, tiling="grid", pixel_size_um=0.5)
    write_tiff(RNG.integers(0, 255, (150, 180), dtype=np.uint8), root / "imgs" / "a.tif",
               pixel_size_um=0.5)
    write_tiff(RNG.integers(0, 255, (2, 100, 130), dtype=np.uint8), root / "imgs" / "b.tif",
               pixel_size_um=0.5, axes="ZYX")
    predictions = predict_images(bundle, [root / "imgs"], overlap=0.5, device="cpu",
                                 precision="fp32")
    return root, bundle, predictions


@pytest.mark.parametrize("suffix", [".zarr", ".tif"])
def test_score_maps_files_equal_the_in_memory_maps(maps_case, suffix):
    root, bundle, predictions = maps_case
    out = root / f"maps{suffix}"
    assert main(["predict", str(bundle), str(root / "imgs"), "--out", str(root / f"p{suffix}.csv"),
                 "--overlap", "0.5", "--device", "cpu", "--precision", "fp32",
                 "--score-maps", str(out), "--quiet", "--overwrite"]) == 0
    assert not list(root.glob(".maps*"))  # no partial file left beside it
    for stem, prediction in zip(["a", "b"], predictions):
        names, expected = score_map_array(prediction)
        assert names == ["os_score", "p_control", "p_induced"]
        if suffix == ".zarr":
            group = zarr.open_group(str(out / stem), mode="r")
            written = group["0"][...]
            assert group["0"].chunks[-2:] == (256, 256)
            meta = group.attrs["multiscales"][0]
            scale = meta["datasets"][0]["coordinateTransformations"][0]["scale"]
            assert scale[-1] == pytest.approx(prediction.map_scale[1] * 0.5)
            # the package's own OME-Zarr reader opens each image lazily, maps as channels
            loaded = read_ome_zarr_lazy(out / stem)
            assert loaded["pixel_size_um"] == pytest.approx(prediction.map_scale[1] * 0.5)
            assert loaded["channel_names"] == names and loaded["axes"].endswith("CYX")
        else:
            with tifffile.TiffFile(out) as tif:
                series = tif.series[0 if stem == "a" else 1]
                written = series.asarray()
                assert tif.is_bigtiff and tif.is_ome and series.pages[0].is_tiled
        np.testing.assert_allclose(written, expected, atol=1e-6)
    assert written.shape[0] == 2  # the stack's planes along t
    if suffix == ".zarr":  # napari opens the container: every image's maps as layers
        from napari_msc_morph._reader import read_layers

        layers = read_layers(out)
        assert [meta["name"] for _, meta, _ in layers][:3] == [
            "a os_score", "a p_control", "a p_induced"]
        assert len(layers) == 6
        # placed on the image: map pixel (0, 0) sits on the centre of the first tile, in µm
        centre = [v * 0.5 for v in predictions[0].map_translate]
        assert layers[0][1]["translate"] == pytest.approx(centre)
        assert layers[0][1]["scale"] == pytest.approx([predictions[0].map_scale[0] * 0.5] * 2)
        np.testing.assert_allclose(np.asarray(layers[0][0]), predictions[0].maps["os_score"],
                                   atol=1e-6)


def test_a_folder_of_maps_names_files_as_the_zarr_and_bigtiff_do(maps_case, tmp_path):
    # one stem rule for every --score-maps kind: x.ome.tif gives x_<map>.tif, not x.ome_<map>.tif
    import dataclasses

    from napari_msc_morph.inference.score_store import write_score_maps

    prediction = dataclasses.replace(maps_case[2][0], name="plate/x.ome.tif")
    write_score_maps([prediction, prediction], tmp_path / "maps")
    names = {p.name for p in (tmp_path / "maps").iterdir()}
    assert names == {f"{stem}_{m}.tif" for stem in ("x", "x_2") for m in prediction.maps}
