"""Issue 22 point 2: a mixed model is kept only when it is really fitted."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from napari_msc_morph.analysis.mixed import LMM_OPTIMIZERS, fit_mixed_model, mixed_model_slope
from napari_msc_morph.analysis.repeated import repeated_measures


def _degenerate_study() -> pd.DataFrame:
    """4 donors x 3 days x 2 conditions where L-BFGS ends on the donor-variance boundary.

    Score x in the hundreds (as an area or a raw score), readout y = 0.002 x + donor + noise.
    """
    rng = np.random.default_rng(0)
    rows = []
    for donor in range(4):
        shift = rng.normal(0, 0.1)
        for day in (0, 7, 14):
            for induced in (0, 1):
                x = 1000 * (0.5 + (day / 14 if induced else 0.1 * day / 14)) + rng.normal(0, 50)
                rows.append({"donor": f"D{donor}", "x": x, "y": 0.002 * x + shift
                             + rng.normal(0, 0.2)})
    return pd.DataFrame(rows)


def _fit(data, method):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = smf.mixedlm("y ~ x", data, groups=data["donor"]).fit(reml=True, method=method)
    return fit, [str(w.message) for w in caught]


def test_lbfgs_alone_keeps_a_degenerate_fit_on_this_study():
    """The reference: what the old code kept (L-BFGS 'converged' with a finite SE)."""
    fit, caught = _fit(_degenerate_study(), "lbfgs")
    assert fit.converged and np.isfinite(fit.bse["x"])
    assert fit.llf == np.inf and float(fit.cov_re.iloc[0, 0]) == 0.0
    assert any("boundary" in m for m in caught) and any("Hessian" in m for m in caught)


def test_the_kept_fit_is_finite_and_agrees_with_powell_and_nelder_mead():
    data = _degenerate_study()
    lmm, note = mixed_model_slope(data["x"], data["y"], data["donor"])
    old, _ = _fit(data, "lbfgs")
    # Powell and Nelder-Mead on the raw data reach the REML optimum (finite llf)
    references = [_fit(data, m)[0] for m in ("powell", "nm")]
    for ref in references:
        assert np.isfinite(ref.llf)
        assert lmm["lmm_slope"] == pytest.approx(ref.params["x"], rel=1e-4)
        assert lmm["lmm_se"] == pytest.approx(ref.bse["x"], rel=1e-3)
    assert lmm["lmm_p"] == pytest.approx(references[0].pvalues["x"], rel=0.05)
    # not the boundary fit: its slope is off and its p ten orders of magnitude too small
    assert lmm["lmm_slope"] != pytest.approx(old.params["x"], rel=1e-3)
    assert lmm["lmm_p"] > 1e6 * old.pvalues["x"]
    assert "anti-conservative" in note and "4 groups" in note


def test_fit_mixed_model_rejects_lbfgs_and_keeps_the_best_valid_fit():
    data = _degenerate_study()
    z = data.assign(x=(data.x - data.x.mean()) / data.x.std(),
                    y=(data.y - data.y.mean()) / data.y.std())
    fit = fit_mixed_model("y ~ x", z, "donor")
    assert fit.result is not None and np.isfinite(fit.result.llf)
    assert fit.optimizer != "lbfgs"
    assert any(r.startswith("lbfgs:") and "inf" in r for r in fit.rejected)
    valid = []
    for method in LMM_OPTIMIZERS:
        candidate, caught = _fit(z, method)
        if not caught and np.isfinite(candidate.llf):
            valid.append(candidate.llf)
    assert fit.result.llf == pytest.approx(max(valid))
    assert float(fit.result.cov_re.iloc[0, 0]) > 0.01


def test_no_valid_fit_gives_nan_and_the_reason():
    """Six donors measured identically: every optimiser ends on the boundary (no donor
    variance), so no fit is kept."""
    rng = np.random.default_rng(3)
    x = np.tile(rng.normal(size=4), 6)
    y = np.tile(x[:4] + rng.normal(0, 0.5, 4), 6)
    lmm, note = mixed_model_slope(x, y, np.repeat(["a", "b", "c", "d", "e", "f"], 4))
    assert np.isnan([lmm["lmm_slope"], lmm["lmm_se"], lmm["lmm_p"]]).all()
    assert "no valid REML fit" in note and "boundary" in note and "lbfgs" in note


def test_slope_is_in_the_users_units():
    rng = np.random.default_rng(1)
    donors = np.repeat([f"D{i}" for i in range(8)], 6)
    shift = dict(zip(np.unique(donors), rng.normal(0, 3, 8)))
    x = rng.uniform(100, 900, len(donors))
    y = 0.05 * x + np.array([shift[d] for d in donors]) + rng.normal(0, 1, len(donors))
    lmm, note = mixed_model_slope(x, y, donors)
    scaled, _ = mixed_model_slope(x / 1000, y, donors)  # x in thousands: slope x 1000
    assert lmm["lmm_slope"] == pytest.approx(0.05, abs=0.003)
    assert scaled["lmm_slope"] == pytest.approx(1000 * lmm["lmm_slope"], rel=1e-4)
    assert scaled["lmm_p"] == pytest.approx(lmm["lmm_p"], rel=1e-3)
    assert note == ""  # 8 donors, a valid fit: nothing to say


def test_repeated_measures_table_says_why_and_warns_on_few_donors():
    data = _degenerate_study().rename(columns={"x": "score", "y": "value"})
    joined = data.assign(marker="RUNX2", assay="qPCR")
    table = repeated_measures(joined, ["score"], "donor")
    row = table.iloc[0]
    assert np.isfinite(row["lmm_slope"]) and row["n_groups"] == 4
    assert "anti-conservative" in row["rm_warning"]
