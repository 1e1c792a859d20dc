"""Repeated measures by donor: ``pingouin.rm_corr`` and a mixed-model slope per pair.

What the columns mean and why: docs/results-and-correlation.md ("Repeated measures").
"""

from __future__ import annotations

import warnings as _warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .correlate import benjamini_hochberg
from .mixed import mixed_model_slope

#: Columns the repeated-measures analysis adds to the results table (before ``warning``).
REPEATED_COLUMNS = ["repeated_by", "n_groups", "rm_r", "rm_ci_low", "rm_ci_high", "rm_dof",
                    "rm_p", "rm_q", "lmm_slope", "lmm_se", "lmm_p", "lmm_q"]

#: Fewest groups (donors) for a repeated-measures correlation (pingouin's own limit).
MIN_GROUPS = 3


def rm_correlation(x, y, groups, confidence: float = 0.95) -> dict:
    """Repeated-measures correlation of ``x`` and ``y`` within ``groups`` (pingouin.rm_corr).

    Returns ``rm_r, rm_dof, rm_p, rm_ci_low, rm_ci_high``; the Fisher z interval on
    ``dof + 2`` observations is rm_corr's own, not rounded to 2 decimals.
    """
    import pingouin

    data = pd.DataFrame({"x": np.asarray(x, float), "y": np.asarray(y, float),
                         "g": np.asarray(groups).astype(str)})
    with _warnings.catch_warnings():  # pingouin's own pandas deprecations are not the user's
        _warnings.simplefilter("ignore", DeprecationWarning)
        _warnings.simplefilter("ignore", FutureWarning)
        result = pingouin.rm_corr(data=data, x="x", y="y", subject="g")
    r, dof, p = float(result["r"].iloc[0]), int(result["dof"].iloc[0]), float(result["pval"].iloc[0])
    low = high = float("nan")
    if dof + 2 > 3:  # z = atanh(r) has standard error 1/sqrt(n - 3)
        # rm_corr's own CI95 is rounded to 2 decimals; 15 keeps every digit of a value in [-1, 1]
        low, high = (float(v) for v in pingouin.compute_esci(
            stat=r, nx=dof + 2, eftype="pearson", confidence=confidence, decimals=15))
    return {"rm_r": r, "rm_dof": dof, "rm_p": p, "rm_ci_low": low, "rm_ci_high": high}


def repeated_measures(joined: pd.DataFrame, scores: Sequence[str], by: str,
                      min_n: int = 4, confidence: float = 0.95) -> pd.DataFrame:
    """rm_corr and the mixed-model slope for every score x marker x assay.

    ``joined`` is :func:`~.join.join_readouts` output with ``carry=[by]`` (e.g. donor).
    Returns ``score, marker, assay``, :data:`REPEATED_COLUMNS` and ``rm_warning``.
    """
    records = []
    for (marker, assay), block in joined.groupby(["marker", "assay"], sort=True):
        for score in scores:
            data = block[[score, "value", by]].dropna()
            data = data[np.isfinite(data[score]) & np.isfinite(data["value"])]
            n_groups = int(data[by].nunique())
            record = {"score": score, "marker": marker, "assay": assay, "repeated_by": by,
                      "n_groups": n_groups, **dict.fromkeys(REPEATED_COLUMNS[2:], np.nan)}
            notes = []
            dof = len(data) - n_groups - 1
            if n_groups < MIN_GROUPS or len(data) < min_n or dof < 1:
                notes.append(f"no repeated-measures r or mixed model: {len(data)} samples in "
                             f"{n_groups} {by} group(s) (needs {MIN_GROUPS} groups, {min_n} "
                             "samples and more samples than groups + 1)")
            elif np.ptp(data[score]) == 0 or np.ptp(data["value"]) == 0:
                notes.append("no repeated-measures r: the score or marker is constant")
            else:
                record.update(rm_correlation(data[score], data["value"], data[by], confidence))
                lmm, note = mixed_model_slope(data[score], data["value"], data[by])
                record.update(lmm)
                notes += [note] if note else []
            record["rm_warning"] = "; ".join(notes)
            records.append(record)
    table = pd.DataFrame.from_records(
        records, columns=["score", "marker", "assay", *REPEATED_COLUMNS, "rm_warning"])
    table["rm_q"] = benjamini_hochberg(table["rm_p"].to_numpy(dtype=float))
    table["lmm_q"] = benjamini_hochberg(table["lmm_p"].to_numpy(dtype=float))
    return table


def add_repeated_measures(results: pd.DataFrame, repeated: pd.DataFrame) -> pd.DataFrame:
    """The results table with the repeated-measures columns before ``warning``."""
    merged = results.merge(repeated, on=["score", "marker", "assay"], how="left")
    extra = merged.pop("rm_warning").fillna("")
    merged["warning"] = [
        "; ".join(part for part in (old, new) if part) for old, new in zip(
            merged["warning"].fillna(""), extra, strict=True)]
    columns = [c for c in results.columns if c != "warning"] + REPEATED_COLUMNS + ["warning"]
    return merged[columns]
