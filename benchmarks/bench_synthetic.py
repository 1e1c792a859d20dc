"""Time per synthetic field for every kind, and half- vs full-resolution rendering.

Run single-threaded, as the brief asks (a 2592x1944 field must take well
under a second on one core)::

    OMP_NUM_THREADS=1 python benchmarks/bench_synthetic.py [--repeats 3]

Prints the median wall and CPU time per field at the default size of each
kind, then the two contenders for bright-field rendering side by side:
rendering at the optical resolution (1.3 µm, then bilinear 2x upsampling;
what the package does) vs rendering every cell at the full 0.65 µm grid,
and their ratio.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

from napari_msc_morph.synthetic import (  # noqa: E402
    brightfield,
    if_field,
    make_donor,
    nsc_field,
    osteo_field,
    passage_field,
    source_field,
)

DONOR = make_donor("D1", seed=0)

CASES = {
    "passage P1 (2592x1944)": lambda s: passage_field(1, donor=DONOR, seed=s),
    "passage P10 (2592x1944)": lambda s: passage_field(10, donor=DONOR, seed=s),
    "osteo day 7 induced (2592x1944)": lambda s: osteo_field(7, True, donor=DONOR, seed=s),
    "osteo day 21 induced (2592x1944)": lambda s: osteo_field(21, True, donor=DONOR, seed=s),
    "source umbilical cord (2592x1944)": lambda s: source_field("umbilical_cord", donor=DONOR, seed=s),
    "source bone marrow (2592x1944)": lambda s: source_field("bone_marrow", donor=DONOR, seed=s),
    "passage P4 RGB (2592x1944)": lambda s: passage_field(4, donor=DONOR, rgb=True, seed=s),
    "nsc neuron (1024x1024)": lambda s: nsc_field("neuron", donor=DONOR, seed=s),
    "nsc astrocyte (1024x1024)": lambda s: nsc_field("astrocyte", donor=DONOR, seed=s),
    "nsc oligodendrocyte (1024x1024)": lambda s: nsc_field("oligodendrocyte", donor=DONOR, seed=s),
    "if 40 cells (512x512)": lambda s: if_field(seed=s),
    "passage P4 quick path (256x256)": lambda s: passage_field(4, donor=DONOR, size=(256, 256), seed=s),
}


def measure(make, repeats: int) -> tuple[float, float]:
    make(10_000)  # warm-up (imports, caches)
    walls, cpus = [], []
    for seed in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        make(seed)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, median of {args.repeats}")
    print(f"{'field':40s} {'wall s':>8s} {'cpu s':>8s}")
    for name, make in CASES.items():
        wall, cpu = measure(make, args.repeats)
        print(f"{name:40s} {wall:8.3f} {cpu:8.3f}")

    print("\nbright-field rendering, passage P1 and P10 at 2592x1944:")
    for passage in (1, 10):
        results = {}
        for step in (2, 1):
            brightfield.RENDER_STEP = step
            try:
                results[step] = measure(lambda s, p=passage: passage_field(p, donor=DONOR, seed=s),
                                        args.repeats)
            finally:
                brightfield.RENDER_STEP = 2
        half, full = results[2], results[1]
        print(
            f"  P{passage:<2d} optical-resolution render + 2x upsample: "
            f"{half[0]:.3f} s wall ({half[1]:.3f} cpu); "
            f"full-resolution render: {full[0]:.3f} s wall ({full[1]:.3f} cpu); "
            f"ratio full/half = {full[1] / half[1]:.2f}x (cpu)"
        )


if __name__ == "__main__":
    main()
