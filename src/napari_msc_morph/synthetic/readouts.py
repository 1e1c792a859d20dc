"""Synthetic molecular readouts (RUNX2, OSX, OCN) derived from hidden truth.

OsteoNet's claim is that an image score tracks osteogenic markers. To let users
(and the demo) test that claim end to end, the synthetic osteogenic time
course gets matching qPCR and western-blot readouts computed from each
sample's *true* differentiation level, never from the images, with marker
kinetics from the osteogenesis literature: RUNX2 is an early transcription
factor, OSX (SP7) follows it, OCN (BGLAP) is a late mineralisation marker.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: marker -> (onset in differentiation units, steepness, maximum fold change)
MARKER_KINETICS = {
    "RUNX2": (0.10, 10.0, 4.0),
    "OSX": (0.30, 10.0, 6.0),
    "OCN": (0.55, 12.0, 12.0),
}


def marker_expression(differentiation, marker: str) -> np.ndarray:
    """Noise-free fold change of ``marker`` at a differentiation level in [0, 1]."""
    if marker not in MARKER_KINETICS:
        raise ValueError(f"unknown marker {marker!r}; known: {sorted(MARKER_KINETICS)}")
    onset, steepness, maximum = MARKER_KINETICS[marker]
    d = np.asarray(differentiation, dtype=float)
    sigmoid = 1.0 / (1.0 + np.exp(-steepness * (d - onset)))
    baseline = 1.0 / (1.0 + np.exp(steepness * onset))  # so that d = 0 gives fold change 1
    return 1.0 + (maximum - 1.0) * (sigmoid - baseline) / (1.0 - baseline)


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
        One row per sample with ``sample_id`` and ``differentiation`` (0-1);
        other columns (``day``, ``condition``, ``donor``) are carried over.
    markers, assays : sequence of str
        Which markers and assays to simulate. Western blot values are
        densitometry normalised to a loading control, compressed relative to
        qPCR (a blot saturates).
    replicates : int
        Technical replicates per sample, marker and assay.
    noise_cv : float
        Log-normal multiplicative noise (coefficient of variation).

    Returns
    -------
    DataFrame
        Columns ``sample_id, marker, assay, replicate, value`` plus the carried
        metadata columns: the long form that ``msc-morph correlate`` reads.
    """
    for column in ("sample_id", "differentiation"):
        if column not in samples.columns:
            raise ValueError(f"samples table needs a {column!r} column")
    rng = np.random.default_rng(seed)
    carried = [c for c in ("donor", "day", "condition") if c in samples.columns]
    rows = []
    sigma = np.sqrt(np.log1p(noise_cv**2))
    for _, sample in samples.iterrows():
        for marker in markers:
            truth = float(marker_expression(sample["differentiation"], marker))
            for assay in assays:
                level = truth if assay == "qPCR" else truth**0.6
                for replicate in range(1, replicates + 1):
                    value = level * float(np.exp(rng.normal(-0.5 * sigma**2, sigma)))
                    row = {"sample_id": sample["sample_id"], "marker": marker, "assay": assay,
                           "replicate": replicate, "value": value}
                    row.update({c: sample[c] for c in carried})
                    rows.append(row)
    return pd.DataFrame(rows)
