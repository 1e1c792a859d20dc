"""Synthetic per-image scores and readouts with a known relation between them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def make_images(seed: int = 0, donors=("D1", "D2", "D3"), days=(0, 7, 14, 21),
                conditions=("induced", "control"), images_per_sample: int = 2) -> pd.DataFrame:
    """One row per image: OsScore rising with day when induced, cell counts, metadata."""
    rng = np.random.default_rng(seed)
    rows = []
    for donor in donors:
        for condition in conditions:
            for day in days:
                sample = f"{donor}_{condition}_d{day}"
                level = day / 21 if condition == "induced" else 0.1 * day / 21
                for image in range(images_per_sample):
                    rows.append({
                        "layer": f"{sample}_img{image}",
                        "osscore": level + rng.normal(0, 0.05),
                        "median_area_um2": 1500 + 900 * level + rng.normal(0, 50),
                        "cell_count": int(rng.integers(80, 160)),
                        "sample_id": sample, "donor": donor, "day": day,
                        "condition": condition,
                    })
    return pd.DataFrame(rows)


def make_readouts_long(images: pd.DataFrame, seed: int = 1, replicates: int = 3,
                       markers=None) -> pd.DataFrame:
    """Long readouts: marker = a * (sample mean OsScore) + b + noise, per replicate."""
    markers = markers or {("RUNX2", "qPCR"): (4.0, 1.0), ("OCN", "qPCR"): (8.0, 1.0),
                          ("OSX", "western"): (2.0, 0.5), ("p16", "qPCR"): (0.0, 1.0)}
    rng = np.random.default_rng(seed)
    truth = images.groupby("sample_id")["osscore"].mean()
    meta = images.groupby("sample_id")[["day", "condition"]].first()
    rows = []
    for sample, score in truth.items():
        for (marker, assay), (a, b) in markers.items():
            for rep in range(1, replicates + 1):
                rows.append({"sample_id": sample, "marker": marker, "assay": assay,
                             "value": a * score + b + rng.normal(0, 0.3), "replicate": rep,
                             "day": meta.loc[sample, "day"],
                             "condition": meta.loc[sample, "condition"]})
    return pd.DataFrame(rows)


@pytest.fixture
def images() -> pd.DataFrame:
    return make_images()


@pytest.fixture
def readouts_long(images) -> pd.DataFrame:
    return make_readouts_long(images)
