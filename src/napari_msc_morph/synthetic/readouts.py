"""Synthetic qPCR and western-blot readouts (RUNX2, OSX, OCN) of the osteogenic time course.

They derive from each sample's true differentiation level, never from its images,
so the demo can test whether an image score tracks the markers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import BadInputError

#: marker -> (onset in differentiation units, steepness, maximum fold change)
MARKER_KINETICS = {
    "RUNX2": (0.10, 10.0, 4.0),
    "OSX": (0.30, 10.0, 6.0),
    "OCN": (0.55, 12.0, 12.0),
}


def marker_expression(differentiation, marker: str) -> np.ndarray:
    """Noise-free fold change of ``marker`` at a differentiation level in [0, 1]."""
    if marker not in MARKER_KINETICS:
        raise BadInputError(f"unknown marker {marker!r}; known: {sorted(MARKER_KINETICS)}")
    onset, steepness, maximum = MARKER_KINETICS[marker]
    d = np.asarray(differentiation, dtype=float)
    sigmoid = 1.0 / (1.0 + np.exp(-steepness * (d - onset)))
    baseline = 1.0 / (1.0 + np.exp(steepness * onset))  # so that d = 0 gives fold change 1
    return 1.0 + (maximum - 1.0) * (sigmoid - baseline) / (1.0 - baseline)


def _carried_columns(samples: pd.DataFrame) -> list[str]:
    """Check that ``samples`` has the columns a readout needs; return the metadata columns to carry."""
    for column in ("sample_id", "differentiation"):
        if column not in samples.columns:
            raise BadInputError(f"samples table needs a {column!r} column")
    return [c for c in ("donor", "day", "condition") if c in samples.columns]


def synthetic_readouts(
    samples: pd.DataFrame,
    markers=("RUNX2", "OSX", "OCN"),
    assays=("qPCR", "western"),
    replicates: int = 3,
    noise_cv: float = 0.15,
    seed: int = 0,
) -> pd.DataFrame:
    """Long-form readouts for samples with a known ``differentiation`` column.

    Parameters
    ----------
    samples : DataFrame
        ``sample_id`` and ``differentiation`` (0-1); ``day``, ``condition``, ``donor`` carried.
    markers, assays : sequence of str
        Markers and assays to simulate (a western blot saturates: compressed against qPCR).
    replicates : int
        Technical replicates per sample, marker and assay.
    noise_cv : float
        Log-normal multiplicative noise (coefficient of variation).

    Returns
    -------
    DataFrame
        ``sample_id, marker, assay, replicate, value`` and the carried columns: the long
        form that ``msc-morph correlate`` reads.
    """
    carried = _carried_columns(samples)
    rng = np.random.default_rng(seed)
    rows = []
    sigma = np.sqrt(np.log1p(noise_cv**2))
    for _, sample in samples.iterrows():
        meta = {c: sample[c] for c in carried}
        for marker in markers:
            truth = float(marker_expression(sample["differentiation"], marker))
            for assay in assays:
                level = truth if assay == "qPCR" else truth**0.6
                for replicate in range(1, replicates + 1):
                    value = level * float(np.exp(rng.normal(-0.5 * sigma**2, sigma)))
                    rows.append({"sample_id": sample["sample_id"], "marker": marker, "assay": assay,
                                 "replicate": replicate, "value": value, **meta})
    return pd.DataFrame(rows)


#: Baseline Ct of each gene at fold change 1, and of the reference gene.
BASE_CT = {"RUNX2": 26.0, "OSX": 29.0, "OCN": 30.0, "GAPDH": 18.0}


def synthetic_ct_readouts(
    samples: pd.DataFrame,
    markers=("RUNX2", "OSX", "OCN"),
    reference: str = "GAPDH",
    replicates: int = 3,
    donor_sd: float = 0.6,
    input_sd: float = 1.0,
    noise_sd: float = 0.2,
    seed: int = 0,
) -> pd.DataFrame:
    """qPCR Ct values (long form, as :func:`synthetic_readouts`) for samples with a known ``differentiation``.

    ``Ct = base - log2(fold change) - donor offset + cDNA input offset + noise``: raw Ct
    tracks the input more than differentiation; ΔCt against ``reference`` removes the input,
    a repeated-measures analysis by donor the donor levels.
    """
    carried = _carried_columns(samples)
    rng = np.random.default_rng(seed)
    donors = samples["donor"].unique() if "donor" in samples.columns else ["all"]
    donor_level = {(d, m): rng.normal(0.0, donor_sd) for d in donors for m in markers}
    rows = []
    for _, sample in samples.iterrows():
        donor = sample["donor"] if "donor" in samples.columns else "all"
        meta = {c: sample[c] for c in carried}
        cdna = rng.normal(0.0, input_sd)
        for marker in (*markers, reference):
            if marker == reference:
                mean_ct = BASE_CT.get(reference, 18.0) + cdna
            else:
                fold = float(marker_expression(sample["differentiation"], marker))
                mean_ct = BASE_CT.get(marker, 28.0) - np.log2(fold) - donor_level[donor, marker] + cdna
            for replicate in range(1, replicates + 1):
                rows.append({"sample_id": sample["sample_id"], "marker": marker, "assay": "qPCR",
                             "replicate": replicate, "value": mean_ct + rng.normal(0.0, noise_sd), **meta})
    return pd.DataFrame(rows)


def osteo_samples(manifest: pd.DataFrame) -> pd.DataFrame:
    """One row per donor, day and condition of an osteo manifest: ``sample_id`` and truth."""
    samples = (manifest.groupby(["donor", "day", "condition"], sort=True)["differentiation"]
               .mean().reset_index())
    samples.insert(0, "sample_id", [f"{d}_d{int(day):02d}_{c}" for d, day, c in
                                    zip(samples["donor"], samples["day"], samples["condition"],
                                        strict=True)])
    return samples
