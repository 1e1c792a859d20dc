"""The split a bundle was trained with, recorded in the bundle and applied again.

A bundle remembers which group (donor, or image file when split by image)
went to train / val / test, and a hash of the manifest it was trained on, so
``evaluate_model(bundle, manifest)`` on the *same* manifest without a
``split`` column reproduces the held-out test set of the training report.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from ..errors import BadInputError

__all__ = ["apply_recorded_split", "manifest_hash", "record_split"]


def _group_keys(table: pd.DataFrame, by: str) -> list[str]:
    if by == "image":  # file names: the same images wherever the folder now lives
        return [Path(p).name for p in table["path"]]
    return [str(v) for v in table[by]]


def manifest_hash(table: pd.DataFrame) -> str:
    """sha256 of the manifest's content (file names, labels, donors), not of its spelling."""
    rows = sorted(zip([Path(p).name for p in table["path"]], table["label"].astype(str),
                      table["donor"].astype(str) if "donor" in table.columns
                      else [""] * len(table)))
    return hashlib.sha256(repr(rows).encode("utf-8")).hexdigest()


def record_split(table: pd.DataFrame, split_by: str | None) -> dict:
    """``{"by", "groups": {group: split}, "manifest_sha256"}`` for ``model.json``."""
    by = split_by if split_by and split_by in table.columns else "image"
    groups = dict(zip(_group_keys(table, by), table["split"].astype(str)))
    return {"by": by, "groups": groups, "manifest_sha256": manifest_hash(table)}


def apply_recorded_split(table: pd.DataFrame, recorded: dict | None, source: str) -> tuple:
    """``table`` with the bundle's split assigned, and a note for the report.

    Rows whose group the bundle never saw get no split (they are not part of
    any of its splits). Raises when the bundle has no recorded split.
    """
    if not recorded or "groups" not in recorded:
        raise BadInputError(
            f"{source} has no split column and the bundle does not record its training split "
            "(bundles written before napari-msc-morph 0.2); pass the training run's split.csv "
            "(--split-file), add a split column, or evaluate split 'all'."
        )
    by = recorded["by"]
    if by != "image" and by not in table.columns:
        raise BadInputError(
            f"{source} has no {by!r} column, which the bundle's recorded split is keyed by; "
            f"add it, or pass the training run's split.csv (--split-file)."
        )
    groups = recorded["groups"]
    table = table.copy()
    table["split"] = [groups.get(key, "") for key in _group_keys(table, by)]
    same = recorded.get("manifest_sha256") == manifest_hash(table)
    note = ("split as recorded in the bundle (same manifest as in training)" if same else
            "split as recorded in the bundle; this manifest differs from the training one, "
            "so only images of the recorded groups are assigned")
    return table, note
