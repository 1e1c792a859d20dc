"""``msc-morph explain``: Grad-CAM heat maps of what a model bundle looked at."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..inference.explain import PREDICTED_TARGET
from ..tiling import TILINGS
from . import command_parser
from ._batch import report_field_failures
from ._inference import add_inference_arguments
from ._outputs import add_overwrite_argument, check_outputs

__all__ = ["SUMMARY_NAME", "add_parser", "kept", "run"]

#: The summary table in ``--out``.
SUMMARY_NAME = "gradcam.csv"


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = command_parser(subparsers, "explain", (
        "Run Grad-CAM (captum) on the last convolutional stage of a model bundle's "
        "network, crop by crop over the whole field, and write for each image "
        "<stem>_gradcam.tif (float32, same height and width as the image, 0-1 per field, "
        "the image's pixel size) and <stem>_gradcam.png (the heat map over the image), "
        f"plus {SUMMARY_NAME} (image, target, predicted_class, p_<class>, raw_max, "
        "coverage, files; p_<class> are calibrated with the bundle's temperature, equal to "
        "what `msc-morph predict` gives with the same --tiling). An image that cannot be "
        "read or explained does not stop the others: it is listed in gradcam.errors.csv and "
        "the exit status is 3."
    ))
    parser.add_argument("model", type=Path, metavar="MODEL", help="model bundle (folder or .zip)")
    parser.add_argument("images", type=Path, nargs="+", metavar="IMAGE_OR_DIR",
                        help="image files or folders (searched recursively)")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="output folder for the heat maps, overlays and summary table")
    parser.add_argument("--target", default=None, metavar="CLASS",
                        help="class to explain (default: the task's positive class, e.g. "
                             f"'induced' for OsScore; otherwise '{PREDICTED_TARGET}': each "
                             "crop's own predicted class)")
    parser.add_argument("--tiling", choices=TILINGS.names(), default=None,
                        help="crop scheme (default: grid, extended to the borders so the whole "
                             "field is explained; six/center explain only their crops)")
    add_inference_arguments(parser, "forward/backward pass")
    add_overwrite_argument(parser, "heat maps already in the output folder")
    return parser


def kept(args) -> str:
    return (f"heat maps finished before the stop are in {args.out}; no summary table was "
            "written")


def run(args) -> int:
    import pandas as pd

    from ..inference import explain_images, explainer_for
    from ..io import write_table
    from ._progress import progress_bar

    check_outputs([("--out", args.out, "folder")],
                  [("model bundle", args.model), *(("image input", p) for p in args.images)],
                  overwrite=args.overwrite)
    explainer = explainer_for(args.model, device=args.device, precision=args.precision,
                              batch_size=args.batch_size)
    rows: list[dict] = []
    used_stems: set[str] = set()

    def write(explanation, item) -> None:
        rows.append(_write_one(explanation, item, args.out, used_stems))
        explanation.heatmap = None  # written; keep one field in memory at a time

    with progress_bar("explain", quiet=args.quiet) as progress:
        batch = explain_images(explainer, args.images, target=args.target, tiling=args.tiling,
                               overlap=args.overlap, pixel_size_um=args.pixel_size_um,
                               on_error="collect", on_result=write, progress=progress)
    for notice in dict.fromkeys(n for explanation in batch for n in explanation.notices):
        print(f"msc-morph explain: note: {notice}", file=sys.stderr)
    write_table(pd.DataFrame(rows), args.out / SUMMARY_NAME, path_columns=("image",))
    first = batch[0]
    print(f"{len(batch)} Grad-CAM map(s) ({explainer.task.name}, target {first.target_label}, "
          f"layer {first.target_layer}, {first.tiling}, {explainer.device}, "
          f"{explainer.precision}) -> {args.out}")
    return report_field_failures("explain", batch.failures, args.out / SUMMARY_NAME, "explained")


def _write_one(explanation, item, folder: Path, used_stems: set[str]) -> dict:
    from PIL import Image

    from ..batch.fields import unique_stem
    from ..inference import heatmap_overlay
    from ..io import atomic_path, write_tiff

    stem = unique_stem(Path(explanation.name).stem, used_stems)
    tif = folder / f"{stem}_gradcam.tif"
    png = folder / f"{stem}_gradcam.png"
    heatmap = np.asarray(explanation.heatmap, dtype=np.float32)
    write_tiff(heatmap, tif, pixel_size_um=explanation.pixel_size_um)
    first = (0,) * (heatmap.ndim - 2)  # a stack's overlay shows its first plane
    image_plane = np.asarray(item.data[first] if first else item.data)
    overlay = heatmap_overlay(image_plane, heatmap[first], rgb=item.data.ndim > heatmap.ndim)
    with atomic_path(png) as tmp:
        Image.fromarray(overlay).save(tmp, format="PNG")
    return {"image": explanation.name, "target": explanation.target,
            "target_layer": explanation.target_layer,
            "predicted_class": explanation.predicted_class,
            **{f"p_{name}": float(p)
               for name, p in zip(explanation.class_names, explanation.probabilities)},
            "raw_max": float(max(explanation.raw_max, default=0.0)),
            "coverage": explanation.coverage, "tiling": explanation.tiling,
            "height_px": heatmap.shape[-2], "width_px": heatmap.shape[-1],
            "pixel_size_um": explanation.pixel_size_um,
            "pixel_size_source": explanation.pixel_size_source or "unknown",
            "heatmap": tif.name, "overlay": png.name}
