"""``explain`` reports the calibrated probabilities ``predict`` reports (bundle temperature T)."""

import numpy as np
import pandas as pd
import pytest
from explain_helpers import responsive_bundle

from napari_msc_morph.cli import main
from napari_msc_morph.inference import explain_images, predict_images
from napari_msc_morph.io import write_tiff
from napari_msc_morph.models import load_bundle

TEMPERATURE = 4.0


@pytest.fixture(scope="module")
def hot_bundle(tmp_path_factory):
    """A bundle with temperature T = 4 and an image on which its classes are not even."""
    return responsive_bundle(tmp_path_factory.mktemp("bundle") / "osteo-t4.zip",
                             calibration={"temperature": TEMPERATURE, "fitted_on": "validation"})


@pytest.fixture
def image_file(tmp_path):
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (150, 170, 3), dtype=np.uint8)
    image[40:90, 50:120] = 255  # something for the network to respond to
    write_tiff(image, tmp_path / "field.tif", pixel_size_um=0.65)
    return tmp_path / "field.tif"


@pytest.mark.parametrize("tiling", ["grid", "six", "center"])
def test_explain_probabilities_equal_predict_at_t4(hot_bundle, image_file, tiling):
    bundle = load_bundle(hot_bundle, device="cpu")
    predicted = predict_images(bundle, [image_file], tiling=tiling, device="cpu",
                               precision="fp32")[0]
    explained = explain_images(bundle, [image_file], tiling=tiling, device="cpu",
                               precision="fp32")[0]
    np.testing.assert_allclose(explained.probabilities, predicted.probabilities, atol=1e-5)
    # and these are not the uncalibrated (T = 1) probabilities explain used to write
    raw = np.exp(np.log(predicted.probabilities) * TEMPERATURE)
    raw /= raw.sum()
    assert abs(raw[1] - predicted.probabilities[1]) > 0.01


def test_cli_explain_and_predict_tables_agree(hot_bundle, image_file, tmp_path):
    common = ["--device", "cpu", "--precision", "fp32", "--tiling", "grid"]
    assert main(["predict", str(hot_bundle), str(image_file), "--out",
                 str(tmp_path / "pred.csv"), *common]) == 0
    assert main(["explain", str(hot_bundle), str(image_file), "--out", str(tmp_path / "cams"),
                 "--quiet", *common]) == 0
    predicted = pd.read_csv(tmp_path / "pred.csv").iloc[0]
    explained = pd.read_csv(tmp_path / "cams" / "gradcam.csv").iloc[0]
    for column in ("p_control", "p_induced"):
        assert explained[column] == pytest.approx(predicted[column], abs=1e-5)
    assert explained["predicted_class"] == predicted["predicted_class"]
