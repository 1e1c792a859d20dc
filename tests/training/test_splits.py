"""Donor-grouped splits: no leakage, stratified, deterministic, explicit column wins."""

import pandas as pd
import pytest

from napari_msc_morph.training.splits import (
    assign_splits,
    check_no_leakage,
    grouped_split,
    write_split,
)


def _passage_table(n_donors=14, passages=range(1, 11), per=2):
    rows = [
        {"path": f"/x/D{d}_P{p}_{k}.tif", "label": f"P{p}", "donor": f"D{d}"}
        for d in range(1, n_donors + 1) for p in passages for k in range(per)
    ]
    return pd.DataFrame(rows)


def test_passage_study_split_10_2_2_without_leakage():
    table = assign_splits(_passage_table(), val=2, test=2, seed=3)
    groups = table.groupby("split")["donor"].nunique()
    assert groups.to_dict() == {"train": 10, "val": 2, "test": 2}
    assert check_no_leakage(table) == []
    # every class in every split (each donor has every passage)
    assert (pd.crosstab(table["label"], table["split"]) > 0).all().all()


def test_split_is_deterministic_and_depends_on_seed():
    table = _passage_table()
    a = assign_splits(table, seed=1)["split"].tolist()
    b = assign_splits(table.sample(frac=1.0, random_state=0).sort_index(), seed=1)["split"].tolist()
    c = assign_splits(table, seed=2)["split"].tolist()
    assert a == b
    assert a != c


def test_stratified_when_donors_hold_one_class():
    # source task: each donor is either umbilical cord or bone marrow
    labels = ["umbilical_cord"] * 6 * 3 + ["bone_marrow"] * 6 * 3
    groups = [f"U{i // 3}" for i in range(18)] + [f"B{i // 3}" for i in range(18)]
    for seed in range(5):
        split = grouped_split(labels, groups, val=2, test=2, seed=seed)
        frame = pd.DataFrame({"label": labels, "split": split, "donor": groups})
        present = pd.crosstab(frame["label"], frame["split"]) > 0
        assert present.all().all(), seed
        assert check_no_leakage(frame) == []


def test_too_few_donors_is_a_clear_error():
    with pytest.raises(ValueError, match="2 donor"):
        grouped_split(["a", "b"], ["D1", "D2"], val=1, test=1)


def test_explicit_split_column_wins_and_leaks_warn():
    table = _passage_table(n_donors=3, passages=[1, 2], per=1)
    table["split"] = ["train"] * 4 + ["val"] + ["test"]
    with pytest.warns(UserWarning, match="more than one split"):
        out = assign_splits(table, seed=0)
    assert out["split"].tolist() == table["split"].tolist()


def test_image_level_split_warns_and_write_split(tmp_path):
    table = _passage_table(n_donors=2, passages=[1, 2], per=3)
    with pytest.warns(UserWarning, match="single images"):
        out = assign_splits(table, split_by="none", val=0.2, test=0.2)
    assert set(out["split"]) == {"train", "val", "test"}
    path = write_split(out, tmp_path / "split.csv")
    saved = pd.read_csv(path)
    assert list(saved.columns) == ["path", "label", "donor", "split"]
    assert len(saved) == len(out)
