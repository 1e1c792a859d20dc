"""predict_images: the one prediction entry point (files, arrays, stacks, progress, cancel)."""

import argparse

import numpy as np
import pandas as pd
import pytest

from napari_msc_morph.cli import build_parser, main
from napari_msc_morph.errors import BadInputError, Cancelled
from napari_msc_morph.inference import (
    DEVICES,
    PRECISIONS,
    TILINGS,
    ImageInput,
    Predictor,
    image_input,
    predict_images,
    prediction_rows,
    predictions_table,
    unique_notices,
)
from napari_msc_morph.io import write_tiff
from napari_msc_morph.jobs import CancelToken
from napari_msc_morph.models import TASKS, get_task
from napari_msc_morph.models.tasks import SCORES, probability_column

RNG = np.random.default_rng(7)


def _gray(h=90, w=100):
    return RNG.integers(0, 256, (h, w), dtype=np.uint8)


def test_arrays_and_stacks_one_prediction_each(osteo_bundle):
    predictor = Predictor(osteo_bundle, device="cpu", precision="fp32")
    flat, stack = _gray(), RNG.integers(0, 256, (2, 3, 70, 80), dtype=np.uint8)
    results = predict_images(predictor, [flat, stack], tiling="grid", overlap=0.0)
    assert len(results) == 2
    assert results[0].planes == [] and results[0].leading_shape == ()
    np.testing.assert_allclose(results[0].probabilities,
                               predictor.predict(flat, tiling="grid", overlap=0.0).probabilities)
    whole = results[1]
    planes = predictor.predict_stack(stack, tiling="grid", overlap=0.0)
    assert whole.leading_shape == (2, 3) and len(whole.planes) == 6
    np.testing.assert_allclose(whole.probabilities,
                               np.mean([p.probabilities for p in planes], axis=0), atol=1e-6)
    assert whole.n_tiles == sum(p.n_tiles for p in planes)
    # maps are stacked along the stack's own leading axes
    assert whole.maps["os_score"].shape == (2, 3) + planes[0].maps["os_score"].shape
    np.testing.assert_allclose(whole.maps["os_score"][1, 2], planes[5].maps["os_score"], atol=1e-6)
    assert [r.name for r in results] == ["image 1", "image 2"]


def test_rows_per_plane_or_per_image(osteo_bundle):
    stack = RNG.integers(0, 256, (3, 70, 70), dtype=np.uint8)
    results = predict_images(osteo_bundle, [ImageInput(_gray(), name="flat"),
                                            ImageInput(stack, name="stack")],
                             tiling="center", device="cpu", precision="fp32")
    per_plane = predictions_table(results)
    assert per_plane["image"].tolist() == ["flat", "stack", "stack", "stack"]
    assert per_plane["plane"].tolist()[1:] == ["0", "1", "2"]
    per_image = prediction_rows(results, per_plane=False, image_column=False)
    assert len(per_image) == 2 and "image" not in per_image[1]
    assert per_image[1]["n_planes"] == 3
    assert per_image[1]["p_induced"] == pytest.approx(per_plane["p_induced"][1:].mean())


def test_files_use_their_pixel_size_unless_one_is_given(tmp_path):
    from predict_helpers import make_bundle

    from napari_msc_morph.models import load_bundle

    bundle = load_bundle(make_bundle(tmp_path / "coarse", in_chans=1, tiling="grid",
                                     pixel_size_um=1.0))
    write_tiff(RNG.integers(0, 256, (160, 160), dtype=np.uint8), tmp_path / "imgs" / "a.tif",
               pixel_size_um=0.5)
    from_file, = predict_images(bundle, [tmp_path / "imgs"], device="cpu", precision="fp32")
    assert from_file.name.endswith("a.tif") and from_file.pixel_size_um == 0.5
    assert any("resampled" in n for n in from_file.notices)
    given, = predict_images(bundle, [tmp_path / "imgs" / "a.tif"], device="cpu",
                            precision="fp32", pixel_size_um=1.0)
    assert given.pixel_size_um == 1.0 and not any("resampled" in n for n in given.notices)
    with pytest.raises(BadInputError, match="pixel size must be a positive"):
        predict_images(bundle, [tmp_path / "imgs"], device="cpu", pixel_size_um=-1)


def test_progress_reaches_the_end_and_cancel_raises_cancelled(osteo_bundle):
    predictor = Predictor(osteo_bundle, device="cpu", precision="fp32", batch_size=2)
    seen = []
    predict_images(predictor, [_gray(), _gray()], tiling="six",
                   progress=lambda d, t, m: seen.append((d, t, m)))
    done = [d for d, _, _ in seen]
    assert done == sorted(done) and seen[-1][:2] == (seen[-1][1], seen[-1][1])
    assert len(set(done)) > 3  # it moved batch by batch, not all at the end
    assert any("image 2" in m for _, _, m in seen)

    token = CancelToken()

    def cancel_after_first_step(done, total, message):
        token.cancel()

    with pytest.raises(Cancelled):
        predict_images(predictor, [_gray(), _gray()], tiling="six",
                       progress=cancel_after_first_step, cancel=token)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        predict_images(predictor, [_gray()], cancel=token)


def test_bad_inputs_are_named(osteo_bundle, tmp_path):
    with pytest.raises(BadInputError, match="layer 'rgba' has 4 channels"):
        image_input(np.zeros((80, 80, 4), np.uint8), name="rgba", label="layer 'rgba'")
    with pytest.raises(BadInputError, match="No images given"):
        predict_images(osteo_bundle, [], device="cpu")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInputError, match="No images found"):
        predict_images(osteo_bundle, [tmp_path / "empty"], device="cpu")
    with pytest.raises(BadInputError, match="Unknown tiling"):
        predict_images(osteo_bundle, [_gray()], tiling="random", device="cpu")


def test_notices_are_reported_once(osteo_bundle):
    results = predict_images(osteo_bundle, [_gray(), _gray()], tiling="center", device="cpu")
    notices = unique_notices(results)
    assert len(notices) == len(set(notices)) == 2  # each image named once
    assert all("grayscale but the model takes RGB" in n for n in notices)


def test_cli_table_equals_a_direct_engine_call(tmp_path, osteo_bundle_path):
    folder = tmp_path / "imgs"
    write_tiff(RNG.integers(0, 256, (100, 140, 3), dtype=np.uint8), folder / "a.tif",
               pixel_size_um=0.5)
    write_tiff(RNG.integers(0, 256, (2, 80, 90), dtype=np.uint8), folder / "s.tif")
    out = tmp_path / "pred.csv"
    assert main(["predict", str(osteo_bundle_path), str(folder), "--out", str(out),
                 "--tiling", "grid", "--device", "cpu", "--precision", "fp32", "--quiet"]) == 0
    from_cli = pd.read_csv(out, dtype={"plane": str})
    # the file names images relative to its own folder (tmp_path), as tables are read back
    assert from_cli["image"].str.startswith("imgs/").all()
    from_cli["image"] = [str(tmp_path / p) for p in from_cli["image"]]
    direct = predictions_table(predict_images(osteo_bundle_path, [folder], tiling="grid",
                                              device="cpu", precision="fp32"))
    direct = pd.read_csv(_roundtrip(direct, tmp_path), dtype={"plane": str})
    pd.testing.assert_frame_equal(from_cli, direct)


def _roundtrip(table, tmp_path):
    path = tmp_path / "direct.csv"
    table.to_csv(path, index=False)
    return path


def _choices(command: str, option: str) -> list:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    action = next(a for a in sub.choices[command]._actions if option in a.option_strings)
    return list(action.choices)


def test_cli_choices_are_the_registries():
    assert _choices("predict", "--tiling") == TILINGS.names() == ["six", "six-regions", "grid",
                                                                  "center"]
    assert _choices("predict", "--device") == DEVICES.names()
    assert _choices("predict", "--precision") == PRECISIONS.names()
    assert all(TILINGS.help(name) for name in TILINGS)


def test_tasks_and_score_columns_are_defined_once():
    assert TASKS.names() == ["passage", "source", "osteogenic", "nsc_fate", "strain"]
    assert TASKS.get("osteogenic") is get_task("osteogenic")
    assert TASKS.help("passage") == get_task("passage").description
    with pytest.raises(BadInputError, match="Unknown task 'weather'"):
        get_task("weather")
    osteo = get_task("osteogenic")
    assert osteo.probability_columns == ("p_control", "p_induced")
    assert osteo.score_columns == ("os_score",) and osteo.headline_columns == ("os_score",)
    fate = get_task("nsc_fate")
    assert fate.score_columns == () and fate.headline_columns == fate.probability_columns
    assert get_task("passage").score_columns == ("expected_passage",)
    # every task's score is a registered score with a colormap
    for name in TASKS:
        for column in TASKS.get(name).score_columns:
            assert column in SCORES and SCORES.get(column).colormap
            assert SCORES.help(column)
    assert probability_column("P3") == "p_P3"


def test_docs_tables_are_the_registries():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "prediction.md").read_text("utf-8")
    for registry in (TILINGS, TASKS, SCORES):
        assert registry.markdown_table() in page, f"docs/prediction.md: {registry.kind} table"


def test_every_row_says_which_pixel_size_was_used_and_where_it_came_from(tmp_path):
    from predict_helpers import make_bundle

    from napari_msc_morph.models import load_bundle

    model_px = 0.65
    osteo_bundle = load_bundle(make_bundle(tmp_path / "px.zip", pixel_size_um=model_px))
    write_tiff(_gray(), tmp_path / "with.tif", pixel_size_um=model_px)
    write_tiff(_gray(), tmp_path / "without.tif")
    kwargs = dict(tiling="center", device="cpu", precision="fp32")
    files = predict_images(osteo_bundle, [tmp_path / "with.tif", tmp_path / "without.tif"],
                           **kwargs)
    table = predictions_table(files)
    assert list(table["pixel_size_source"]) == ["file", "assumed_from_model"]
    assert table["pixel_size_um"].tolist() == pytest.approx([model_px, model_px])
    assert any("no pixel size" in n and "assumed" in n for n in files[1].notices)
    assert not any("no pixel size" in n for n in files[0].notices)
    given = predictions_table(predict_images(osteo_bundle, tmp_path / "without.tif",
                                             pixel_size_um=model_px, **kwargs))
    assert given["pixel_size_source"].tolist() == ["user"]
    layer = predictions_table(predict_images(
        osteo_bundle, image_input(_gray(), "layer", pixel_size_um=model_px,
                                  pixel_size_source="layer"), **kwargs))
    assert layer["pixel_size_source"].tolist() == ["layer"]
    with pytest.raises(BadInputError, match="positive"):
        predict_images(osteo_bundle, tmp_path / "with.tif", pixel_size_um=-1.0, **kwargs)


def test_batch_result_is_a_list_with_failures_and_input_positions(osteo_bundle, tmp_path):
    from napari_msc_morph.batch import FieldResults, failures_table

    good = predict_images(osteo_bundle, [_gray(), _gray()], tiling="center", device="cpu")
    assert isinstance(good, FieldResults) and len(good) == 2
    assert good.failures == [] and good.indices == [0, 1] and not good.partial
    (tmp_path / "bad.tif").write_bytes(b"junk")
    mixed = predict_images(osteo_bundle, [tmp_path / "bad.tif", _gray()], tiling="center",
                           device="cpu", on_error="collect")
    assert mixed.indices == [1] and [f.index for f in mixed.failures] == [0]
    assert failures_table(mixed.failures)["image"].tolist() == [str(tmp_path / "bad.tif")]
