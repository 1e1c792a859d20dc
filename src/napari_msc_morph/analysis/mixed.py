"""Linear mixed models that are really fitted: every optimiser, only valid REML fits.

statsmodels' ``MixedLM`` says "converged" for fits that are not usable: a donor
variance pushed onto its boundary at 0 with a REML log-likelihood of +inf and a
Hessian that is not positive definite, whose fixed-effect standard errors (and so
p-values) mean nothing. :func:`fit_mixed_model` fits with every optimiser of
:data:`LMM_OPTIMIZERS`, records the warnings each fit raises (they are reasons to
reject it, not noise), keeps only fits with a finite log-likelihood, finite fixed
effects and standard errors and no boundary, singularity or Hessian warning, and
returns the valid fit with the highest REML log-likelihood (or none, with every
optimiser's reason).

The data are centred and scaled before fitting (:func:`mixed_model_slope` scales
both x and y to unit SD): statsmodels' boundary check compares the random-effect
variance with 0.01 in the units of y, and badly scaled x makes L-BFGS stop early.
Slopes and standard errors are returned in the user's units; p-values do not
depend on the scaling.

Wald p-values of a mixed model assume many groups; with fewer than
:data:`MIN_WALD_GROUPS` (donors) they are anti-conservative, and the note says so.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["LMM_OPTIMIZERS", "MIN_WALD_GROUPS", "MixedFit", "few_groups_note", "fit_mixed_model",
           "mixed_model_slope"]

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
        return "no valid REML fit of the mixed model (" + "; ".join(self.rejected) + ")"


def few_groups_note(n_groups: int, what: str = "groups") -> str:
    """The anti-conservative Wald p warning for fewer than :data:`MIN_WALD_GROUPS` groups."""
    if n_groups >= MIN_WALD_GROUPS:
        return ""
    return (f"the mixed model has only {n_groups} {what}: its Wald p-values are "
            f"anti-conservative (too small) below {MIN_WALD_GROUPS}; read them with care")


def _problems(fit, caught) -> list[str]:
    """Why a fit is unusable: its warnings, a non-finite log-likelihood or estimates."""
    from statsmodels.tools.sm_exceptions import ModelWarning

    problems = []
    for w in caught:
        if issubclass(w.category, (ModelWarning, RuntimeWarning)):
            problems.append(str(w.message).rstrip("."))
        else:  # not about this fit's validity: pass it on unchanged
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if not fit.converged:
        problems.append("did not converge")
    if not np.isfinite(fit.llf):
        problems.append(f"REML log-likelihood {fit.llf}")
    fixed = np.asarray(fit.fe_params, float)
    errors = np.asarray(fit.bse_fe, float)
    if not (np.all(np.isfinite(fixed)) and np.all(np.isfinite(errors)) and np.all(errors > 0)):
        problems.append("non-finite fixed effects or standard errors")
    return list(dict.fromkeys(problems))


def fit_mixed_model(formula: str, data: pd.DataFrame, groups: str) -> MixedFit:
    """REML fit of ``formula`` with a random intercept per ``groups``, by every optimiser.

    Parameters
    ----------
    formula : str
        A patsy formula of the fixed effects, e.g. ``"y ~ x"``.
    data : DataFrame
        The data, already centred and scaled (see the module docstring).
    groups : str
        The column naming each row's group (donor, sample).

    Returns
    -------
    MixedFit
        The valid fit with the highest REML log-likelihood, or none and why.
    """
    import statsmodels.formula.api as smf

    model = smf.mixedlm(formula, data, groups=data[groups])
    best, best_name, rejected = None, "", []
    for name in LMM_OPTIMIZERS:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                fit = model.fit(reml=True, method=name)
            except (np.linalg.LinAlgError, ValueError) as err:
                rejected.append(f"{name}: {err}")
                continue
        problems = _problems(fit, caught)
        if problems:
            rejected.append(f"{name}: {', '.join(problems)}")
        elif best is None or fit.llf > best.llf:
            best, best_name = fit, name
    return MixedFit(best, best_name, rejected)


def mixed_model_slope(x, y, groups) -> tuple[dict, str]:
    """Slope of ``y ~ x`` with a random intercept per group (REML, see :func:`fit_mixed_model`).

    x and y are centred and scaled to unit SD for the fit; the slope and its
    standard error are returned in the units of y per unit of x.

    Returns
    -------
    dict, str
        ``lmm_slope, lmm_se, lmm_p`` (NaN without a valid fit) and a note: why
        there is no fit, and the few-groups caveat ('' when neither applies).
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
