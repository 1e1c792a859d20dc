"""Benchmark: measuring many fields serially vs one task per field on a local Dask cluster.

Synthetic immunofluorescence fields (cells, nuclei, RUNX2; ``if_field``) are written
as TIFFs with a fields manifest, then measured, in one run, on the same files:

* ``serial``: ``measure_fields(fields)``: one field after the other in this
  process (what ``msc-morph measure --manifest fields.csv`` does);
* ``dask N``: ``measure_fields(fields, client=...)`` on a ``LocalCluster`` of N
  worker processes, one thread each (``msc-morph measure ... --workers N``),
  timed with and without starting the cluster (start: worker processes up and the
  measurement stack imported in each).

The tables are checked equal (``assert_frame_equal``) before any time is shown. Beside the
wall times it prints the CPU seconds the fields cost serially and on the workers (the
per-field work is the same; the wall-time gain depends on how many cores are free).

Run::

    python benchmarks/bench_batch.py                    # 16 fields of 512 x 512, --workers 2
    python benchmarks/bench_batch.py --fields 64 --size 1024 --workers 8
"""

from __future__ import annotations

import argparse
import importlib
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from napari_msc_morph.batch import batch_client, measure_fields, read_fields_manifest
from napari_msc_morph.io import write_tiff
from napari_msc_morph.synthetic import if_field


def make_fields(root: Path, n: int, size: int, cells: int) -> Path:
    rows = []
    for k in range(n):
        field = if_field(size=(size, size), n_cells=cells, seed=k)
        names = {}
        for role, data in (("labels", field.cells), ("nuclei_labels", field.nuclei),
                           ("channel_RUNX2", field.channels["RUNX2"]),
                           ("channel_DAPI", field.channels["DAPI"])):
            names[role] = f"f{k:03d}_{role}.tif"
            write_tiff(data, root / names[role], pixel_size_um=field.pixel_size_um)
        rows.append({"field": f"f{k:03d}", "sample_id": f"donor{k % 4}", **names})
    manifest = root / "fields.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fields", type=int, default=16)
    parser.add_argument("--size", type=int, default=512, help="field height and width (px)")
    parser.add_argument("--cells", type=int, default=60, help="cells per field")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        manifest = make_fields(Path(tmp), args.fields, args.size, args.cells)
        fields = read_fields_manifest(manifest, required=("labels",),
                                      optional=("nuclei_labels",), channels=True)
        print(f"{args.fields} fields of {args.size} x {args.size} px, ~{args.cells} cells, "
              f"2 channels (written in {time.perf_counter() - t:.1f} s); "
              f"{os.cpu_count()} CPU core(s), load average {os.getloadavg()[0]:.1f}")

        t, cpu = time.perf_counter(), time.process_time()
        serial = measure_fields(fields)
        serial_s, serial_cpu = time.perf_counter() - t, time.process_time() - cpu

        t = time.perf_counter()
        with batch_client(workers=args.workers) as client:
            # the workers import the measurement stack once; counted as start, not per field
            client.run(importlib.import_module, "napari_msc_morph.morphology")
            started_s = time.perf_counter() - t
            before = client.run(time.process_time)
            t_run = time.perf_counter()
            spread = measure_fields(fields, client=client)
            run_s = time.perf_counter() - t_run
            after = client.run(time.process_time)
            workers_cpu = sum(after[w] - before[w] for w in after)
        total_s = time.perf_counter() - t

    pd.testing.assert_frame_equal(spread.table, serial.table)
    pd.testing.assert_frame_equal(spread.summary, serial.summary)
    n_cells = len(serial.table)
    print(f"tables equal: {n_cells} cells, {serial.table.shape[1]} columns\n")
    print(f"{'mode':<28}{'wall s':>9}{'fields/s':>10}{'vs serial':>11}")
    rows = [("serial (in-process)", serial_s),
            (f"dask {args.workers} workers, measure only", run_s),
            (f"dask {args.workers} workers, with start", total_s)]
    for name, seconds in rows:
        print(f"{name:<28}{seconds:>9.2f}{args.fields / seconds:>10.2f}"
              f"{serial_s / seconds:>10.2f}x")
    print(f"\ncluster start: {started_s:.2f} s; CPU seconds spent on the fields: serial "
          f"{serial_cpu:.2f}, workers {workers_cpu:.2f} (all {args.workers} together)")
    print("(wall times need free cores: on a shared machine the load average above says how "
          "many other jobs compete for them)")


if __name__ == "__main__":  # worker processes re-import this file
    main()
