"""Prefetching reads: same predictions in the same order, failures per image, cancel, bounded."""

import threading
import time

import numpy as np
import pytest

from napari_msc_morph.batch.prefetch import prefetched
from napari_msc_morph.errors import BadInputError, Cancelled
from napari_msc_morph.inference import Predictor, predict_images
from napari_msc_morph.io import write_tiff
from napari_msc_morph.jobs import CancelToken


def _folder(tmp_path, n=5, corrupt_at=None):
    rng = np.random.default_rng(3)
    folder = tmp_path / "plate"
    folder.mkdir()
    for i in range(n):
        path = folder / f"field_{i:02d}.tif"
        if i == corrupt_at:
            path.write_bytes(b"II*\x00 this is not a TIFF")
        else:
            # different brightness per field, so a mix-up changes the answers
            write_tiff(rng.integers(20 * i, 60 + 30 * i, (80, 96), dtype=np.uint8), path)
    return folder


def _answers(batch):
    return [(p.name, p.tile_probabilities.tolist()) for p in batch]


def test_prefetch_gives_identical_predictions_in_order(osteo_bundle, tmp_path):
    folder = _folder(tmp_path)
    predictor = Predictor(osteo_bundle, device="cpu", precision="fp32")
    plain = predict_images(predictor, [folder], tiling="grid", overlap=0.0, prefetch=0)
    ahead = predict_images(predictor, [folder], tiling="grid", overlap=0.0, prefetch=2)
    assert [p.name.rsplit("/", 1)[-1] for p in ahead] == [f"field_{i:02d}.tif" for i in range(5)]
    assert _answers(ahead) == _answers(plain)  # bit for bit
    assert len({round(p.probabilities[0], 9) for p in ahead}) > 1  # the fields do differ


def test_a_corrupt_file_fails_alone_with_prefetch(osteo_bundle, tmp_path):
    folder = _folder(tmp_path, corrupt_at=2)
    predictor = Predictor(osteo_bundle, device="cpu", precision="fp32")
    plain = predict_images(predictor, [folder], tiling="center", on_error="collect", prefetch=0)
    ahead = predict_images(predictor, [folder], tiling="center", on_error="collect", prefetch=2)
    assert _answers(ahead) == _answers(plain) and len(ahead) == 4
    assert [f.field.rsplit("/", 1)[-1] for f in ahead.failures] == ["field_02.tif"]
    assert ahead.failures[0].error == plain.failures[0].error
    assert "field_02.tif" in ahead.failures[0].error
    with pytest.raises(Exception) as raised:  # raise mode: the corrupt file stops the run
        predict_images(predictor, [folder], tiling="center", prefetch=2)
    assert "field_02" in str(raised.value)


def test_cancel_stops_prediction_and_reading(osteo_bundle, tmp_path):
    folder = _folder(tmp_path, n=6)
    predictor = Predictor(osteo_bundle, device="cpu", precision="fp32")
    token = CancelToken()

    def cancel_in_second_image(done, total, message):
        if "field_01" in message:
            token.cancel()

    with pytest.raises(Cancelled) as stopped:
        predict_images(predictor, [folder], tiling="center", on_error="collect",
                       progress=cancel_in_second_image, cancel=token, prefetch=2)
    partial = stopped.value.partial
    # the second image's one batch finishes; nothing after it is predicted
    assert partial.partial
    assert [p.name.rsplit("/", 1)[-1] for p in partial] == ["field_00.tif", "field_01.tif"]


def test_loads_run_ahead_on_another_thread_and_stay_bounded():
    lock, loaded, consumed, peak = threading.Lock(), [], [0], [0]

    def load(i):
        time.sleep(0.002 * (i % 3))  # uneven read times must not reorder results
        with lock:
            loaded.append(i)
            peak[0] = max(peak[0], len(loaded) - consumed[0])
        return i, threading.current_thread().name

    results = []
    for item in prefetched(range(12), load, depth=2):
        value, thread = item.result()
        results.append(value)
        assert thread != threading.current_thread().name
        time.sleep(0.004)  # the consumer is the slow one: loads queue up to the bound
        with lock:
            consumed[0] += 1
    assert results == list(range(12))
    assert peak[0] <= 3  # the current image plus two read ahead, never more


def test_a_failing_load_is_handed_back_in_its_place():
    def load(i):
        if i == 1:
            raise OSError("cannot read 1")
        return i

    outcomes = []
    for depth in (0, 2):
        row = []
        for item in prefetched([0, 1, 2], load, depth=depth):
            try:
                row.append(item.result())
            except OSError as err:
                row.append(str(err))
        outcomes.append(row)
    assert outcomes == [[0, "cannot read 1", 2]] * 2


def test_closing_or_cancelling_starts_no_more_loads():
    started = []
    loads = prefetched(range(100), lambda i: started.append(i) or i, depth=2)
    assert next(loads).result() == 0
    loads.close()
    time.sleep(0.05)
    assert len(started) <= 3  # item 0 plus at most two read ahead
    token, started = CancelToken(), []
    loads = prefetched(range(100), lambda i: started.append(i) or i, depth=2, cancel=token)
    next(loads)
    token.cancel()
    for _ in loads:
        pass
    assert len(started) <= 3


def test_negative_depth_is_refused():
    with pytest.raises(BadInputError, match="prefetch"):
        prefetched([1], lambda i: i, depth=-1)
