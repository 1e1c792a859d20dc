"""Batch work on Dask: a 2-worker cluster gives exactly the serial results, in input order.

Most tests share one 2-worker cluster of threads (it starts in a second); one CLI test
starts real worker processes, as ``msc-morph measure --workers 2`` does for users.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inference"))
from predict_helpers import make_bundle  # noqa: E402

from napari_msc_morph.batch import (  # noqa: E402
    Field,
    batch_client,
    measure_fields,
    read_fields_manifest,
    segment_fields,
)
from napari_msc_morph.cli import main  # noqa: E402
from napari_msc_morph.inference import cluster as batch_predict  # noqa: E402
from napari_msc_morph.inference import predict_images, predictions_table  # noqa: E402
from napari_msc_morph.inference.cluster import MODEL_LOADS, predict_fields  # noqa: E402
from napari_msc_morph.io import read_image, write_tiff  # noqa: E402
from napari_msc_morph.morphology import measure_field  # noqa: E402
from napari_msc_morph.synthetic import if_field  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with batch_client(workers=2, processes=False) as client:
        yield client


@pytest.fixture(scope="module")
def if_fields(tmp_path_factory):
    """Four fields with labels, nuclei and RUNX2; the first is the largest (finishes last)."""
    root = tmp_path_factory.mktemp("if")
    fields = []
    for k, size in enumerate([(192, 192), (96, 96), (96, 112), (112, 96)]):
        f = if_field(size=size, n_cells=6 if k else 14, seed=k)
        paths = {}
        for name, data in (("cells", f.cells), ("nuclei", f.nuclei),
                           ("RUNX2", f.channels["RUNX2"]), ("DAPI", f.channels["DAPI"]),
                           ("actin", f.channels["actin"])):
            paths[name] = write_tiff(data, root / f"f{k}_{name}.tif",
                                     pixel_size_um=f.pixel_size_um)
        fields.append(Field(f"f{k}", {"labels": str(paths["cells"]),
                                      "nuclei_labels": str(paths["nuclei"]),
                                      "nuclei": str(paths["DAPI"]), "cells": str(paths["actin"])},
                            {"RUNX2": str(paths["RUNX2"])}, sample_id=f"s{k % 2}"))
    return root, fields


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp("bf")
    rng = np.random.default_rng(3)
    paths = [write_tiff(rng.integers(0, 256, (72 + 8 * k, 80), dtype=np.uint8),
                        root / f"img{k}.tif", pixel_size_um=0.5) for k in range(6)]
    bundle = make_bundle(tmp_path_factory.mktemp("bundle") / "osteo.zip", tiling="center")
    return root, paths, bundle


def test_measure_on_two_workers_equals_serial_in_input_order(if_fields, client):
    _, fields = if_fields
    serial = measure_fields(fields)
    seen = []
    spread = measure_fields(fields, client=client, progress=lambda d, t, m: seen.append((d, t)))
    pd.testing.assert_frame_equal(spread.table, serial.table)
    pd.testing.assert_frame_equal(spread.summary, serial.summary)
    assert list(spread.summary["field"]) == ["f0", "f1", "f2", "f3"]
    assert list(dict.fromkeys(spread.table["field"])) == ["f0", "f1", "f2", "f3"]
    assert list(spread.summary["sample_id"]) == ["s0", "s1", "s0", "s1"]
    assert seen[-1] == (4, 4) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    # each field's rows are exactly what the one-field entry point gives
    one = measure_field(read_image(fields[2].files["labels"]).data,
                        {"RUNX2": read_image(fields[2].channels["RUNX2"]).data},
                        read_image(fields[2].files["nuclei_labels"]).data,
                        read_image(fields[2].files["labels"]).pixel_size_um,
                        pixel_size_source="file")
    rows = spread.table[spread.table["field"] == "f2"].drop(columns=["field", "sample_id"])
    pd.testing.assert_frame_equal(rows.reset_index(drop=True), one.table)


def test_a_failing_field_is_isolated(if_fields, client, tmp_path):
    _, fields = if_fields
    broken = tmp_path / "broken.tif"
    broken.write_bytes(b"not a tiff at all")
    bad = Field("broken", {"labels": str(broken)})
    batch = measure_fields([fields[1], bad, fields[3]], client=client)
    assert [f.field for f in batch.results.failures] == ["broken"]
    assert batch.results.failures[0].index == 1
    assert "broken.tif" in batch.results.failures[0].error
    assert list(batch.summary["field"]) == ["f1", "f3"]


def test_segment_on_two_workers_writes_the_serial_labels(if_fields, client, tmp_path):
    _, fields = if_fields
    serial = segment_fields(fields[1:3], tmp_path / "serial", diameter=(6, 60))
    spread = segment_fields(fields[1:3], tmp_path / "spread", diameter=(6, 60), client=client)
    pd.testing.assert_frame_equal(spread.fields, serial.fields)
    assert list(spread.fields["field"]) == ["f1", "f2"]
    for name in ("f1_cells.tif", "f1_nuclei.tif", "f2_cells.tif"):
        np.testing.assert_array_equal(read_image(tmp_path / "spread" / name).data,
                                      read_image(tmp_path / "serial" / name).data)
    # fields.csv is the measure manifest of the same fields
    again = read_fields_manifest(tmp_path / "spread" / "fields.csv", required=("labels",),
                                 optional=("nuclei_labels",), channels=True)
    assert [f.name for f in again] == ["f1", "f2"]
    assert again[0].channels == {"RUNX2": fields[1].channels["RUNX2"]}
    assert again[0].n_border_excluded == int(serial.fields.loc[0, "n_border_excluded"])


def test_predict_on_two_workers_equals_serial_and_loads_the_model_once_per_worker(images, client):
    _, paths, bundle = images
    MODEL_LOADS.clear()
    batch_predict.cached_predictor.cache_clear()
    serial = predict_images(bundle, paths, device="cpu", precision="fp32", on_error="collect")
    spread = predict_fields(bundle, paths, device="cpu", precision="fp32", client=client)
    pd.testing.assert_frame_equal(predictions_table(spread), predictions_table(serial))
    assert [p.name for p in spread] == [str(p) for p in paths]
    for a, b in zip(spread, serial, strict=True):
        np.testing.assert_array_equal(a.tile_probabilities, b.tile_probabilities)
    workers = [worker for worker, _ in MODEL_LOADS]
    assert len(workers) == len(set(workers)) <= 2  # once per worker, not once per image
    assert None not in workers
    predict_fields(bundle, paths, device="cpu", precision="fp32", client=client)
    assert len(MODEL_LOADS) == len(workers)  # a second batch reuses the workers' models


def test_predict_failure_is_the_serial_failure(images, client, tmp_path):
    _, paths, bundle = images
    garbage = tmp_path / "garbage.tif"
    garbage.write_bytes(b"this is not a tiff")
    inputs = [paths[0], garbage, tmp_path / "missing.tif", paths[1]]
    serial = predict_images(bundle, inputs, device="cpu", precision="fp32", on_error="collect")
    spread = predict_fields(bundle, inputs, device="cpu", precision="fp32", client=client)
    assert [(f.field, f.error, f.index) for f in spread.failures] == \
        [(f.field, f.error, f.index) for f in serial.failures]
    assert len(spread.failures) == 2 and spread.indices == serial.indices == [0, 3]


def test_cli_measure_with_worker_processes_equals_serial(if_fields, tmp_path, capsys):
    root, fields = if_fields
    manifest = tmp_path / "fields.csv"
    pd.DataFrame({"field": [f.name for f in fields[1:]],
                  "sample_id": [f.sample_id for f in fields[1:]],
                  "labels": [Path(f.files["labels"]).name for f in fields[1:]],
                  "nuclei_labels": [Path(f.files["nuclei_labels"]).name for f in fields[1:]],
                  "channel_RUNX2": [Path(f.channels["RUNX2"]).name for f in fields[1:]],
                  }).to_csv(root / "fields.csv", index=False)
    manifest = root / "fields.csv"
    serial, spread = tmp_path / "serial.csv", tmp_path / "spread.csv"
    assert main(["measure", "--manifest", str(manifest), "--out", str(serial),
                 "--summary", str(tmp_path / "serial_summary.csv")]) == 0
    assert main(["measure", "--manifest", str(manifest), "--out", str(spread),
                 "--summary", str(tmp_path / "spread_summary.csv"), "--workers", "2"]) == 0
    assert "2 local worker(s)" in capsys.readouterr().out
    assert serial.read_bytes() == spread.read_bytes()
    assert (tmp_path / "serial_summary.csv").read_bytes() == \
        (tmp_path / "spread_summary.csv").read_bytes()
    assert list(pd.read_csv(spread)["field"].unique()) == ["f1", "f2", "f3"]


def test_cli_predict_manifest_adds_field_and_sample_columns(images, tmp_path, capsys):
    root, paths, bundle = images
    manifest = tmp_path / "fields.csv"
    pd.DataFrame({"field": ["a", "b", "c"], "sample_id": ["s1", "s1", "s2"],
                  "image": [str(p) for p in paths[:3]]}).to_csv(manifest, index=False)
    plain, listed = tmp_path / "plain.csv", tmp_path / "listed.csv"
    common = ["--device", "cpu", "--precision", "fp32", "--quiet"]
    assert main(["predict", str(bundle), *map(str, paths[:3]), "--out", str(plain), *common]) == 0
    assert main(["predict", str(bundle), "--manifest", str(manifest), "--out", str(listed),
                 *common]) == 0
    plain_table, listed_table = pd.read_csv(plain), pd.read_csv(listed)
    assert list(listed_table.columns[:3]) == ["image", "field", "sample_id"]
    assert list(listed_table["field"]) == ["a", "b", "c"]
    assert list(listed_table["sample_id"]) == ["s1", "s1", "s2"]
    pd.testing.assert_frame_equal(listed_table.drop(columns=["field", "sample_id"]), plain_table)


def test_cli_segment_pattern_then_measure_its_fields_table(if_fields, tmp_path, capsys):
    root, _ = if_fields
    seg = tmp_path / "seg"
    assert main(["segment", "--nuclei", str(root / "f[123]_DAPI.tif"),
                 "--cells", str(root / "f[123]_actin.tif"), "--diameter", "6", "60",
                 "--out", str(seg)]) == 0
    assert "3 of 3 field(s) segmented (serially)" in capsys.readouterr().out
    table = pd.read_csv(seg / "fields.csv")
    assert list(table["field"]) == ["f1_DAPI", "f2_DAPI", "f3_DAPI"]
    assert list(table["labels"]) == [f"f{k}_DAPI_cells.tif" for k in (1, 2, 3)]
    cells, summary = tmp_path / "cells.csv", tmp_path / "image.csv"
    assert main(["measure", "--manifest", str(seg / "fields.csv"), "--out", str(cells),
                 "--summary", str(summary)]) == 0
    measured = pd.read_csv(cells)
    assert list(measured["field"].unique()) == list(table["field"])
    counts = measured.groupby("field", sort=False).size()
    assert list(counts) == list(table["n_cells"])
    # the border count travels from segment to the measure summary through fields.csv
    assert list(pd.read_csv(summary)["n_border_excluded"]) == list(table["n_border_excluded"])


def test_scaling_page_documents_every_manifest_column():
    from napari_msc_morph.batch import MANIFEST_COLUMNS

    page = (Path(__file__).resolve().parents[2] / "docs" / "scaling.md").read_text()
    for column in MANIFEST_COLUMNS:
        assert f"| `{column}` |" in page, column


def test_cli_predict_on_an_existing_scheduler_equals_serial(images, tmp_path, capsys):
    from dask.distributed import LocalCluster

    _, paths, bundle = images
    common = ["--device", "cpu", "--precision", "fp32", "--quiet"]
    serial, spread = tmp_path / "serial.csv", tmp_path / "spread.csv"
    assert main(["predict", str(bundle), *map(str, paths), "--out", str(serial), *common]) == 0
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp://",
                      dashboard_address=":0") as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://")
        assert main(["predict", str(bundle), *map(str, paths), "--out", str(spread),
                     "--scheduler", address, *common]) == 0
    assert f"scheduler {address}" in capsys.readouterr().out
    assert spread.read_bytes() == serial.read_bytes()
