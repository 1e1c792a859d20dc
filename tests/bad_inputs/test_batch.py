"""Batch isolation: one bad image among many never costs the others, nothing half-written.

Library (``predict_images(on_error="collect")``), CLI (``msc-morph predict``: errors
table beside the output, exit 3, ``.partial`` rows on Ctrl-C) and the Predict dock
(a failing layer is a notification; the good layers' rows still arrive).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inference"))
from predict_helpers import make_bundle  # noqa: E402

from napari_msc_morph.batch import FieldResults, failures_table  # noqa: E402
from napari_msc_morph.cli import main  # noqa: E402
from napari_msc_morph.errors import BadInputError, Cancelled  # noqa: E402
from napari_msc_morph.inference import Predictor, predict_images  # noqa: E402
from napari_msc_morph.io import write_tiff  # noqa: E402
from napari_msc_morph.jobs import CancelToken  # noqa: E402
from napari_msc_morph.models import load_bundle  # noqa: E402

RNG = np.random.default_rng(13)


def _good(path: Path) -> Path:
    write_tiff(RNG.integers(0, 256, (72, 80), dtype=np.uint8), path, pixel_size_um=0.5)
    return path


def _truncated(path: Path) -> None:
    _good(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


#: name -> how to make the bad file, and a piece of the message that must name the problem
BAD_FILES = {
    "garbage.tif": (lambda p: p.write_bytes(b"this is not a tiff"), "garbage.tif"),
    "empty.tif": (lambda p: p.write_bytes(b""), "empty.tif"),
    "truncated.tif": (_truncated, "truncated.tif"),
    "rgba.tif": (lambda p: write_tiff(np.zeros((70, 70, 4), np.uint8), p), "4 channels"),
    "bad_ifd.tif": (lambda p: p.write_bytes(b"II*\x00" + b"\xff" * 40), "bad_ifd.tif"),
    "garbage.png": (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\nbroken"), "garbage.png"),
}


@pytest.fixture(scope="module")
def bundle_path(tmp_path_factory):
    return make_bundle(tmp_path_factory.mktemp("bundle") / "osteo.zip", tiling="center")


@pytest.fixture(scope="module")
def predictor(bundle_path):
    return Predictor(load_bundle(bundle_path), device="cpu", precision="fp32")


def _folder(tmp_path: Path, bad: str) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    _good(folder / "a_good.tif")
    BAD_FILES[bad][0](folder / bad)
    _good(folder / "z_good.tif")
    return folder


def _hashes(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("bad", sorted(BAD_FILES))
def test_library_collects_the_bad_image_and_predicts_the_others(tmp_path, predictor, bad):
    folder = _folder(tmp_path, bad)
    before = _hashes(folder)
    batch = predict_images(predictor, [folder], on_error="collect")
    assert isinstance(batch, FieldResults) and not batch.partial
    assert [Path(p.name).name for p in batch] == ["a_good.tif", "z_good.tif"]
    assert len(batch.failures) == 1
    failure = batch.failures[0]
    assert Path(failure.field).name == bad
    assert BAD_FILES[bad][1] in failure.error
    assert list(failures_table(batch.failures).columns) == ["image", "error"]
    assert _hashes(folder) == before


@pytest.mark.parametrize("bad", ["garbage.tif", "rgba.tif"])
def test_library_default_still_raises_at_the_first_bad_image(tmp_path, predictor, bad):
    folder = _folder(tmp_path, bad)
    with pytest.raises(Exception, match=BAD_FILES[bad][1].split(".")[0]):
        predict_images(predictor, [folder])


def test_library_missing_path_and_bad_array_are_failures_too(tmp_path, predictor):
    good = _good(tmp_path / "good.tif")
    batch = predict_images(predictor, [tmp_path / "nope.tif", good, np.zeros((5, 5, 5, 4))],
                           on_error="collect")
    assert len(batch) == 1 and batch.indices == [1]
    assert [f.index for f in batch.failures] == [0, 2]
    assert "nope.tif" in batch.failures[0].error and "image 3" in batch.failures[1].error


def test_library_nothing_predictable_is_an_error_naming_the_files(tmp_path, predictor):
    BAD_FILES["garbage.tif"][0](tmp_path / "garbage.tif")
    with pytest.raises(BadInputError, match="No image could be predicted: .*garbage.tif"):
        predict_images(predictor, [tmp_path / "garbage.tif", tmp_path / "missing.tif"],
                       on_error="collect")
    with pytest.raises(BadInputError, match="on_error"):
        predict_images(predictor, [tmp_path], on_error="skip")


def test_library_cancel_keeps_the_finished_images_marked_partial(tmp_path, predictor):
    folder = _folder(tmp_path, "garbage.tif")
    _good(folder / "zz_never.tif")
    token = CancelToken()

    def progress(done, total, message):
        if "z_good" in message:
            token.cancel()

    with pytest.raises(Cancelled) as caught:
        predict_images(predictor, [folder], on_error="collect", progress=progress, cancel=token)
    partial = caught.value.partial
    assert partial.partial
    assert [Path(p.name).name for p in partial] == ["a_good.tif", "z_good.tif"]
    assert [Path(f.field).name for f in partial.failures] == ["garbage.tif"]


def _predict(args, bundle_path, out):
    return main(["predict", str(bundle_path), *map(str, args), "--out", str(out), "--quiet",
                 "--device", "cpu", "--precision", "fp32"])


@pytest.mark.parametrize("bad", sorted(BAD_FILES))
def test_cli_writes_good_rows_and_an_errors_table_and_exits_3(tmp_path, bundle_path, capsys, bad):
    folder = _folder(tmp_path, bad)
    before = _hashes(folder)
    out = tmp_path / "out" / "pred.csv"
    assert _predict([folder], bundle_path, out) == 3
    err = capsys.readouterr().err
    assert "1 image(s) failed" in err and bad in err and "pred.errors.csv" in err
    table = pd.read_csv(out)
    assert [Path(p).name for p in table["image"]] == ["a_good.tif", "z_good.tif"]
    errors = pd.read_csv(tmp_path / "out" / "pred.errors.csv")
    assert list(errors.columns) == ["image", "error"]
    assert [Path(p).name for p in errors["image"]] == [bad]
    assert BAD_FILES[bad][1] in errors["error"][0]
    assert _hashes(folder) == before
    assert not list((tmp_path / "out").glob(".*"))  # no temporary file left behind


def test_cli_several_paths_one_missing_exits_3(tmp_path, bundle_path, capsys):
    good = _good(tmp_path / "good.tif")
    out = tmp_path / "pred.csv"
    assert _predict([good, tmp_path / "typo.tif"], bundle_path, out) == 3
    assert "typo.tif" in capsys.readouterr().err
    assert len(pd.read_csv(out)) == 1


def test_cli_all_good_exits_0_without_errors_table(tmp_path, bundle_path, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    _good(folder / "a.tif")
    out = tmp_path / "pred.csv"
    assert _predict([folder], bundle_path, out) == 0
    assert not (tmp_path / "pred.errors.csv").exists()
    assert "failed" not in capsys.readouterr().err


def test_cli_all_bad_exits_2_and_keeps_an_earlier_output(tmp_path, bundle_path, capsys):
    BAD_FILES["garbage.tif"][0](tmp_path / "garbage.tif")
    out = tmp_path / "pred.csv"
    out.write_text("earlier,run\n1,2\n")
    before = _hashes(tmp_path)
    # --overwrite: a good run may replace the earlier table, a failed one never does
    assert _predict([tmp_path / "garbage.tif", "--overwrite"], bundle_path, out) == 2
    err = capsys.readouterr().err
    assert "msc-morph predict: error: No image could be predicted" in err and "garbage.tif" in err
    assert _hashes(tmp_path) == before


def test_cli_ctrl_c_keeps_finished_rows_as_partial_never_a_half_table(
        tmp_path, bundle_path, capsys, monkeypatch):
    folder = _folder(tmp_path, "garbage.tif")
    before = _hashes(folder)
    original = Predictor.predict_steps

    def interrupt_on_the_last(self, data, *args, name="", **kwargs):
        if "z_good" in name:
            raise KeyboardInterrupt
        return original(self, data, *args, name=name, **kwargs)

    monkeypatch.setattr(Predictor, "predict_steps", interrupt_on_the_last)
    out = tmp_path / "out" / "pred.csv"
    assert _predict([folder], bundle_path, out) == 130
    err = capsys.readouterr().err
    assert "pred.partial.csv" in err and "was not written" in err
    assert not out.exists()
    partial = pd.read_csv(tmp_path / "out" / "pred.partial.csv")
    assert partial["partial"].all()
    assert [Path(p).name for p in partial["image"]] == ["a_good.tif", "garbage.tif"]
    assert partial["error"].notna().tolist() == [False, True]
    assert _hashes(folder) == before


def test_widget_failing_layer_is_a_notification_and_good_rows_arrive(
        make_napari_viewer, qtbot, bundle_path, monkeypatch, tmp_path):
    from napari_msc_morph.widgets.predict_widget import CONFIG_DIR_ENV, PredictWidget
    from napari_msc_morph.widgets.results_table import get_results_table

    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / "config"))
    warnings = []
    monkeypatch.setattr("napari.utils.notifications.show_warning", warnings.append)
    viewer = make_napari_viewer()
    bad = viewer.add_image(np.zeros((70, 70, 4), np.uint8), name="rgba", rgb=True)
    good = viewer.add_image(RNG.integers(0, 256, (72, 80), dtype=np.uint8), name="field",
                            scale=(0.5, 0.5))
    widget = PredictWidget(viewer)
    widget.set_selected_layers([bad, good])
    widget.set_bundle_path(bundle_path)
    widget.device_combo.setCurrentText("cpu")
    assert widget.run() is not None
    qtbot.waitUntil(lambda: not widget.busy, timeout=180000)
    assert any("'rgba' has 4 channels" in w for w in warnings)
    table = get_results_table(viewer).to_dataframe()
    assert list(table["layer"]) == ["field"]
    assert "1 layer(s) failed" in widget.status.text()
