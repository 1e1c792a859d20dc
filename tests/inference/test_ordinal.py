import numpy as np
import pytest

from napari_msc_morph.inference import (
    expected_value,
    interval_probabilities,
    ordinal_class_values,
    predicted_interval,
    task_score,
)
from napari_msc_morph.inference.ordinal import interval_columns
from napari_msc_morph.models import get_task


def test_interval_probabilities_hand_computed():
    p = [0.05, 0.10, 0.40, 0.30, 0.15]
    # m = 3: [0.05+0.10+0.40, 0.10+0.40+0.30, 0.40+0.30+0.15]
    np.testing.assert_allclose(interval_probabilities(p, 3), [0.55, 0.80, 0.85])
    np.testing.assert_allclose(interval_probabilities(p, 5), [1.0])
    np.testing.assert_allclose(interval_probabilities(p, 1), p)
    assert interval_probabilities(p, 2).shape == (4,)
    assert predicted_interval(p, 3) == (2, 4, pytest.approx(0.85))


def test_interval_probabilities_batched_and_ten_passages():
    p = np.zeros((2, 10))
    p[0, [3, 4, 5]] = [0.3, 0.4, 0.3]  # P4..P6
    p[1, 9] = 1.0
    sums = interval_probabilities(p, 5)
    assert sums.shape == (2, 6)
    np.testing.assert_allclose(sums[0], [0.7, 1.0, 1.0, 1.0, 0.7, 0.3])
    # ties go to the lowest start: P2..P6 is the first interval holding all of P4..P6
    assert predicted_interval(p[0], 5)[:2] == (1, 5)
    assert predicted_interval(p[1], 3)[:2] == (7, 9)


def test_interval_errors():
    with pytest.raises(ValueError, match="between 1 and the 3 classes"):
        interval_probabilities([0.2, 0.3, 0.5], 4)
    with pytest.raises(ValueError, match="NaN"):
        interval_probabilities([np.nan, 1.0], 1)


def test_expected_passage_and_class_values():
    task = get_task("passage")
    np.testing.assert_array_equal(ordinal_class_values(task.class_names), np.arange(1, 11))
    p = np.zeros(10)
    p[[1, 3]] = 0.5  # P2 and P4
    assert task_score(task, p) == pytest.approx(3.0)
    assert expected_value([0.5, 0.5], [2, 4]) == pytest.approx(3.0)
    np.testing.assert_array_equal(ordinal_class_values(["P2", "P4", "P8"]), [2, 4, 8])
    np.testing.assert_array_equal(ordinal_class_values(["early", "mid", "late"]), [1, 2, 3])
    np.testing.assert_array_equal(ordinal_class_values(["P5", "P2"]), [1, 2])  # not increasing


def test_interval_columns_use_class_values():
    task = get_task("passage")
    p = np.zeros(10)
    p[[5, 6, 7]] = [0.2, 0.5, 0.3]
    cols = interval_columns(task, p)
    assert (cols["interval3_lo"], cols["interval3_hi"]) == (6, 8)
    assert cols["interval3_p"] == pytest.approx(1.0)
    assert cols["interval5_hi"] - cols["interval5_lo"] == 4
    small = get_task("passage", ["P1", "P2", "P3"])
    assert set(interval_columns(small, [0.2, 0.3, 0.5])) == {"interval3_lo", "interval3_hi", "interval3_p"}
    assert interval_columns(get_task("source"), [0.5, 0.5]) == {}


def test_os_score():
    assert task_score(get_task("osteogenic"), [0.3, 0.7]) == pytest.approx(0.7)
    days = get_task("osteogenic", ["d0", "d7", "d14"])
    assert task_score(days, [0.0, 0.0, 1.0]) == pytest.approx(1.0)
    assert task_score(days, [0.5, 0.5, 0.0]) == pytest.approx(0.25)
    assert task_score(get_task("nsc_fate"), [0.2, 0.3, 0.5]) is None
