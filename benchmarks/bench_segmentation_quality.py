"""Benchmark: nucleus segmentation against hand-drawn masks, previous vs current default.

Each image folder is paired with a mask folder by file stem. Masks are label
images (TIFF/PNG, one value per nucleus), or BBBC039's PNGs where touching
nuclei carry different values of a few (the instances are then the connected
components of each value: ``--mask-format values``). Objects are paired by IoU
(:func:`napari_msc_morph.morphology.matching.match_labels`) and the counts
summed over the images: F1 and precision/recall at IoU 0.5, and the
"average precision" TP / (TP + FP + FN) of the DSB 2018 / StarDist papers at IoU
0.5 ... 0.9. Both methods run with their defaults: no diameter, no pixel size,
objects at the border kept (the annotators drew them too).

- ``previous``: the classic default before issue 23 (Otsu, distance watershed,
  8-80 px), reproduced here so the comparison runs from one checkout;
- ``current``: :func:`napari_msc_morph.morphology.segment_nuclei` as it is.

``--split`` picks part of a sorted folder: ``tune`` is every fifth image
(index 0, 5, 10, ...: the images the defaults were tuned on for BBBC039),
``test`` the others (held out), ``all`` everything. Time is per image and per
megapixel, one process, one thread.

    python benchmarks/bench_segmentation_quality.py IMAGES MASKS [--split test]
        [--mask-format labels|values] [--limit N]

Data used for docs/morphometry.md (fetched outside the package):
BBBC039 (github.com/DeepTrackAI/cell_counting_dataset, ``cell nuclei/images`` and
``masks``, ``--mask-format values``) and the fluorescence images of the DSB 2018
stage 1 test set (github.com/yuanqing811/DSB2018_stage1_test, one mask file per
nucleus merged into one label image).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)
SUFFIXES = (".tif", ".tiff", ".png")


def read_mask(path: Path, fmt: str) -> np.ndarray:
    """Label image of a mask file: ``labels`` as stored, ``values``: components per value."""
    from skimage.io import imread

    mask = np.asarray(imread(path))
    if mask.ndim == 3:
        mask = mask[..., 0]
    if fmt == "labels":
        return mask.astype(np.int32)
    labels = np.zeros(mask.shape, np.int32)
    for value in np.unique(mask[mask > 0]):
        parts, n = ndi.label(mask == value, structure=np.ones((3, 3)))
        labels[parts > 0] = parts[parts > 0] + labels.max()
    return labels


def pairs(images: Path, masks: Path, split: str) -> list[tuple[Path, Path]]:
    by_stem = {p.stem: p for p in masks.iterdir() if p.suffix.lower() in SUFFIXES}
    found = [(p, by_stem[p.stem]) for p in sorted(images.iterdir())
             if p.suffix.lower() in SUFFIXES and p.stem in by_stem]
    if split == "tune":
        return found[::5]
    if split == "test":
        return [pair for k, pair in enumerate(found) if k % 5]
    return found


def previous_default(image: np.ndarray) -> np.ndarray:
    """The classic default before issue 23: Otsu (clipped at the 99.5th percentile) on a
    Gaussian-smoothed image, holes filled, distance-transform watershed, 8-80 px."""
    from skimage.feature import peak_local_max
    from skimage.filters import gaussian, threshold_otsu
    from skimage.segmentation import watershed

    low, high = 8.0, 80.0
    smooth = gaussian(image.astype(np.float32), sigma=max(1.0, low / 8), preserve_range=True)
    mask = ndi.binary_fill_holes(
        smooth > threshold_otsu(np.minimum(smooth, np.percentile(smooth, 99.5))))
    components, _ = ndi.label(mask)
    sizes = np.bincount(components.ravel())
    small = sizes < np.pi * (low / 2) ** 2 / 4
    small[0] = True
    mask &= ~small[components]
    components, n = ndi.label(mask)
    if not n:
        return components
    distance = gaussian(ndi.distance_transform_edt(mask), sigma=max(1.0, low / 8),
                        preserve_range=True)
    peaks = peak_local_max(distance, min_distance=int(round(low / 2)), labels=components,
                           exclude_border=False)
    seeds = np.zeros(mask.shape, bool)
    seeds[tuple(peaks.T)] = True
    markers, n_markers = ndi.label(ndi.binary_dilation(seeds) & mask)
    seeded = np.zeros(n + 1, bool)
    seeded[components[markers > 0]] = True
    markers = np.where(~seeded[components] & mask, components + n_markers, markers)
    labels = watershed(-distance, markers, mask=mask)
    diameter = np.sqrt(4 * np.bincount(labels.ravel()) / np.pi)
    keep = (diameter >= low) & (diameter <= high)
    keep[0] = False
    return np.where(keep[labels], labels, 0)


def current_default(image: np.ndarray) -> np.ndarray:
    from napari_msc_morph.morphology import segment_nuclei

    return segment_nuclei(image)


def score(method, data) -> dict:
    from napari_msc_morph.morphology.matching import match_labels

    counts = np.zeros((len(THRESHOLDS), 3))
    seconds = megapixels = 0.0
    for image, truth in data:
        start = time.perf_counter()
        labels = method(image)
        seconds += time.perf_counter() - start
        megapixels += image.size / 1e6
        counts += [[s.tp, s.fp, s.fn] for s in match_labels(truth, labels, THRESHOLDS)]
    tp, fp, fn = counts[0]
    return {"F1@0.5": 2 * tp / (2 * tp + fp + fn), "precision": tp / (tp + fp),
            "recall": tp / (tp + fn),
            **{f"AP@{t:g}": c[0] / c.sum() for t, c in zip(THRESHOLDS, counts, strict=True)},
            "s/image": seconds / len(data), "s/Mpx": seconds / megapixels}


def main(argv=None) -> None:
    from skimage.io import imread

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", type=Path)
    parser.add_argument("masks", type=Path)
    parser.add_argument("--split", choices=("all", "tune", "test"), default="all")
    parser.add_argument("--mask-format", choices=("labels", "values"), default="labels")
    parser.add_argument("--limit", type=int, help="only the first N images of the split")
    args = parser.parse_args(argv)
    found = pairs(args.images, args.masks, args.split)[:args.limit]
    if not found:
        raise SystemExit(f"no image in {args.images} has a mask of the same name in {args.masks}")
    data = [(np.asarray(imread(i)), read_mask(m, args.mask_format)) for i, m in found]
    n_true = sum(int(np.count_nonzero(np.bincount(t.ravel())[1:])) for _, t in data)
    print(f"{len(data)} images ({args.split}), {n_true} annotated nuclei")
    rows = {"previous": score(previous_default, data), "current": score(current_default, data)}
    columns = list(rows["current"])
    print("| default | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(f"{row[c]:.3f}" for c in columns) + " |")


if __name__ == "__main__":
    main()
