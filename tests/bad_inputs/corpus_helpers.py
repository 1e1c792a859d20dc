"""Helpers several bad-input modules share (one definition each)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from napari_msc_morph.training import TrainConfig

#: The smallest timm network the tests train (built with pretrained=False).
BACKBONE = "test_resnet"


def snapshot(root: Path) -> dict:
    """sha256 of every file under ``root``, by relative path."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def digests(*roots: Path) -> dict:
    """sha256 of each given file, or of every file under each given folder, by path."""
    files = []
    for root in roots:
        files.extend([root] if root.is_file() else sorted(p for p in root.rglob("*")
                                                           if p.is_file()))
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def tiny_passage_set(folder: Path) -> Path:
    """Eight 48x64 noise images of 4 donors at P1 and P10, and their manifest.csv."""
    import numpy as np
    import pandas as pd
    import tifffile

    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for d in range(1, 5):
        for p in (1, 10):
            rng = np.random.default_rng([d, p])
            tifffile.imwrite(folder / f"D{d}_P{p}.tif", rng.integers(0, 255, (48, 64), np.uint8))
            rows.append({"path": f"D{d}_P{p}.tif", "label": f"P{p}", "donor": f"D{d}"})
    pd.DataFrame(rows).to_csv(folder / "manifest.csv", index=False)
    return folder / "manifest.csv"


def stderr_lines(err: str) -> list[str]:
    # a progress bar redraws with carriage returns; the last redraw of a line is what shows
    return [line.rsplit("\r", 1)[-1].strip() for line in err.splitlines()
            if line.rsplit("\r", 1)[-1].strip()]


def tiny_train_config(**kw) -> TrainConfig:
    """One CPU epoch on 32 px crops: seconds, not minutes."""
    base = dict(task="passage", backbone=BACKBONE, input_size=32, epochs=1, batch_size=4,
                crops_per_field=1, device="cpu", val=1, test=1, lr=1e-3, seed=0)
    base.update(kw)
    return TrainConfig(**base)
