"""Benchmark: measure_cells vs napari-skimage-regionprops on the same labels.

A 2048 x 2048 label image with about 3000 touching cells (random seeds grown
into a confluent tessellation, with gaps) and one intensity channel; both
contenders compute size, intensity, perimeter and shape features. Prints the
time of each, the speed ratio, and the largest relative difference on every
column both tables share.

    python benchmarks/bench_measure.py [--size 2048] [--cells 3000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

# measure_cells column -> napari-skimage-regionprops column (same definition)
SHARED = {
    "area_px": "area",
    "equivalent_diameter_px": "equivalent_diameter",
    "convex_area_px": "convex_area",
    "intensity_max": "max_intensity",
    "intensity_mean": "mean_intensity",
    "intensity_min": "min_intensity",
    "intensity_std": "standard_deviation_intensity",
    "perimeter_px": "perimeter",
    "extent": "extent",
    "solidity": "solidity",
    "feret_max_px": "feret_diameter_max",
    "major_axis_px": "major_axis_length",
    "minor_axis_px": "minor_axis_length",
    "eccentricity": "eccentricity",
    "aspect_ratio": "aspect_ratio",
    "circularity": "circularity",
}


def make_field(size: int, n_cells: int, seed: int = 0):
    """Confluent-ish cells: seeds grown by distance, some background left."""
    from skimage.filters import gaussian
    from skimage.segmentation import expand_labels

    rng = np.random.default_rng(seed)
    seeds = np.zeros((size, size), np.int32)
    ys, xs = rng.integers(0, size, (2, n_cells))
    seeds[ys, xs] = np.arange(1, n_cells + 1)
    spacing = size / np.sqrt(n_cells)
    labels = expand_labels(seeds, distance=0.6 * spacing)
    # ids that landed on the same pixel vanish; keep the count honest
    intensity = gaussian(rng.normal(1000, 300, (size, size)), 2, preserve_range=True)
    intensity = np.clip(intensity + 200 * (labels % 7), 0, 65535).astype(np.uint16)
    return labels, intensity


def run_ours(labels, intensity):
    from napari_msc_morph.morphology import measure_cells

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # no pixel size: px columns only
        return measure_cells(labels, {"intensity": intensity})


def run_theirs(labels, intensity):
    from napari_skimage_regionprops import regionprops_table

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = regionprops_table(
            intensity, labels, size=True, intensity=True, perimeter=True, shape=True,
            position=False, moments=False,
        )
    import pandas as pd

    return pd.DataFrame(table)


def best_of(fn, repeat, *args):
    """Best CPU time and wall time of ``repeat`` runs, and the last result.

    CPU time (``time.process_time``) is the headline: both contenders are
    single-threaded, and on a shared machine it is much less noisy than wall
    time, which is printed beside it.
    """
    cpu, wall, result = [], [], None
    for _ in range(repeat):
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        result = fn(*args)
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start_wall)
    return min(cpu), min(wall), result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--cells", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5, help="best of N for measure_cells")
    parser.add_argument("--repeat-theirs", type=int, default=2,
                        help="best of N for napari-skimage-regionprops")
    args = parser.parse_args(argv)

    labels, intensity = make_field(args.size, args.cells)
    n = len(np.unique(labels)) - 1
    print(f"label image {labels.shape}, {n} cells, one uint16 channel")
    run_ours(labels[:64, :64], intensity[:64, :64])  # warm imports
    run_theirs(labels[:64, :64], intensity[:64, :64])
    cpu_ours, wall_ours, ours = best_of(run_ours, args.repeat, labels, intensity)
    cpu_theirs, wall_theirs, theirs = best_of(run_theirs, args.repeat_theirs, labels, intensity)
    print("                                   CPU s    wall s")
    print(f"measure_cells                   {cpu_ours:8.2f}  {wall_ours:8.2f}   ({ours.shape[1]} columns)")
    print(f"napari-skimage-regionprops      {cpu_theirs:8.2f}  {wall_theirs:8.2f}   "
          f"({theirs.shape[1]} columns)")
    print(f"speed ratio (regionprops / ours) {cpu_theirs / cpu_ours:7.1f}x {wall_theirs / wall_ours:8.1f}x")

    assert ours["label"].tolist() == theirs["label"].tolist(), "different objects"
    worst = 0.0
    print("largest relative difference per shared column:")
    for mine, other in SHARED.items():
        a = ours[mine].to_numpy(float)
        b = theirs[other].to_numpy(float)
        both = np.isfinite(a) & np.isfinite(b)
        assert (np.isfinite(a) == np.isfinite(b)).all(), mine
        rel = np.max(np.abs(a[both] - b[both]) / np.maximum(np.abs(b[both]), 1e-12), initial=0.0)
        worst = max(worst, rel)
        print(f"  {mine:24s} vs {other:30s} {rel:.1e}")
    print(f"same values: {'yes' if worst <= 1e-6 else 'NO'} (max relative difference {worst:.1e})")
    # napari-skimage-regionprops' orientation is skimage's, in radians
    # (angles of +-90 deg are the same axis: compare modulo 180 deg)
    d = np.radians(ours["orientation_deg"]) - theirs["orientation"]
    d = np.max(np.abs((d + np.pi / 2) % np.pi - np.pi / 2))
    print(f"  orientation_deg (as rad)  vs orientation (mod pi)        {d:.1e} rad")


if __name__ == "__main__":
    main()
