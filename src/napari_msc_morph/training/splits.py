"""Donor-grouped train/validation/test splits and folds, and the split a bundle records.

Of :data:`N_CANDIDATES` seeded shuffles of the groups, the one whose per-split class
shares are closest to the whole table's is kept. Owned code: scikit-learn's
``GroupShuffleSplit`` does not stratify, and ``StratifiedGroupKFold``/``GroupKFold``
balance folds by images, not donors, and give no exact validation/test donor counts
(the passage study's 10/2/2).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import BadInputError
from ..io import path_for_file, write_table
from .data import SPLIT_NAMES, load_manifest

__all__ = ["grouped_folds", "grouped_split", "assign_splits", "check_no_leakage", "write_split",
           "apply_split_file", "split_counts", "apply_recorded_split", "manifest_hash",
           "record_split"]

#: How many seeded shuffles the stratifier compares.
N_CANDIDATES = 400


def _n_groups(fraction_or_count, n_total: int) -> int:
    value = float(fraction_or_count)
    if value >= 1:
        return int(value)
    if value <= 0:
        return 0
    return max(1, int(round(value * n_total)))


def _class_counts(labels, groups):
    """The number of groups, each image's group, images per (group, class), class shares."""
    labels = np.asarray([str(v) for v in labels])
    groups = np.asarray([str(v) for v in groups])
    if labels.shape != groups.shape:
        raise ValueError(f"{labels.size} labels but {groups.size} groups.")
    unique_groups, group_of = np.unique(groups, return_inverse=True)
    _, class_of = np.unique(labels, return_inverse=True)
    counts = np.zeros((unique_groups.size, class_of.max(initial=-1) + 1))
    np.add.at(counts, (group_of, class_of), 1)
    return unique_groups.size, group_of, counts, counts.sum(0) / counts.sum()


def _share_gap(part, overall) -> float:
    """How far the class shares of ``part`` (images per class) are from ``overall``."""
    return float(np.abs(part / max(part.sum(), 1) - overall).sum())


def _best_shuffle(n: int, seed: int, salt: int, score) -> np.ndarray:
    """Of :data:`N_CANDIDATES` seeded orders of ``n`` groups, the first with the lowest ``score``."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, salt]))
    best_score, best_order = None, None
    for _ in range(N_CANDIDATES):
        order = rng.permutation(n)
        value = score(order)
        if best_score is None or value < best_score - 1e-12:
            best_score, best_order = value, order
    return best_order


def grouped_split(
    labels,
    groups,
    val: float | int = 0.15,
    test: float | int = 0.15,
    seed: int = 0,
) -> np.ndarray:
    """Assign every image to ``train``/``val``/``test`` with whole groups per split.

    Parameters
    ----------
    labels, groups : sequence of str
        Class and donor/strain of each image.
    val, test : float or int
        Share of groups (``< 1``; at least one when non-zero) or number of groups.
    seed : int
        Same seed, same table -> same split.

    Returns
    -------
    ndarray of str
        ``"train"``, ``"val"`` or ``"test"`` per image.

    Examples
    --------
    >>> split = grouped_split(["a", "b"] * 6, [f"D{i // 2}" for i in range(12)], val=1, test=1)
    >>> sorted(set(split.tolist()))
    ['test', 'train', 'val']
    """
    n, group_of, counts, overall = _class_counts(labels, groups)
    n_val = _n_groups(val, n)
    n_test = _n_groups(test, n)
    if n_val + n_test >= n:
        raise BadInputError(
            f"{n} donor(s) cannot give {n_val} validation and {n_test} test donor(s) and still "
            f"leave one for training; add donors, lower the validation/test share, or give "
            "the split by hand in a 'split' column."
        )

    def score(order):
        value = 0.0
        for name, idx in (("test", order[:n_test]), ("val", order[n_test:n_test + n_val]),
                          ("train", order[n_test + n_val:])):
            if idx.size:
                part = counts[idx].sum(0)
                # A class missing from training is never acceptable when avoidable;
                # missing from val/test only hurts the metrics.
                value += int((part == 0).sum()) * (1000.0 if name == "train" else 10.0)
                value += _share_gap(part, overall)
        return value

    best_order = _best_shuffle(n, seed, 0x5B1, score)
    split_of = np.empty(n, dtype=object)
    split_of[best_order] = ["test"] * n_test + ["val"] * n_val + ["train"] * (n - n_test - n_val)
    return split_of[group_of].astype(str)


def grouped_folds(labels, groups, k: int, seed: int = 0) -> np.ndarray:
    """Fold (``0 .. k-1``) of every image: whole groups, stratified as :func:`grouped_split`.

    Examples
    --------
    >>> folds = grouped_folds(["a", "b"] * 6, [f"D{i // 2}" for i in range(12)], k=3)
    >>> sorted(set(folds.tolist()))
    [0, 1, 2]
    """
    n, group_of, counts, overall = _class_counts(labels, groups)
    if not 2 <= int(k) <= n:
        raise BadInputError(f"{k} folds need between 2 and {n} groups (there are {n}).")

    def folds_of(order):
        fold_of = np.empty(n, dtype=int)
        fold_of[order] = np.arange(n) % int(k)
        return fold_of

    def score(order):
        fold_of, value = folds_of(order), 0.0
        for f in range(int(k)):
            held, rest = counts[fold_of == f].sum(0), counts[fold_of != f].sum(0)
            value += 1000.0 * int((rest == 0).sum()) + 10.0 * int((held == 0).sum())
            value += _share_gap(held, overall)
        return value

    return folds_of(_best_shuffle(n, seed, 0xF01D, score))[group_of]


def assign_splits(
    table: pd.DataFrame,
    split_by: str | None = "donor",
    val: float | int = 0.15,
    test: float | int = 0.15,
    seed: int = 0,
) -> pd.DataFrame:
    """``table`` with a ``split`` column: its own if filled in, else :func:`grouped_split`.

    Donors found in two splits, and splitting single images, are warned about.
    """
    table = table.copy()
    if "split" in table.columns and (table["split"].astype(str) != "").any():
        if split_by and split_by in table.columns:
            leaks = check_no_leakage(table, split_by)
            if leaks:
                warnings.warn(
                    f"The manifest's split column puts {split_by}(s) {', '.join(leaks[:5])} in more "
                    "than one split; their images are not independent test data.",
                    stacklevel=2,
                )
        return table
    if split_by in (None, "", "none", "image"):
        warnings.warn(
            "Splitting single images, not donors: images of one donor land in several splits, "
            "so validation and test scores will be optimistic.",
            stacklevel=2,
        )
        groups = table["path"].astype(str)
    else:
        if split_by not in table.columns:
            raise BadInputError(
                f"The manifest has no {split_by!r} column to split by; add it, or split by 'none'."
            )
        groups = table[split_by].astype(str)
    table["split"] = grouped_split(table["label"], groups, val=val, test=test, seed=seed)
    return table


def check_no_leakage(table: pd.DataFrame, split_by: str = "donor") -> list[str]:
    """Names of groups found in more than one split (``[]``: no group leaks)."""
    per_group = table.groupby(table[split_by].astype(str))["split"].nunique()
    return sorted(per_group[per_group > 1].index)


def split_counts(table: pd.DataFrame, split_by: str | None = "donor") -> pd.DataFrame:
    """Images per class and split (and the number of groups per split)."""
    counts = pd.crosstab(table["label"], table["split"]).reindex(columns=list(SPLIT_NAMES), fill_value=0)
    if split_by and split_by in table.columns:
        groups = table.groupby("split")[split_by].nunique().reindex(list(SPLIT_NAMES), fill_value=0)
        counts.loc[f"({split_by}s)"] = groups.values
    return counts


def write_split(table: pd.DataFrame, path: str | os.PathLike, split_by: str | None = "donor",
                column: str = "split"):
    """Write ``split.csv`` (path, label, group and optional columns, ``column``), paths relative to it."""
    cols = ["path", "label"]
    if split_by and split_by in table.columns and split_by not in cols:
        cols.append(split_by)
    cols += [c for c in ("donor", "day", "passage", "condition") if c in table.columns and c not in cols]
    cols.append(column)
    folder = Path(path).parent
    stored = table[cols].copy()
    stored["path"] = [path_for_file(p, folder) if p else p for p in stored["path"]]
    return write_table(stored, path)


def apply_split_file(table: pd.DataFrame, split_file) -> pd.DataFrame:
    """``table`` with the split of a training run's ``split.csv`` (see :func:`write_split`).

    Rows are matched by resolved image path; a row the file does not list gets no split.
    """
    saved = load_manifest(split_file)
    if "split" not in saved.columns:
        raise BadInputError(f"{split_file} has no split column; give a training run's split.csv.")
    splits = {str(Path(p).resolve()): s for p, s in zip(saved["path"], saved["split"], strict=True)}
    return table.assign(split=[splits.get(str(Path(p).resolve()), "") for p in table["path"]])


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
    """``table`` with the bundle's split assigned (unknown groups get none), and a note."""
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
