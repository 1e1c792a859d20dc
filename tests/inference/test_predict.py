import numpy as np
import pytest
import torch
from predict_helpers import MeanIntensityNet, make_bundle

from napari_msc_morph.errors import Cancelled
from napari_msc_morph.inference import Predictor, predict_image, predictions_table, six_region_boxes
from napari_msc_morph.inference import predict as predict_module
from napari_msc_morph.inference.preprocess import CropNormalizer, intensity_range
from napari_msc_morph.jobs import CancelToken
from napari_msc_morph.models import load_bundle

RNG = np.random.default_rng(0)


def _rgb(h=150, w=200):
    return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _mean_predictor(bundle, **kw):
    predictor = Predictor(bundle, device="cpu", precision="fp32", **kw)
    predictor.model = MeanIntensityNet(bundle.config.num_classes)
    return predictor


def test_six_tiling_boxes_and_averaging(osteo_bundle):
    image = _rgb()
    predictor = Predictor(osteo_bundle, device="cpu", precision="fp32", batch_size=4)
    result = predictor.predict(image, tiling="six")
    np.testing.assert_array_equal(result.boxes, six_region_boxes(image.shape, 64))
    assert result.tile_probabilities.shape == (6, 2)
    np.testing.assert_allclose(result.probabilities, result.tile_probabilities.mean(axis=0))
    np.testing.assert_allclose(result.tile_probabilities.sum(axis=1), 1.0, rtol=1e-5)
    # every tile is what the network says about that crop, fed on its own
    normalise = CropNormalizer(0.0, 255.0, 0.0, osteo_bundle.config.mean, osteo_bundle.config.std, True)
    y0, x0, y1, x1 = result.boxes[4]
    with torch.no_grad():
        x = torch.from_numpy(normalise(image[None, y0:y1, x0:x1]))
        alone = torch.softmax(osteo_bundle.model.float()(x), 1).numpy()[0]
    np.testing.assert_allclose(result.tile_probabilities[4], alone, atol=1e-4)
    row = result.row()
    assert row["predicted_class"] in ("control", "induced")
    assert row["os_score"] == pytest.approx(row["p_induced"])
    assert row["n_tiles"] == 6 and row["tiling"] == "six"
    assert result.maps == {} and result.map_scale is None


def test_center_tiling(osteo_bundle):
    result = predict_image(osteo_bundle, _rgb(), tiling="center", device="cpu", precision="fp32")
    assert result.n_tiles == 1 and result.boxes.tolist() == [[43, 68, 107, 132]]


def test_grid_map_is_aligned_with_the_tiles(osteo_bundle):
    image = np.zeros((160, 224), np.uint8)
    image[:80, 100:] = 255  # bright upper-right block
    predictor = _mean_predictor(osteo_bundle)
    result = predictor.predict(image, tiling="grid", overlap=0.5)
    os_map = result.maps["os_score"]
    assert os_map.shape == (1 + (160 - 64) // 32, 1 + (224 - 64) // 32)
    assert set(result.maps) == {"os_score", "p_control", "p_induced"}
    np.testing.assert_allclose(result.maps["p_induced"], os_map)
    boxes = result.boxes.reshape(*os_map.shape, 4)
    normalise = CropNormalizer(0.0, 255.0, 0.0, osteo_bundle.config.mean, osteo_bundle.config.std, False)
    for i in range(os_map.shape[0]):
        for j in range(os_map.shape[1]):
            y0, x0, y1, x1 = boxes[i, j]
            # map pixel (i, j) sits on its tile's centre
            centre = np.array(result.map_translate) + np.array(result.map_scale) * (i, j)
            np.testing.assert_allclose(centre, [(y0 + y1 - 1) / 2, (x0 + x1 - 1) / 2])
            # and holds that tile's score
            logits = MeanIntensityNet(2)(torch.from_numpy(normalise(image[None, y0:y1, x0:x1])))
            assert os_map[i, j] == pytest.approx(float(torch.softmax(logits, 1)[0, 1]), abs=1e-5)
    assert os_map[0, -1] > os_map[-1, 0]  # bright corner scores higher


def test_passage_bundle_rows_have_intervals(passage_bundle_path):
    bundle = load_bundle(passage_bundle_path)
    result = predict_image(bundle, _rgb(128, 128), device="cpu", precision="fp32")
    assert result.tiling == "grid"  # the bundle's default
    row = result.row()
    for key in ("interval3_lo", "interval3_hi", "interval3_p", "interval5_lo", "interval5_hi",
                "interval5_p", "expected_passage"):
        assert key in row
    assert row["interval3_hi"] - row["interval3_lo"] == 2
    assert 1 <= row["expected_passage"] <= 10
    assert set(result.maps) == {"expected_passage"} | {f"p_P{k}" for k in range(1, 11)}
    table = predictions_table([result], extra=[{"image": "a.tif"}])
    assert list(table.columns[:3]) == ["image", "task", "model_id"]


@pytest.mark.parametrize(
    "image",
    [
        RNG.integers(0, 4096, (100, 120), dtype=np.uint16),  # 12-bit camera in 16 bit
        RNG.normal(1000.0, 50.0, (100, 120)).astype(np.float32),  # float, any range
        RNG.random((100, 120)),  # float64 in [0, 1]
        RNG.integers(-50, 50, (100, 120), dtype=np.int16),
        RNG.random((100, 120)) > 0.5,
    ],
    ids=["uint16", "float32-large", "float64-unit", "int16", "bool"],
)
def test_dtypes_give_finite_probabilities(osteo_bundle, image):
    result = Predictor(osteo_bundle, device="cpu", precision="fp32").predict(image, name="field")
    assert np.all(np.isfinite(result.probabilities))
    assert any("grayscale but the model takes RGB" in n for n in result.notices)


def test_intensity_ranges():
    assert intensity_range(np.zeros((4, 4), np.uint8))[:2] == (0.0, 255.0)
    img16 = np.arange(10000, dtype=np.uint16).reshape(100, 100)
    lo, hi, _ = intensity_range(img16)
    assert 0 < lo < 100 and 9900 < hi < 10000
    assert intensity_range(img16, "dtype")[:2] == (0.0, 65535.0)
    flat = np.full((8, 8), 7.0)
    lo, hi, _ = intensity_range(flat)
    assert hi > lo
    with pytest.raises(ValueError, match="no finite pixel"):
        intensity_range(np.full((4, 4), np.nan))


def test_nan_and_inf_pixels_are_filled_with_a_notice(osteo_bundle):
    image = RNG.random((100, 100)).astype(np.float32) * 500
    image[10:20, 10:20] = np.nan
    image[0, 0] = np.inf
    result = Predictor(osteo_bundle, device="cpu", precision="fp32").predict(image, name="nan-field")
    assert np.all(np.isfinite(result.probabilities))
    assert any("NaN/Inf pixel values" in n and "nan-field" in n for n in result.notices)


def test_grayscale_bundle_on_rgb_converts_with_notice(tmp_path):
    bundle = load_bundle(make_bundle(tmp_path / "gray", in_chans=1))
    result = Predictor(bundle, device="cpu", precision="fp32").predict(_rgb(), name="rgb-layer")
    assert any("RGB but the model takes grayscale" in n for n in result.notices)


def test_four_channel_image_is_an_error_naming_the_layer(osteo_bundle):
    image = np.zeros((80, 80, 4), np.uint8)
    with pytest.raises(ValueError, match="my-layer has 4 channels"):
        Predictor(osteo_bundle, device="cpu").predict(image, name="my-layer")


def test_small_images_are_reflect_padded(osteo_bundle):
    result = Predictor(osteo_bundle, device="cpu", precision="fp32").predict(
        _rgb(40, 30), tiling="six", name="tiny"
    )
    assert result.n_tiles == 6
    assert any("tiny (40x30 px) is smaller" in n and "reflect-padded" in n for n in result.notices)


def test_stack_with_leading_axes(osteo_bundle):
    stack = RNG.integers(0, 256, (2, 3, 70, 80), dtype=np.uint8)
    predictor = Predictor(osteo_bundle, device="cpu", precision="fp32")
    results = predictor.predict_stack(stack, tiling="center")
    assert [r.plane for r in results] == [(i, j) for i in range(2) for j in range(3)]
    single = predictor.predict(stack[1, 2], tiling="center")
    np.testing.assert_allclose(results[5].probabilities, single.probabilities, atol=1e-6)
    with pytest.raises(ValueError, match="stack of 6 planes"):
        predictor.predict(stack)
    rgb_stack = RNG.integers(0, 256, (2, 70, 80, 3), dtype=np.uint8)
    assert len(predictor.predict_stack(rgb_stack, tiling="center")) == 2


def test_progress_and_cancel(osteo_bundle):
    predictor = Predictor(osteo_bundle, device="cpu", precision="fp32", batch_size=2)
    gen = predictor.predict_steps(_rgb(), tiling="six")
    assert [next(gen) for _ in range(3)] == [(2, 6), (4, 6), (6, 6)]
    # cancelled after the first batch: the next check raises
    token = CancelToken()
    steps = predictor.predict_steps(_rgb(), tiling="six", cancel=token)
    assert next(steps) == (2, 6)
    token.cancel()
    with pytest.raises(Cancelled):
        next(steps)


class LazyImage:
    """An array-like that records how much it is asked for at a time."""

    def __init__(self, array):
        self._array = array
        self.shape, self.dtype = array.shape, array.dtype
        self.largest_read = 0

    def __getitem__(self, key):
        out = self._array[key]
        self.largest_read = max(self.largest_read, out.size)
        return out


def test_memory_stays_bounded_on_large_lazy_images(osteo_bundle, monkeypatch):
    from napari_msc_morph.inference import preprocess

    monkeypatch.setattr(preprocess, "_MAX_SAMPLE_PIXELS", 64 * 64)
    image = LazyImage(RNG.integers(0, 256, (640, 512), dtype=np.uint8))
    predictor = _mean_predictor(osteo_bundle, batch_size=4)
    gen = predictor.predict_steps(image, tiling="grid", overlap=0.0)
    first = next(gen)
    assert first == (4, 80)
    # the whole image is never read at once: only crops and a subsample
    assert image.largest_read <= 64 * 64 * 1.1
    gen.close()


def test_bf16_is_used_on_cpu_only_when_it_agrees(osteo_bundle, monkeypatch):
    monkeypatch.setattr(predict_module, "_cpu_has_fast_bf16", lambda: True)
    monkeypatch.setattr(predict_module, "_BF16_AGREEMENT", {})
    predictor = Predictor(osteo_bundle, device="cpu", batch_size=8)
    assert predictor.precision == "calibrating"
    predictor.predict(_rgb(200, 200), tiling="grid", overlap=0.5)  # 25 tiles
    assert predictor.bf16_agreement is not None
    expected = "bf16" if predictor.bf16_agreement >= 0.99 else "fp32"
    assert predictor.precision == expected
    # a recorded agreement below 99% keeps float32
    osteo_bundle.config.metrics["bf16_top1_agreement"] = 0.97
    assert Predictor(osteo_bundle, device="cpu").precision == "fp32"
    osteo_bundle.config.metrics["bf16_top1_agreement"] = 0.995
    assert Predictor(osteo_bundle, device="cpu").precision == "bf16"
    monkeypatch.setattr(predict_module, "_cpu_has_fast_bf16", lambda: False)
    assert Predictor(osteo_bundle, device="cpu").precision == "fp32"


def test_bad_arguments(osteo_bundle):
    with pytest.raises(ValueError, match="precision must be one of"):
        Predictor(osteo_bundle, precision="int8")
    with pytest.raises(ValueError, match="fp16 needs a GPU"):
        Predictor(osteo_bundle, device="cpu", precision="fp16")
    with pytest.raises(ValueError, match="Unknown tiling"):
        Predictor(osteo_bundle, device="cpu").predict(_rgb(), tiling="random")
