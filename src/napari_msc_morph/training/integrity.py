"""Manifest integrity: one image, one row, one split.

Rows match by the file they resolve to (symlinks, ``..``, letter case, inode) and by the
sha256 of their bytes, since a duplicated image in train and test measures memory.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = ["Duplicate", "content_sha256", "find_duplicates", "merge_duplicates",
           "split_warnings"]

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Duplicate:
    """Row ``line`` shows the same image as the earlier row ``first_line``."""

    line: int
    path: str
    first_line: int
    first_path: str
    how: str

    def message(self) -> str:
        return (f"{self.path} is the same image as line {self.first_line} ({self.first_path}): "
                f"{self.how}; remove one of the two rows (or, for training, pass --dedupe / "
                "dedupe=True to keep the first), so that no image is in two splits")


def _resolved(path: str) -> str:
    return os.path.normcase(os.path.realpath(path))


def content_sha256(path: str) -> str:
    """The sha256 of the file's bytes (cached per resolved path, size and mtime)."""
    st = os.stat(path)
    return _file_sha256(_resolved(path), st.st_size, st.st_mtime_ns)


@functools.cache  # a manifest read twice hashes once
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def find_duplicates(table: pd.DataFrame) -> list[Duplicate]:
    """Rows whose image is an earlier row's: same path, same file, or same bytes (missing files: by path)."""
    by_file: dict[object, tuple[int, str]] = {}
    by_size: dict[int, list[tuple[int, str]]] = {}
    found: list[Duplicate] = []
    for path, line in zip(table["path"], table["line"], strict=True):
        if not path:
            continue
        line = int(line)
        is_file = Path(path).is_file()
        st = os.stat(path) if is_file else None
        keys = [("path", _resolved(path))]
        if is_file:
            keys.append(("inode", st.st_dev, st.st_ino))
        first = next((by_file[k] for k in keys if k in by_file), None)
        if first is not None:
            how = ("the same path" if os.path.normpath(first[1]) == os.path.normpath(path)
                   else "the same file (through a symlink, '..' or letter case)")
            found.append(Duplicate(line, path, first[0], first[1], how))
            continue
        for k in keys:
            by_file[k] = (line, path)
        if is_file:
            by_size.setdefault(st.st_size, []).append((line, path))
    # identical bytes under different files: hash only sizes that collide
    for rows in by_size.values():
        if len(rows) < 2:
            continue
        seen: dict[str, tuple[int, str]] = {}
        for line, path in rows:
            try:
                digest = content_sha256(path)
            except OSError:
                continue  # unreadable: validation says so
            if digest in seen:
                first = seen[digest]
                found.append(Duplicate(line, path, first[0], first[1],
                                       f"identical content (sha256 {digest[:12]}…)"))
            else:
                seen[digest] = (line, path)
    return sorted(found, key=lambda d: d.line)


def merge_duplicates(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """``table`` without rows that repeat an earlier row's image, and what was merged.

    A repeat with another label or split is kept, so that validation reports it.
    """
    first_rows = {int(line): row for line, row in zip(table["line"], table.itertuples(index=False),
                                                       strict=True)}
    drop, notes = set(), []
    for dup in find_duplicates(table):
        first, again = first_rows[dup.first_line], first_rows[dup.line]
        if first.label != again.label:
            continue
        if "split" in table.columns and (first.split or again.split) and first.split != again.split:
            continue
        drop.add(dup.line)
        notes.append(f"line {dup.line} ({dup.path}) merged into line {dup.first_line}: {dup.how}")
    kept = table[~table["line"].astype(int).isin(drop)].reset_index(drop=True)
    return kept, notes


def split_warnings(table: pd.DataFrame, class_names, split_by: str | None) -> list[str]:
    """What weakens this split's numbers: one group per image; a class missing from val/test."""
    out = []
    if split_by and split_by in table.columns and len(table) > 1:
        n_groups = table[split_by].astype(str).nunique()
        if n_groups == len(table):
            out.append(
                f"every image has its own {split_by!r} ({len(table)} images, {n_groups} groups), "
                f"so the {split_by}-grouped split is a split of single images; if images share "
                f"a {split_by}, give them the same value so they stay in one split."
            )
    for split, name in (("val", "validation"), ("test", "test")):
        labels = set(table.loc[table["split"] == split, "label"])
        if not labels:
            continue
        absent = [c for c in class_names if c not in labels]
        if absent:
            out.append(
                f"class(es) {', '.join(absent)} have no image in the {name} split, so its "
                f"numbers say nothing about them; add {split_by or 'image'}s of those classes "
                f"or set the split by hand (a 'split' column)."
            )
    return out
