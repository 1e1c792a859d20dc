"""write_dataset: files, manifest, pixel sizes, exact IF label truth, determinism."""

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from napari_msc_morph.errors import BadInputError
from napari_msc_morph.io import read_image
from napari_msc_morph.synthetic import IF_CHANNELS, KINDS, write_dataset

TINY = (64, 80)


def _hashes(folder: Path) -> dict:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize(
    "kind, n_classes, class_columns",
    [
        ("passage", 10, ["passage"]),
        ("osteo", 14, ["day", "condition"]),
        ("source", 2, ["source"]),
        ("nsc", 3, ["fate"]),
    ],
)
def test_brightfield_dataset_manifest_and_files(tmp_path, kind, n_classes, class_columns):
    calls = []
    manifest = write_dataset(kind, tmp_path, n_donors=2, per_class=1, size=TINY, seed=1,
                             progress=lambda done, total: calls.append((done, total)))
    assert list(manifest.columns[:3]) == ["path", "donor", "label"]
    assert set(class_columns) <= set(manifest.columns)
    assert len(manifest) == 2 * n_classes
    assert set(manifest["donor"]) == {"D1", "D2"}
    assert calls[-1] == (len(manifest), len(manifest)) and len(calls) == len(manifest)
    on_disk = pd.read_csv(tmp_path / "manifest.csv")
    assert list(on_disk["path"]) == list(manifest["path"])
    for rel in manifest["path"]:
        assert not Path(rel).is_absolute() and "\\" not in rel
        image = read_image(tmp_path / rel)
        assert image.data.shape == TINY and image.data.dtype == np.uint8
        assert image.pixel_size_um == pytest.approx(0.65, rel=1e-6)
    if kind == "passage":
        assert sorted(set(manifest["label"]), key=lambda s: int(s[1:])) == [f"P{p}" for p in range(1, 11)]
        assert (manifest["label"] == "P" + manifest["passage"].astype(str)).all()
    if kind == "osteo":
        assert set(manifest["label"]) == {"induced", "control"}
        assert (manifest["label"] == manifest["condition"]).all()
        induced = manifest[manifest["label"] == "induced"]
        for _, group in induced.groupby("donor"):
            group = group.sort_values("day")
            assert group["differentiation"].is_monotonic_increasing
    if kind == "source":
        assert set(manifest["label"]) == {"umbilical_cord", "bone_marrow"}
    if kind == "nsc":
        assert set(manifest["label"]) == {"neuron", "astrocyte", "oligodendrocyte"}


def test_rgb_dataset(tmp_path):
    manifest = write_dataset("source", tmp_path, n_donors=1, per_class=1, size=TINY, rgb=True)
    image = read_image(tmp_path / manifest["path"][0])
    assert image.data.shape == TINY + (3,)
    assert image.pixel_size_um == pytest.approx(0.65, rel=1e-6)


def test_if_dataset_truth_matches_written_labels_exactly(tmp_path):
    manifest = write_dataset("if", tmp_path, n_donors=1, per_class=2, size=(128, 128), seed=2)
    assert len(manifest) == 2
    assert set(manifest["label"]) == {"field"}
    assert list(manifest["differentiation"]) == [0.0, 1.0]
    for _, row in manifest.iterrows():
        stem = row["path"][: -len(".tif")]
        assert row["nuclei_path"] == f"{stem}_nuclei.tif"
        assert row["cells_path"] == f"{stem}_cells.tif"
        assert row["cells_table_path"] == f"{stem}_cells.csv"
        image = read_image(tmp_path / row["path"])
        assert image.data.shape == (len(IF_CHANNELS), 128, 128) and image.data.dtype == np.uint16
        assert image.pixel_size_um == pytest.approx(0.325, rel=1e-6)
        assert list(image.metadata.get("Labels", [])) == list(IF_CHANNELS)
        cells = read_image(tmp_path / row["cells_path"])
        nuclei = read_image(tmp_path / row["nuclei_path"])
        assert cells.pixel_size_um == pytest.approx(0.325, rel=1e-6)
        truth = pd.read_csv(tmp_path / row["cells_table_path"])
        assert len(truth) == row["n_cells"]
        cell_counts = np.bincount(cells.data.ravel().astype(np.int64))
        nucleus_counts = np.bincount(nuclei.data.ravel().astype(np.int64))
        assert (cell_counts[truth["label"]] == truth["area_px"]).all()
        assert (nucleus_counts[truth["nucleus_label"]] == truth["nucleus_area_px"]).all()
        inside = nuclei.data > 0
        assert (cells.data[inside] == nuclei.data[inside]).all()


def test_same_seed_same_files_different_seed_different(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for folder, seed in ((a, 3), (b, 3), (c, 4)):
        write_dataset("source", folder, n_donors=2, per_class=1, size=TINY, seed=seed)
    assert _hashes(a) == _hashes(b)
    ha, hc = _hashes(a), _hashes(c)
    assert ha.keys() == hc.keys()
    assert all(ha[k] != hc[k] for k in ha if k.endswith(".tif"))


def test_bad_arguments(tmp_path):
    assert KINDS == ("passage", "osteo", "source", "nsc", "strain", "if")
    with pytest.raises(BadInputError, match="kind"):
        write_dataset("adipose", tmp_path)
    with pytest.raises(BadInputError, match="n_donors"):
        write_dataset("passage", tmp_path, n_donors=0)
    with pytest.raises(BadInputError, match="per_class"):
        write_dataset("passage", tmp_path, per_class=0)
    with pytest.raises(BadInputError, match="rgb"):
        write_dataset("if", tmp_path, rgb=True)
    assert not (tmp_path / "manifest.csv").exists()
