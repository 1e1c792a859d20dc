"""Grad-CAM heat maps: the right layer, aligned with the image pixel for pixel, on the evidence."""

from pathlib import Path

import numpy as np
import pytest
import torch
from explain_helpers import BrightSpotNet, bright_spot_bundle, responsive_bundle

from napari_msc_morph.errors import BadInputError, Cancelled
from napari_msc_morph.inference import (
    Explainer,
    explain_images,
    gradcam_layer,
    heatmap_overlay,
    resolve_target,
)
from napari_msc_morph.inference.explain import blend_window, cover_field
from napari_msc_morph.jobs import CancelToken
from napari_msc_morph.models import create_backbone, get_task, load_bundle
from napari_msc_morph.tiling import grid_boxes


def _field(shape=(128, 256), spot=(40, 170, 88, 218), seed=0):
    """Dark noise with one bright square: the only thing BrightSpotNet responds to."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 40, shape, dtype=np.uint8)
    y0, x0, y1, x1 = spot
    image[y0:y1, x0:x1] = rng.integers(200, 256, (y1 - y0, x1 - x0), dtype=np.uint8)
    return image


@pytest.fixture(scope="module")
def spot_explainer():
    return Explainer(bright_spot_bundle(), device="cpu", precision="fp32")


@pytest.fixture(scope="module")
def osteo_path(tmp_path_factory):
    return responsive_bundle(tmp_path_factory.mktemp("explain") / "osteo.zip")


def test_heat_is_where_the_evidence_is(spot_explainer):
    image = _field()
    result = spot_explainer.explain(image)
    heat = result.heatmap
    assert heat.shape == image.shape and heat.dtype == np.float32
    assert heat.min() >= 0.0 and heat.max() == pytest.approx(1.0)
    assert result.target == "induced" and result.target_layer == "features"
    assert result.coverage == 1.0 and result.predicted_class == "induced"
    left, right = heat[:, :128].sum(), heat[:, 128:].sum()
    assert right > 5 * left
    inside = heat[40:88, 170:218].mean()
    assert inside > 4 * heat[:, :128].mean()
    peak = np.unravel_index(np.argmax(heat), heat.shape)
    assert 40 - 8 <= peak[0] < 88 + 8 and 170 - 8 <= peak[1] < 218 + 8


def test_mirrored_image_gives_the_mirrored_map(spot_explainer):
    # (256 - 64) and (128 - 64) are multiples of the 32 px stride: the crops are symmetric,
    # so any offset between the map and the image would break the mirror symmetry
    image = _field(seed=3)
    heat = spot_explainer.explain(image).heatmap
    flipped = spot_explainer.explain(np.ascontiguousarray(image[:, ::-1])).heatmap
    np.testing.assert_allclose(flipped, heat[:, ::-1], atol=1e-5)


def test_resampled_image_keeps_its_pixels():
    explainer = Explainer(bright_spot_bundle(pixel_size_um=1.0), device="cpu", precision="fp32")
    image = _field((256, 512), spot=(80, 340, 176, 436))  # 0.5 µm/px: resampled by 1/2
    result = explainer.explain(image, pixel_size_um=0.5)
    heat = result.heatmap
    assert heat.shape == image.shape
    assert any("resampled by 1/2" in n for n in result.notices)
    peak = np.unravel_index(np.argmax(heat), heat.shape)
    assert 80 - 16 <= peak[0] < 176 + 16 and 340 - 16 <= peak[1] < 436 + 16
    assert heat[80:176, 340:436].mean() > 4 * heat[:, :256].mean()


def test_timm_bundle_map_is_deterministic_ranged_and_not_flat(osteo_path):
    bundle = load_bundle(osteo_path)
    image = np.random.default_rng(5).integers(0, 256, (100, 150, 3), dtype=np.uint8)
    first = explain_images(bundle, [image], device="cpu", precision="fp32")[0]
    again = explain_images(bundle, [image], device="cpu", precision="fp32")[0]
    assert first.heatmap.shape == (100, 150)
    np.testing.assert_array_equal(first.heatmap, again.heatmap)
    assert first.heatmap.min() >= 0 and first.heatmap.max() == pytest.approx(1.0)
    assert first.heatmap.std() > 0.01
    assert first.target_layer == "layer4" and first.raw_max[0] > 0


def test_stack_gets_one_map_per_plane(osteo_path):
    stack = np.random.default_rng(2).integers(0, 256, (2, 70, 90), dtype=np.uint8)
    result = explain_images(osteo_path, [stack], device="cpu", precision="fp32")[0]
    assert result.heatmap.shape == (2, 70, 90)
    assert len(result.raw_max) == 2
    for plane in result.heatmap:
        assert plane.max() == pytest.approx(1.0)


def test_six_tiling_reports_what_it_did_not_see(spot_explainer):
    result = spot_explainer.explain(_field((128, 320)), tiling="six")
    assert result.coverage < 1.0
    assert (result.heatmap[:, 64:128] == 0).all()  # between the left and middle crops
    assert any("saw" in n and "--tiling grid" in n for n in result.notices)


def test_cover_field_reaches_every_border():
    boxes = cover_field(grid_boxes((150, 200), 64, 0.5), (150, 200), 64)
    covered = np.zeros((150, 200), bool)
    for y0, x0, y1, x1 in boxes:
        covered[y0:y1, x0:x1] = True
    assert covered.all()
    window = blend_window(64)
    assert window.shape == (64, 64) and 0.9 < window.max() <= 1.0 and window.min() > 0
    assert window[32, 32] > window[0, 32] > window[0, 0]


@pytest.mark.parametrize("backbone, layer", [
    ("resnet10t", "layer4"), ("resnext50_32x4d", "layer4"), ("test_resnet", "layer4"),
    ("test_convnext", "stages.3"), ("test_efficientnet", "blocks.4"),
])
def test_last_convolutional_stage_of_timm_backbones(backbone, layer):
    name, module = gradcam_layer(create_backbone(backbone, num_classes=2))
    assert name == layer
    assert any(isinstance(m, torch.nn.Conv2d) for m in module.modules())


def test_last_stage_of_a_hand_built_network_and_none_without_convolutions():
    assert gradcam_layer(BrightSpotNet())[0] == "features"
    with pytest.raises(BadInputError, match="no convolutional layer"):
        gradcam_layer(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 2)))


def test_target_defaults_and_choices():
    assert resolve_target(get_task("osteogenic"), None) == "induced"  # explains OsScore
    assert resolve_target(get_task("passage"), None) == "predicted"
    assert resolve_target(get_task("source"), "bone_marrow") == "bone_marrow"
    with pytest.raises(BadInputError, match="choose one of: control, induced, predicted"):
        resolve_target(get_task("osteogenic"), "osteoblast")


def test_named_target_and_per_tile_predicted_target(spot_explainer):
    image = _field()
    control = spot_explainer.explain(image, target="control")
    assert control.target == "control" and (control.tile_targets == 0).all()
    # control's evidence is the negative of induced's: after the ReLU nothing is left
    assert control.raw_max == [0.0] and (control.heatmap == 0).all()
    assert any("no region raised" in n for n in control.notices)
    predicted = spot_explainer.explain(image, target="predicted")
    assert predicted.target_label == "predicted class"
    assert set(predicted.tile_targets.tolist()) <= {0, 1}


def test_cancel_stops_between_batches(spot_explainer):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        explain_images(spot_explainer, [_field()], cancel=token)
    token, seen = CancelToken(), []

    def progress(done, total, message):
        seen.append(done)
        token.cancel()

    with pytest.raises(Cancelled):
        explain_images(spot_explainer, [_field(), _field(seed=1)], progress=progress,
                       cancel=token)
    assert seen and max(seen) < 200


def test_overlay_is_rgb_of_the_image_size_and_hot_where_the_map_is():
    image = np.full((40, 60), 100, np.uint16)
    heat = np.zeros((40, 60), np.float32)
    heat[:, 30:] = 1.0
    rgb = heatmap_overlay(image, heat)
    assert rgb.shape == (40, 60, 3) and rgb.dtype == np.uint8
    assert not np.array_equal(rgb[:, :30], rgb[:, 30:])
    assert (rgb[:, :30, 0] == rgb[:, :30, 1]).all()  # cold half: the gray image unchanged
    assert heatmap_overlay(np.zeros((5000, 100), np.uint8), np.zeros((5000, 100))).shape[0] <= 2048
    with pytest.raises(BadInputError, match="does not match"):
        heatmap_overlay(image, heat[:, :10])


def test_bf16_autocast_explains_like_fp32(spot_explainer):
    image = _field(seed=4)
    bf16 = Explainer(bright_spot_bundle(), device="cpu", precision="bf16").explain(image)
    assert bf16.precision == "bf16"
    reference = spot_explainer.explain(image).heatmap
    assert np.corrcoef(bf16.heatmap.ravel(), reference.ravel())[0, 1] > 0.99


def test_predict_and_explain_keeps_maps_beside_their_predictions(osteo_path, tmp_path):
    from napari_msc_morph.inference import image_input, predict_images
    from napari_msc_morph.io import write_tiff

    rng = np.random.default_rng(8)
    folder = tmp_path / "plate"
    write_tiff(rng.integers(0, 256, (70, 90), dtype=np.uint8), folder / "a.tif")
    write_tiff(rng.integers(0, 256, (80, 75), dtype=np.uint8), folder / "b.tif")
    (folder / "c.tif").write_bytes(b"not a tiff")
    layer = image_input(rng.integers(0, 256, (66, 100, 3), dtype=np.uint8), name="layer")
    seen = []
    predictions = predict_images(
        osteo_path, [folder, layer], device="cpu", on_error="collect", explain=True,
        progress=lambda done, total, message: seen.append((done, total)))
    maps = [prediction.explanation for prediction in predictions]
    assert [Path(p.name).name for p in predictions] == ["a.tif", "b.tif", "layer"]
    assert [m.heatmap.shape for m in maps] == [(70, 90), (80, 75), (66, 100)]
    assert [Path(m.name).name for m in maps] == ["a.tif", "b.tif", "layer"]
    assert [Path(f.field).name for f in predictions.failures] == ["c.tif"]
    assert seen == sorted(seen) and seen[-1] == (400, 400)  # 4 images (c.tif unreadable), a full share each
