"""Bootstrap honesty: class-pure donors are resampled within their class, the resamples each
interval rests on are reported, and a metric that lost more than 5 % of them is named."""

import numpy as np
import pytest

from napari_msc_morph.errors import BadInputError
from napari_msc_morph.models import get_task
from napari_msc_morph.training import bootstrap as B
from napari_msc_morph.training import metrics as M
from napari_msc_morph.training.report import summary_lines


def _class_pure(donors_per_class=2, images=10, seed=0):
    """Donors 0..k-1 all control, k..2k-1 all induced; scores overlap."""
    donors = np.repeat(np.arange(2 * donors_per_class), images)
    y = (donors >= donors_per_class).astype(int)
    s = np.random.default_rng(seed).random(y.size) * 0.6 + 0.3 * y
    return donors, y, s


def test_plain_donor_bootstrap_drops_one_class_resamples():
    """The reference: 4 class-pure donors, 239 of 2000 AUC resamples had one class only."""
    donors, y, s = _class_pure()
    plain = B.bootstrap_intervals({"auc": lambda W: B.weighted_auc(W, y, s)}, donors, y.size,
                                  2000, seed=0)
    assert plain["auc"].used == 2000 - 239


def test_class_pure_donors_are_resampled_within_their_class():
    donors, y, s = _class_pure()
    strata = B.class_strata(donors, y)
    assert strata is not None
    counts, inverse = B.cluster_draws(donors, y.size, 2000, seed=0, strata=strata)
    # every resample draws two control donors (0, 1) and two induced donors (2, 3)
    assert (counts[:, :2].sum(1) == 2).all() and (counts[:, 2:].sum(1) == 2).all()
    assert counts[:, 0].min() == 0 and counts[:, 0].max() == 2  # still a resample
    out = M.task_metrics(get_task("osteogenic"), y, np.c_[1 - s, s], groups=donors, n_boot=2000)
    assert out["bootstrap_stratified"] is True
    assert out["bootstrap_resamples"] == 2000 and out["resamples_used"]["auc"] == 2000
    assert out["resamples_used"]["sensitivity"] == out["resamples_used"]["specificity"] == 2000
    assert out["warnings"] == []
    assert "stratified by class" in summary_lines(out)[2]


def test_mixed_donors_are_not_stratified_and_a_lossy_metric_is_named():
    # donor 0 holds both classes; donors 1-3 only controls: a resample without donor 0 has
    # no positive image, (3/4)^4 = 32 % of them
    donors = np.repeat(np.arange(4), 10)
    y = np.zeros(40, dtype=int)
    y[:5] = 1
    s = np.linspace(0.1, 0.9, 40)
    assert B.class_strata(donors, y) is None
    out = M.task_metrics(get_task("osteogenic"), y, np.c_[1 - s, s], groups=donors, n_boot=1000)
    assert out["bootstrap_stratified"] is False
    assert 0.25 * 1000 < 1000 - out["resamples_used"]["auc"] < 0.40 * 1000
    assert out["resamples_used"]["accuracy"] == 1000
    auc_warning = [w for w in out["warnings"] if w.startswith("the 95 % interval of auc ")]
    assert auc_warning and f"rests on {out['resamples_used']['auc']} of 1000" in auc_warning[0]
    assert not any("of accuracy" in w for w in out["warnings"])
    line = next(row for row in summary_lines(out) if row.startswith("| ROC AUC, all days |"))
    assert f"({out['resamples_used']['auc']} of 1000 resamples)" in line


def test_images_without_donors_are_stratified_by_class_too():
    _, y, s = _class_pure()
    out = M.task_metrics(get_task("osteogenic"), y, np.c_[1 - s, s], groups=None, n_boot=500)
    assert out["bootstrap_stratified"] is True and out["resamples_used"]["auc"] == 500


def test_a_bootstrap_that_cannot_fit_is_refused_naming_n_boot():
    with pytest.raises(BadInputError, match=r"--n-boot 1000000000 .*needs about .*GiB.*lower "
                                            r"--n-boot"):
        B.check_bootstrap_memory(10 ** 9, 4, 15)
    B.check_bootstrap_memory(2000, 4, 15)  # the usual size fits
    assert B.bootstrap_memory_bytes(10 ** 9, 4, 15) > 300e9
    donors, y, s = _class_pure()
    with pytest.raises(BadInputError, match="--n-boot"):
        M.task_metrics(get_task("osteogenic"), y, np.c_[1 - s, s], groups=donors,
                       n_boot=10 ** 9)
