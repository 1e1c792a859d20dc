"""Linear mixed models with a random intercept per group (statsmodels MixedLM, REML).

Every optimiser of :data:`LMM_OPTIMIZERS` is tried and only valid fits (finite, no
boundary/singularity/Hessian warning) are kept, the best by REML log-likelihood: an
L-BFGS fit that "converged" on the boundary gave p-values 10 orders of magnitude off
(docs/results-and-correlation.md, "The mixed model"). Data are centred and scaled
before fitting because statsmodels' boundary check works in the units of y.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: Optimisers statsmodels' MixedLM.fit offers; every one is tried, the best valid fit is kept.
LMM_OPTIMIZERS = ("lbfgs", "powell", "nm", "bfgs", "cg")

#: Fewer groups than this: Wald p-values of the fixed effects are anti-conservative.
MIN_WALD_GROUPS = 5


@dataclass
class MixedFit:
    """The kept REML fit (``result`` is None when no optimiser gave a valid one)."""

    result: object | None  # statsmodels MixedLMResults
    optimizer: str
    rejected: list[str] = field(default_factory=list)  # "<optimiser>: <why>", one per rejected fit

    @property
    def reason(self) -> str:
        """Why there is no fit ('' when there is one)."""
        if self.result is not None:
            return ""
        text = "no valid REML fit of the mixed model (" + "; ".join(self.rejected) + ")"
        if all("boundary" in r for r in self.rejected):
            text += (": the groups' (donors') own variance is estimated at 0, so they hardly "
                     "differ and the model has nothing to add; test one value per unit instead")
        return text


#: statsmodels' warning texts -> the short reason reported (matched by their start).
_SHORT_REASONS = {
    "The MLE may be on the boundary": "boundary (group variance near 0)",
    "The Hessian matrix": "Hessian not positive definite",
    "Random effects covariance is singular": "singular random-effects covariance",
    "The random effects covariance matrix is singular": "singular random-effects covariance",
    "Maximum Likelihood optimization failed": "did not converge",
    "Gradient optimization failed": "did not converge",
    "MixedLM optimization failed": "did not converge",
}


def _short(message: str) -> str:
    return next((short for start, short in _SHORT_REASONS.items() if message.startswith(start)),
                message)


def few_groups_note(n_groups: int, what: str = "groups") -> str:
    """The anti-conservative Wald p warning for fewer than :data:`MIN_WALD_GROUPS` groups."""
    if n_groups >= MIN_WALD_GROUPS:
        return ""
    return (f"the mixed model has only {n_groups} {what}: below {MIN_WALD_GROUPS} its Wald "
            "p-values are anti-conservative (too small), so read them with care")


def _problems(fit, caught) -> list[str]:
    """Why a fit is unusable: its warnings, a non-finite log-likelihood or estimates."""
    from statsmodels.tools.sm_exceptions import ModelWarning

    problems = []
    for w in caught:
        if issubclass(w.category, (ModelWarning, RuntimeWarning)):
            problems.append(_short(str(w.message).rstrip(".")))
        else:  # not about this fit's validity: pass it on unchanged
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if not fit.converged:
        problems.append("did not converge")
    if not np.isfinite(fit.llf):
        problems.append(f"REML log-likelihood {fit.llf}")
    return list(dict.fromkeys(problems))


def _estimates_problem(fit) -> list[str]:
    fixed = np.asarray(fit.fe_params, float)
    errors = np.asarray(fit.bse_fe, float)
    if np.all(np.isfinite(fixed)) and np.all(np.isfinite(errors)) and np.all(errors > 0):
        return []
    return ["non-finite fixed effects or standard errors"]


def fit_mixed_model(formula: str, data: pd.DataFrame, groups: str) -> MixedFit:
    """REML fit of ``formula`` (patsy) with a random intercept per ``groups`` column.

    ``data`` is centred and scaled already; every optimiser is tried, and the valid
    fit with the highest REML log-likelihood is kept (or none, and why).
    """
    import statsmodels.formula.api as smf

    model = smf.mixedlm(formula, data, groups=data[groups])
    best, best_name, rejected = None, "", []
    for name in LMM_OPTIMIZERS:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                fit = model.fit(reml=True, method=name)
                estimates = _estimates_problem(fit)  # its standard errors warn too
            except (np.linalg.LinAlgError, ValueError) as err:
                rejected.append(f"{name}: {str(err).lower()}")
                continue
        problems = _problems(fit, caught) + estimates
        if problems:
            rejected.append(f"{name}: {', '.join(problems)}")
        elif best is None or fit.llf > best.llf:
            best, best_name = fit, name
    return MixedFit(best, best_name, rejected)


def mixed_model_slope(x, y, groups) -> tuple[dict, str]:
    """Slope of ``y ~ x`` with a random intercept per group, in the units of y per x.

    Returns
    -------
    dict, str
        ``lmm_slope, lmm_se, lmm_p`` (NaN without a valid fit) and a note: why there
        is no fit, and the few-groups caveat ('' when neither applies).
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    groups = np.asarray(groups).astype(str)
    nan = {"lmm_slope": float("nan"), "lmm_se": float("nan"), "lmm_p": float("nan")}
    sd_x, sd_y = x.std(ddof=1), y.std(ddof=1)
    if not (sd_x > 0 and sd_y > 0):
        return nan, "no mixed model: x or y is constant"
    data = pd.DataFrame({"x": (x - x.mean()) / sd_x, "y": (y - y.mean()) / sd_y, "g": groups})
    fit = fit_mixed_model("y ~ x", data, "g")
    caveat = few_groups_note(len(set(groups)))
    if fit.result is None:
        return nan, "; ".join(filter(None, [fit.reason, caveat]))
    factor = sd_y / sd_x  # back to the user's units
    return ({"lmm_slope": float(fit.result.fe_params["x"]) * factor,
             "lmm_se": float(fit.result.bse_fe["x"]) * factor,
             "lmm_p": float(fit.result.pvalues["x"])}, caveat)


def group_model(rows: pd.DataFrame, groups: list) -> tuple[MixedFit, float, list[str]]:
    """REML fit of ``value ~ group + (1 | unit)`` on ``rows``, the first group the reference.

    Returns
    -------
    MixedFit, float, list of str
        The fit, the value's SD (fixed effects times it are in the user's units) and
        the names of the k - 1 group effects.
    """
    sd = float(rows["value"].std(ddof=1))
    data = pd.DataFrame({"y": (rows["value"] - rows["value"].mean()) / sd,
                         "unit": rows["unit"].astype(str).to_numpy()})
    names = []
    for i, group in enumerate(groups[1:], start=1):
        names.append(f"g{i}")
        data[f"g{i}"] = (rows["group"] == group).to_numpy(float)
    return fit_mixed_model("y ~ " + " + ".join(names), data, "unit"), sd, names


def group_effects(fit: MixedFit, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each group's effect against the first (0 for the first) and their covariance."""
    k = len(names) + 1
    effects, cov = np.zeros(k), np.zeros((k, k))
    effects[1:] = fit.result.fe_params[names].to_numpy(float)
    cov[1:, 1:] = fit.result.cov_params().loc[names, names].to_numpy(float)
    return effects, cov


def containment_df(rows: pd.DataFrame, k: int) -> float:
    """Denominator df of the group effect by containment: units - k between units,
    rows - units - (k - 1) within (a Wald z would count every row and give p far too small)."""
    units = rows["unit"].nunique()
    between = bool((rows.groupby("unit")["group"].nunique() <= 1).all())
    return float(units - k if between else len(rows) - units - (k - 1))


def group_f_test(fit: MixedFit, names: list[str], df2: float) -> tuple[float, float, float]:
    """Wald F that every group has the same mean: F (chi² / (k - 1)), df1, p on (df1, df2)."""
    from scipy import stats

    effects, cov = group_effects(fit, names)
    b, v = effects[1:], cov[1:, 1:]
    f = float(b @ np.linalg.solve(v, b)) / len(b)
    return f, float(len(b)), float(stats.f.sf(f, len(b), df2)) if df2 > 0 else float("nan")


def unit_share(fit: MixedFit) -> float:
    """Intraclass correlation: the share of the variance that lies between units."""
    between = float(np.asarray(fit.result.cov_re)[0, 0])
    return between / (between + float(fit.result.scale))
