"""Benchmark: segment + measure over many fields, serially vs one task per field on Dask.

Synthetic immunofluorescence fields (``if_field``: DAPI, actin, RUNX2) are written as
TIFFs with a fields manifest, then, in one run, on the same files:

* ``serial``: ``segment_fields`` then ``measure_fields`` over the ``fields.csv`` it
  writes, one field after the other in this process (``msc-morph segment --manifest``
  then ``msc-morph measure --manifest``);
* ``dask N``: the same on a ``LocalCluster`` of N worker processes, one thread each
  (``--workers N``), timed with and without starting the cluster (start: worker
  processes up, then the segment/measure stack imported in each).

Tasks ship paths, not arrays: a task reads its field's files on the worker, writes its
labels there and sends back one ``fields.csv`` row (segment) or the field's tables
(measure). Label images and tables are checked identical before any time is shown. Only
``--distinct`` fields are synthesised (synthesis is slower than the work measured); the
others are copies under their own names, so every task still reads and writes its own
files.

Run::

    python benchmarks/bench_batch.py --fields 32 --size 2048 --workers 2   # the issue's setting
    python benchmarks/bench_batch.py --fields 8 --size 512 --cells 60      # a quick look
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from napari_msc_morph.batch import (
    batch_client,
    measure_fields,
    read_fields_manifest,
    segment_fields,
)
from napari_msc_morph.batch.morphology import FIELDS_TABLE
from napari_msc_morph.io import read_image, write_tiff
from napari_msc_morph.synthetic import if_field

ROLES = {"nuclei": "DAPI", "cells": "actin", "channel_RUNX2": "RUNX2"}


def make_fields(root: Path, n: int, size: int, cells: int, distinct: int) -> Path:
    """``n`` fields (``distinct`` synthesised, the rest copies) and their segment manifest."""
    rows = []
    for k in range(n):
        names = {role: f"f{k:03d}_{channel}.tif" for role, channel in ROLES.items()}
        if k < distinct:
            # 3000 cells in 2048^2 px leave ~11 px nuclei: at the generator's default
            # 0.325 um/px that is 3.6 um, below the 4-40 um the segmentation keeps by
            # default (real MSC nuclei are 10-20 um), and 2/3 of them were dropped; at
            # 1 um/px they are 11 um and all kept
            field = if_field(size=(size, size), n_cells=cells, seed=k, pixel_size_um=1.0)
            for role, channel in ROLES.items():
                write_tiff(field.channels[channel], root / names[role],
                           pixel_size_um=field.pixel_size_um)
        else:
            for role, channel in ROLES.items():
                shutil.copyfile(root / f"f{k % distinct:03d}_{channel}.tif", root / names[role])
        rows.append({"field": f"f{k:03d}", "sample_id": f"donor{k % 4}", **names})
    manifest = root / "segment.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest


def segment_then_measure(manifest: Path, out: Path, client=None) -> tuple[dict, object]:
    """Both steps as the CLI runs them; seconds per step and the measure batch."""
    fields = read_fields_manifest(manifest, required=("nuclei",), optional=("cells",),
                                  channels=True)
    t = time.perf_counter()
    segmented = segment_fields(fields, out, client=client)
    seconds = {"segment": time.perf_counter() - t}
    assert not segmented.results.failures, segmented.results.failures
    fields = read_fields_manifest(out / FIELDS_TABLE, required=("labels",),
                                  optional=("nuclei_labels",), channels=True)
    t = time.perf_counter()
    measured = measure_fields(fields, client=client)
    seconds["measure"] = time.perf_counter() - t
    assert not measured.results.failures, measured.results.failures
    return seconds, measured


def same_labels(a: Path, b: Path) -> int:
    files = sorted(p.name for p in a.glob("*_cells.tif"))
    assert files == sorted(p.name for p in b.glob("*_cells.tif"))
    for name in files:
        for kind in ("cells", "nuclei"):
            other = name.replace("_cells.tif", f"_{kind}.tif")
            np.testing.assert_array_equal(read_image(a / other).data, read_image(b / other).data)
    return len(files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fields", type=int, default=32)
    parser.add_argument("--size", type=int, default=2048, help="field height and width (px)")
    parser.add_argument("--cells", type=int, default=3000, help="cells per field")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--distinct", type=int, default=4,
                        help="fields synthesised; the others are copies under their own names")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        manifest = make_fields(root, args.fields, args.size, args.cells,
                               min(args.distinct, args.fields))
        print(f"{args.fields} fields of {args.size} x {args.size} px, ~{args.cells} cells "
              f"(written in {time.perf_counter() - t:.1f} s); {os.cpu_count()} CPU core(s), "
              f"load average {os.getloadavg()[0]:.1f}")

        t, cpu = time.perf_counter(), time.process_time()
        serial_steps, serial = segment_then_measure(manifest, root / "serial")
        serial_s, serial_cpu = time.perf_counter() - t, time.process_time() - cpu

        t = time.perf_counter()
        with batch_client(workers=args.workers) as client:
            up_s = time.perf_counter() - t
            # the workers import the segment/measure stack once: part of the start
            client.run(importlib.import_module, "napari_msc_morph.morphology")
            client.run(importlib.import_module, "skimage.segmentation")
            started_s = time.perf_counter() - t
            before = client.run(time.process_time)
            t_run = time.perf_counter()
            dask_steps, spread = segment_then_measure(manifest, root / "dask", client)
            run_s = time.perf_counter() - t_run
            after = client.run(time.process_time)
            workers_cpu = sum(after[w] - before[w] for w in after)
        total_s = time.perf_counter() - t
        n_labels = same_labels(root / "serial", root / "dask")

    pd.testing.assert_frame_equal(spread.table, serial.table)
    pd.testing.assert_frame_equal(spread.summary, serial.summary)
    print(f"identical: {n_labels} fields' label images; tables of {len(serial.table)} cells, "
          f"{serial.table.shape[1]} columns\n")
    print(f"{'mode':<34}{'segment s':>10}{'measure s':>10}{'wall s':>9}{'vs serial':>11}")
    rows = [("serial (in-process)", serial_steps, serial_s),
            (f"dask {args.workers} workers, work only", dask_steps, run_s),
            (f"dask {args.workers} workers, with start", dask_steps, total_s)]
    for name, steps, seconds in rows:
        print(f"{name:<34}{steps['segment']:>10.2f}{steps['measure']:>10.2f}{seconds:>9.2f}"
              f"{serial_s / seconds:>10.2f}x")
    print(f"\ncluster start {started_s:.2f} s (processes up {up_s:.2f} s, imports "
          f"{started_s - up_s:.2f} s); CPU seconds on the fields: serial {serial_cpu:.2f}, "
          f"workers {workers_cpu:.2f} (all {args.workers} together)")
    print("(wall times need free cores: on a shared machine the load average above says how "
          "many other jobs compete for them)")


if __name__ == "__main__":  # worker processes re-import this file
    main()
