"""``msc-morph predict``: predict bright-field images with a model bundle."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "predict",
        help="predict passage / source / OsScore / fate for images with a model bundle",
        description=(
            "Run a model bundle (folder or .zip with model.json + weights.safetensors) on "
            "images or folders of images and write one row per image (per plane for stacks): "
            "image, task, model_id, tiling, predicted_class, p_<class> for every class, "
            "interval3/5_lo/_hi/_p for ordinal tasks, the task's score (expected_passage, "
            "os_score) and n_tiles."
        ),
    )
    parser.add_argument("model", type=Path, metavar="MODEL", help="model bundle (folder or .zip)")
    parser.add_argument("images", type=Path, nargs="+", metavar="IMAGE_OR_DIR",
                        help="image files or folders (searched recursively)")
    parser.add_argument("--out", type=Path, required=True, help="output table (CSV or XLSX)")
    parser.add_argument("--tiling", choices=("six", "grid", "center"), default=None,
                        help="crop scheme (default: the bundle's)")
    parser.add_argument("--overlap", type=float, default=None,
                        help="grid overlap as a fraction of a crop (default: the bundle's)")
    parser.add_argument("--score-maps", type=Path, default=None, metavar="DIR",
                        help="write per-tile score maps as float32 TIFFs here (grid tiling)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"),
                        help="auto: fp16 autocast on GPU, bf16 on CPU only if it agrees with fp32")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="crops per forward pass (default 8 on CPU, 32 on GPU)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def run(args) -> int:
    from tqdm import tqdm

    from ..inference.predict import Predictor
    from ..io import list_images, read_image, write_table, write_tiff
    from ..models.bundle import load_bundle

    bundle = load_bundle(args.model)
    predictor = Predictor(bundle, device=args.device, precision=args.precision,
                          batch_size=args.batch_size)
    tiling = args.tiling or bundle.config.tiling
    if args.score_maps is not None and tiling != "grid":
        raise ValueError(
            f"--score-maps needs --tiling grid (this run uses {tiling}); per-tile maps only "
            "exist for the sliding-window grid."
        )
    paths = list_images(args.images)
    if not paths:
        raise FileNotFoundError("No images found in " + ", ".join(str(p) for p in args.images) + ".")
    rows = []
    used_stems: set[str] = set()
    seen_notices: set[str] = set()
    bar = tqdm(total=len(paths), unit="image", disable=args.quiet, file=sys.stderr)
    for path in paths:
        loaded = read_image(path)
        results = predictor.predict_stack(
            loaded.data, tiling=tiling, overlap=args.overlap, name=path.name,
            pixel_size_um=loaded.pixel_size_um,
        )
        stack = any(r.plane for r in results)
        for result in results:
            row = {"image": str(path)}
            if stack:
                row["plane"] = ",".join(str(i) for i in result.plane)
            row.update(result.row())
            if result.map_scale is not None:
                row["map_stride_px"] = result.map_scale[0]
                row["map_center_y_px"] = result.map_translate[0]
                row["map_center_x_px"] = result.map_translate[1]
            rows.append(row)
            for notice in result.notices:
                if notice not in seen_notices:
                    seen_notices.add(notice)
                    tqdm.write(f"msc-morph predict: note: {notice}", file=sys.stderr)
        if args.score_maps is not None:
            stem = _unique_stem(path, used_stems)
            stride = results[0].map_scale[0]
            px = loaded.pixel_size_um * stride if loaded.pixel_size_um else None
            for map_name in results[0].maps:
                data = np.stack([r.maps[map_name] for r in results])
                if not stack:
                    data = data[0]
                else:
                    leading = _leading_shape(results)
                    data = data.reshape(leading + data.shape[1:])
                write_tiff(data.astype(np.float32), args.score_maps / f"{stem}_{map_name}.tif",
                           pixel_size_um=px)
        bar.update(1)
    bar.close()
    import pandas as pd

    table = pd.DataFrame(rows)
    write_table(table, args.out)
    print(f"{len(rows)} predictions ({bundle.config.task}, {tiling}, {predictor.device}, "
          f"{predictor.precision}) -> {args.out}")
    if args.score_maps is not None:
        print(f"score maps -> {args.score_maps}")
    return 0


def _leading_shape(results) -> tuple[int, ...]:
    last = results[-1].plane
    return tuple(int(i) + 1 for i in last)


def _unique_stem(path: Path, used: set[str]) -> str:
    stem, k = path.stem, 2
    while stem in used:
        stem, k = f"{path.stem}_{k}", k + 1
    used.add(stem)
    return stem
