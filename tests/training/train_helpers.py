"""Tiny synthetic datasets for the training and Train-widget tests."""

import pandas as pd

from napari_msc_morph.io import write_tiff
from napari_msc_morph.synthetic import make_donor, passage_field

#: a tiny timm backbone (0.37 M parameters, fast at 64 px)
BACKBONE = "test_resnet"


def write_passage_set(out, passages=(1, 10), n_donors=6, per_class=3, size=(256, 320), seed=0):
    """Phase-contrast fields of ``passages`` for ``n_donors`` donors + manifest.csv."""
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for d in range(1, n_donors + 1):
        donor = make_donor(d, seed=seed)
        for p in passages:
            for k in range(per_class):
                field = passage_field(p, donor, size=size, seed=seed * 1000 + k)
                name = f"D{d}_P{p}_{k}.tif"
                write_tiff(field.image, out / name, pixel_size_um=field.pixel_size_um)
                rows.append({"path": name, "label": f"P{p}", "donor": f"D{d}", "passage": p})
    manifest = out / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest
