"""Benchmark: what the field checks of measure cost beside the table itself.

``check_measure_inputs`` now splits masks into objects (each id checked within its
bounding box) and checks that the nuclei lie inside the cells. On one field of
``--size`` px with a grid of round nuclei and cells grown 25 px around them, this
prints the CPU time (``time.process_time``, best of ``--repeat``; CPU time so that other
processes on a shared machine do not count) of

* ``checks``: ``check_measure_inputs(cells, {RUNX2}, nuclei, 0.65)``;
* ``table``: ``measure_table`` on the checked inputs (the work the checks guard);
* ``checks, binary mask``: the same with the cells given as a 0/255 mask (the split path).

Run::

    python benchmarks/bench_label_checks.py --size 2048
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from skimage.draw import disk
from skimage.segmentation import expand_labels

from napari_msc_morph.morphology.measure import check_measure_inputs, measure_table


def field(size: int) -> tuple[np.ndarray, np.ndarray]:
    nuclei = np.zeros((size, size), np.uint16)
    centres = range(40, size - 8, 80)
    for index, (y, x) in enumerate(((y, x) for y in centres for x in centres), start=1):
        nuclei[disk((y, x), 12, shape=nuclei.shape)] = index
    return expand_labels(nuclei, 25), nuclei


def best(repeat: int, work) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cells, nuclei = field(args.size)
    runx2 = np.random.default_rng(0).integers(0, 4000, cells.shape, dtype=np.uint16)
    inputs = check_measure_inputs(cells, {"RUNX2": runx2}, nuclei, 0.65)
    mask = (cells > 0).astype(np.uint8) * 255
    print(f"{args.size} x {args.size} px, {int(nuclei.max())} cells, CPU seconds, "
          f"best of {args.repeat}")
    runs = {
        "checks": lambda: check_measure_inputs(cells, {"RUNX2": runx2}, nuclei, 0.65),
        "table": lambda: measure_table(inputs),
        "checks, binary mask": lambda: check_measure_inputs(mask, None, None, 0.65),
    }
    for name, work in runs.items():
        print(f"{name}: {best(args.repeat, work):.3f}")


if __name__ == "__main__":
    main()
