"""Benchmark: measure_cells vs napari-skimage-regionprops, two settings side by side.

Both settings are 2048 x 2048 label images with about 3000 cells and one
intensity channel:

- ``sparse float32``: separate cells (seeds grown by a third of their spacing,
  about a third of the field covered), a float32 channel;
- ``confluent uint16``: seeds grown into a confluent tessellation with a few
  gaps, a uint16 channel.

Both contenders compute size, perimeter, shape, convex hull and intensity
features (ours adds the median). For each setting the benchmark prints the
CPU time of each (best of N), the ratio, the largest relative difference
from scikit-image's ``regionprops_table`` on every shared column (given the
float64 copy of the channel, see below) and from numpy's per-object median,
and the share of our time per feature family (one cProfile run).

napari-skimage-regionprops passes a float32 channel to scikit-image as it is,
and numpy then averages float32 values in float32: its mean and standard
deviation differ from the exact ones by about 1e-7 relative (float32
rounding). The reference table is therefore scikit-image given the float64
copy of the same values; the difference from napari-skimage-regionprops'
own table is printed beside it.

    python benchmarks/bench_measure.py [--size 2048] [--cells 3000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
import warnings

import numpy as np

# measure_cells column -> scikit-image regionprops property (same definition)
SKIMAGE = {
    "area_px": "area",
    "perimeter_px": "perimeter",
    "equivalent_diameter_px": "equivalent_diameter_area",
    "centroid_y_px": "centroid-0",
    "centroid_x_px": "centroid-1",
    "major_axis_px": "axis_major_length",
    "minor_axis_px": "axis_minor_length",
    "eccentricity": "eccentricity",
    "extent": "extent",
    "convex_area_px": "area_convex",
    "solidity": "solidity",
    "feret_max_px": "feret_diameter_max",
    "intensity_mean": "intensity_mean",
    "intensity_min": "intensity_min",
    "intensity_max": "intensity_max",
    "intensity_std": "intensity_std",
}
# measure_cells column -> napari-skimage-regionprops column
NSR = {
    "area_px": "area",
    "perimeter_px": "perimeter",
    "major_axis_px": "major_axis_length",
    "convex_area_px": "convex_area",
    "solidity": "solidity",
    "feret_max_px": "feret_diameter_max",
    "circularity": "circularity",
    "aspect_ratio": "aspect_ratio",
    "intensity_mean": "mean_intensity",
    "intensity_std": "standard_deviation_intensity",
    "intensity_max": "max_intensity",
}
# family -> (module, function) in napari_msc_morph.morphology whose cumulative time it is
FAMILIES = {
    "compact ids": ("_geometry.py", "compact_labels"),
    "pixel runs": ("_geometry.py", "__init__"),
    "size (area, moments, bbox)": ("features.py", "size_features"),
    "perimeter": ("_geometry.py", "perimeter"),
    "shape": ("features.py", "shape_features"),
    "convex hull, Feret": ("features.py", "convex_features"),
    "intensity: pixel index (per plane)": ("features.py", "pixels_by_object"),
    "intensity: sort layout (per plane)": ("features.py", "segment_layout"),
    "intensity: gather, mean, std, sum": ("_order.py", "segment_sum_std"),
    "intensity: min, max, median": ("_order.py", "segment_order_stats"),
    "table": ("measure.py", "_plane_table"),
}


def make_field(size: int, n_cells: int, setting: str, seed: int = 0):
    """Label image and one channel: ``sparse`` (float32) or ``confluent`` (uint16)."""
    from skimage.filters import gaussian
    from skimage.segmentation import expand_labels

    rng = np.random.default_rng(seed)
    seeds = np.zeros((size, size), np.int32)
    ys, xs = rng.integers(0, size, (2, n_cells))
    seeds[ys, xs] = np.arange(1, n_cells + 1)
    spacing = size / np.sqrt(n_cells)
    grow = 0.6 if setting == "confluent" else 0.33
    labels = expand_labels(seeds, distance=grow * spacing)
    noise = gaussian(rng.normal(1000, 300, (size, size)), 2, preserve_range=True)
    intensity = noise + 200 * (labels % 7)
    if setting == "confluent":
        return labels, np.clip(intensity, 0, 65535).astype(np.uint16)
    return labels, (intensity / 1000).astype(np.float32)


def run_ours(labels, intensity):
    from napari_msc_morph.morphology import measure_cells

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # no pixel size: px columns only
        return measure_cells(labels, {"intensity": intensity})


def run_theirs(labels, intensity):
    import pandas as pd
    from napari_skimage_regionprops import regionprops_table

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = regionprops_table(
            intensity, labels, size=True, intensity=True, perimeter=True, shape=True,
            position=False, moments=False,
        )
    return pd.DataFrame(table)


def reference(labels, intensity):
    """scikit-image on the float64 copy of the channel, and numpy's per-object median."""
    import pandas as pd
    from scipy import ndimage
    from skimage.measure import regionprops_table

    table = pd.DataFrame(regionprops_table(
        labels, intensity.astype(np.float64),
        properties=["label", "centroid", *{v for v in SKIMAGE.values() if "-" not in v}]))
    boxes = ndimage.find_objects(labels)
    table["median"] = [np.median(intensity[box][labels[box] == lab].astype(np.float64))
                       for lab, box in enumerate(boxes, 1) if box is not None]
    return table


def best_of(fn, repeat, *args):
    """Best CPU time (``time.process_time``) of ``repeat`` runs, and the last result.

    Both contenders are single-threaded; on a shared machine CPU time is much
    less noisy than wall time.
    """
    cpu, result = [], None
    for _ in range(repeat):
        start = time.process_time()
        result = fn(*args)
        cpu.append(time.process_time() - start)
    return min(cpu), result


def max_rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert (np.isfinite(a) == np.isfinite(b)).all()
    both = np.isfinite(a)
    return float(np.max(np.abs(a[both] - b[both]) / np.maximum(np.abs(b[both]), 1e-300),
                        initial=0.0))


def family_shares(labels, intensity, repeat=3):
    """Seconds per feature family: the fastest of ``repeat`` cProfile runs of measure_cells."""
    best = None
    for _ in range(repeat):
        profile = cProfile.Profile(time.process_time)  # CPU time, as the headline
        profile.enable()
        run_ours(labels, intensity)
        profile.disable()
        stats = pstats.Stats(profile).stats
        total = next(ct for (file, _, name), (_, _, _, ct, _) in stats.items()
                     if name == "measure_cells" and file.endswith("measure.py"))
        if best is None or total < best[0]:
            best = (total, stats)
    total, stats = best
    cumulative = {(file.replace("\\", "/").rsplit("/", 1)[-1], name): ct
                  for (file, _, name), (_, _, _, ct, _) in stats.items()
                  if "napari_msc_morph" in file}
    seconds = {family: cumulative.get(key, 0.0) for family, key in FAMILIES.items()}
    # nested calls: report each family's own part
    seconds["size (area, moments, bbox)"] -= seconds["perimeter"] + seconds["pixel runs"]
    seconds["intensity: gather, mean, std, sum"] += (
        cumulative.get(("features.py", "intensity_features"), 0.0)
        - seconds["intensity: pixel index (per plane)"] - seconds["intensity: sort layout (per plane)"]
        - seconds["intensity: min, max, median"] - seconds["intensity: gather, mean, std, sum"])
    seconds["other (checks, glue)"] = total - sum(seconds.values())
    return seconds, total


def run_setting(name, size, cells, repeat, repeat_theirs):
    setting = name.split()[0]
    labels, intensity = make_field(size, cells, setting)
    n = int(len(np.unique(labels)) - 1)
    cover = float((labels > 0).mean())
    cpu_ours, ours = best_of(run_ours, repeat, labels, intensity)
    cpu_theirs, theirs = best_of(run_theirs, repeat_theirs, labels, intensity)
    ref = reference(labels, intensity)
    assert ours["label"].tolist() == ref["label"].tolist() == theirs["label"].tolist()
    diff_sk = {ours_col: max_rel(ours[ours_col], ref[col]) for ours_col, col in SKIMAGE.items()}
    diff_sk["intensity_median"] = max_rel(ours["intensity_median"], ref["median"])
    diff_nsr = {ours_col: max_rel(ours[ours_col], theirs[col]) for ours_col, col in NSR.items()}
    shares, total = family_shares(labels, intensity)
    return {
        "cells": f"{n}, {cover:.0%}",
        "ours": cpu_ours, "theirs": cpu_theirs, "columns": (ours.shape[1], theirs.shape[1]),
        "diff_sk": diff_sk, "diff_nsr": diff_nsr, "shares": shares, "profiled": total,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--cells", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5, help="best of N for measure_cells")
    parser.add_argument("--repeat-theirs", type=int, default=2,
                        help="best of N for napari-skimage-regionprops")
    args = parser.parse_args(argv)

    small, small_i = make_field(64, 4, "sparse")
    run_ours(small, small_i)   # warm imports
    run_theirs(small, small_i)
    results = [run_setting(name, args.size, args.cells, args.repeat, args.repeat_theirs)
               for name in ("sparse float32", "confluent uint16")]
    a, b = results
    w = 38

    def row(label, fa, fb):
        print(f"{label:{w}s} {fa:>22s} {fb:>22s}")

    print(f"{args.size}x{args.size} field, one channel; CPU seconds, best of "
          f"{args.repeat} (ours) / {args.repeat_theirs} (napari-skimage-regionprops)")
    row("", "sparse float32", "confluent uint16")
    row("cells, share of field covered", a["cells"], b["cells"])
    row("measure_cells", f"{a['ours']:.3f} s", f"{b['ours']:.3f} s")
    row("napari-skimage-regionprops", f"{a['theirs']:.3f} s", f"{b['theirs']:.3f} s")
    row("ratio (theirs / ours)", f"{a['theirs'] / a['ours']:.1f}x", f"{b['theirs'] / b['ours']:.1f}x")
    row("max rel. diff vs scikit-image", f"{max(a['diff_sk'].values()):.1e}",
        f"{max(b['diff_sk'].values()):.1e}")
    row("max rel. diff vs napari-skimage-rp", f"{max(a['diff_nsr'].values()):.1e}",
        f"{max(b['diff_nsr'].values()):.1e}")
    print("\nlargest relative difference per column vs scikit-image (float64 channel copy;"
          " median vs numpy):")
    for col in a["diff_sk"]:
        row(f"  {col}", f"{a['diff_sk'][col]:.1e}", f"{b['diff_sk'][col]:.1e}")
    print("\nvs napari-skimage-regionprops' own table (float32 mean/std rounded by numpy):")
    for col in a["diff_nsr"]:
        row(f"  {col}", f"{a['diff_nsr'][col]:.1e}", f"{b['diff_nsr'][col]:.1e}")
    print("\nshare of measure_cells time per feature family (fastest of 3 cProfile runs; s, %):")
    for family in a["shares"]:
        sa, sb = a["shares"][family], b["shares"][family]
        row(f"  {family}", f"{sa:.3f} {100 * sa / a['profiled']:5.1f}%",
            f"{sb:.3f} {100 * sb / b['profiled']:5.1f}%")
    row("  total (profiled)", f"{a['profiled']:.3f}", f"{b['profiled']:.3f}")
    ok = all(max(r["diff_sk"].values()) <= 1e-9 for r in results)
    print(f"\nsame values as scikit-image to 1e-9 relative: {'yes' if ok else 'NO'}")


if __name__ == "__main__":
    main()
