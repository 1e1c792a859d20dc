"""Benchmark: nucleus segmentation against hand-drawn masks, previous vs current default.

Each image folder is paired with a mask folder by file stem. Masks are label
images (TIFF/PNG, one value per nucleus), or BBBC039's PNGs where touching
nuclei carry different values of a few (the instances are then the connected
components of each value: ``--mask-format values``). Objects are paired by IoU
(:func:`napari_msc_morph.morphology.matching.match_labels`) and the counts
summed over the images: F1 and precision/recall at IoU 0.5, and the
"average precision" TP / (TP + FP + FN) of the DSB 2018 / StarDist papers at IoU
0.5 ... 0.9; "DSB F1" is the DSB 2018 challenge's average F1 (each image's F1
averaged over IoU 0.50 ... 0.95, then over the images), reported with the recall
at IoU 0.7 as in Caicedo et al. (Nat. Methods 2019, Table 1). Both methods run with
their defaults: no diameter, no pixel size, objects at the border kept (the
annotators drew them too).

- ``previous``: the classic default before issue 23 (Otsu, distance watershed,
  8-80 px), reproduced here so the comparison runs from one checkout;
- ``current``: :func:`napari_msc_morph.morphology.segment_nuclei` as it is.

``--split`` picks part of a sorted folder: ``tune`` is every fifth image
(index 0, 5, 10, ...: the images the defaults were tuned on for BBBC039),
``test`` the others (held out), ``all`` everything. ``--stems FILE`` keeps only
the images named in a text file (one name a line, extension optional), e.g. a
data set's published test list; with ``--split`` both apply. Time is per image
and per megapixel, one process, one thread.

``--predicted DIR`` (repeatable) adds a row for label images made elsewhere,
one per image and named as it (e.g. StarDist or Cellpose run where their
weights are installed): they are scored with the same pairing and the same
truth, so published methods and the defaults meet on the same images.
``--no-defaults`` scores those folders alone: for whole cells (cytoplasm images,
hand-drawn cell masks) the nucleus defaults do not apply.

    python benchmarks/bench_segmentation_quality.py IMAGES MASKS [--split test]
        [--stems LIST.txt] [--predicted DIR ...] [--no-defaults]
        [--mask-format labels|values] [--limit N]

Data used for docs/morphometry.md (fetched outside the package):
BBBC039 (github.com/DeepTrackAI/cell_counting_dataset, ``cell nuclei/images`` and
``masks``, ``--mask-format values``) and the fluorescence images of the DSB 2018
stage 1 test set (github.com/yuanqing811/DSB2018_stage1_test, one mask file per
nucleus merged into one label image). BBBC039's train/validation/test lists, for
``--stems``: github.com/kreshuklab/CRank-Consistency_based_ranking,
``data/BBBC039/test.txt`` (48 names; 2 of the 200 images are in none of its
three lists).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)
# The DSB 2018 challenge's "average F1" (Caicedo et al., Nat. Methods 2019, Table 1):
# each image's F1 averaged over IoU 0.50, 0.55, ... 0.95, then averaged over images.
DSB_THRESHOLDS = tuple(round(0.5 + 0.05 * k, 2) for k in range(10))
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


def label_files(folder: Path) -> dict[str, Path]:
    """Image or label files of a folder by stem."""
    return {p.stem: p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES}


def read_stems(path: Path) -> set[str]:
    """Image names listed in a text file, one a line, without their extension."""
    names = (line.strip() for line in path.read_text().splitlines())
    return {Path(name).stem if Path(name).suffix.lower() in SUFFIXES else name
            for name in names if name}


def pairs(images: Path, masks: Path, split: str,
          stems: set[str] | None = None) -> list[tuple[Path, Path]]:
    by_stem = label_files(masks)
    found = [(p, by_stem[p.stem]) for p in sorted(images.iterdir())
             if p.suffix.lower() in SUFFIXES and p.stem in by_stem]
    if split == "tune":
        found = found[::5]
    elif split == "test":
        found = [pair for k, pair in enumerate(found) if k % 5]
    return [pair for pair in found if stems is None or pair[0].stem in stems]


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


def predicted_labels(folder: Path, stems: list[str]):
    """A method that reads each image's labels from ``folder`` instead of segmenting."""
    files = label_files(folder)
    missing = [stem for stem in stems if stem not in files]
    if missing:
        raise SystemExit(f"{folder} has no label image for {len(missing)} of the images, "
                         f"e.g. {missing[0]}: name each one as its image")
    return lambda image, stem: read_mask(files[stem], "labels")


def score(method, data, timed: bool = True) -> dict:
    """Counts summed over the images, then the scores (and time per image and Mpx)."""
    from napari_msc_morph.morphology.matching import match_labels

    counts = np.zeros((len(THRESHOLDS), 3))
    dsb_f1 = []
    seconds = megapixels = 0.0
    for stem, image, truth in data:
        start = time.perf_counter()
        labels = method(image, stem)
        seconds += time.perf_counter() - start
        megapixels += image.size / 1e6
        scores = match_labels(truth, labels, DSB_THRESHOLDS)
        dsb_f1.append(np.mean([s.f1 for s in scores]))
        counts += [[s.tp, s.fp, s.fn] for s in scores if s.iou_threshold in THRESHOLDS]
    tp, fp, fn = counts[0]
    return {"F1@0.5": 2 * tp / (2 * tp + fp + fn),
            "precision": tp / (tp + fp) if tp + fp else 0.0, "recall": tp / (tp + fn),
            **{f"AP@{t:g}": c[0] / c.sum() for t, c in zip(THRESHOLDS, counts, strict=True)},
            "recall@0.7": counts[2, 0] / (counts[2, 0] + counts[2, 2]),
            "DSB F1": float(np.mean(dsb_f1)),
            "s/image": seconds / len(data) if timed else np.nan,
            "s/Mpx": seconds / megapixels if timed else np.nan}


def main(argv=None) -> None:
    from skimage.io import imread

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", type=Path)
    parser.add_argument("masks", type=Path)
    parser.add_argument("--split", choices=("all", "tune", "test"), default="all")
    parser.add_argument("--mask-format", choices=("labels", "values"), default="labels")
    parser.add_argument("--limit", type=int, help="only the first N images of the split")
    parser.add_argument("--stems", type=Path, metavar="LIST",
                        help="only the images named in this text file (one a line)")
    parser.add_argument("--predicted", type=Path, action="append", default=[], metavar="DIR",
                        help="also score the label images in DIR, named as the images")
    parser.add_argument("--no-defaults", action="store_true",
                        help="score only the --predicted folders (e.g. whole cells, where the "
                             "nucleus defaults do not apply)")
    args = parser.parse_args(argv)
    if args.no_defaults and not args.predicted:
        parser.error("--no-defaults needs at least one --predicted DIR to score")
    stems = read_stems(args.stems) if args.stems else None
    found = pairs(args.images, args.masks, args.split, stems)[:args.limit]
    if not found:
        raise SystemExit(f"no image in {args.images} has a mask of the same name in {args.masks}"
                         + (f" and a name listed in {args.stems}" if stems else ""))
    data = [(i.stem, np.asarray(imread(i)), read_mask(m, args.mask_format)) for i, m in found]
    n_true = sum(int(np.count_nonzero(np.bincount(t.ravel())[1:])) for _, _, t in data)
    print(f"{len(data)} images ({args.split}{', listed' if stems else ''}), "
          f"{n_true} annotated nuclei")
    made_elsewhere = {folder.name: predicted_labels(folder, [stem for stem, _, _ in data])
                      for folder in args.predicted}
    rows = {} if args.no_defaults else {
        "previous": score(lambda image, stem: previous_default(image), data),
        "current": score(lambda image, stem: current_default(image), data)}
    for name, method in made_elsewhere.items():
        rows[name] = score(method, data, timed=False)
    columns = list(next(iter(rows.values())))
    print("| method | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join("n/a" if np.isnan(row[c]) else f"{row[c]:.3f}"
                                          for c in columns) + " |")


if __name__ == "__main__":
    main()
