"""Benchmark: a Grad-CAM heat map of a field against predicting the same field.

One run, same image, same weights, same device and precision:

* ``predict grid``: ``predict_images(..., tiling="grid")`` — forward passes only;
* ``explain (fixed class)``: ``explain_images(..., target="induced")`` — one
  forward and one backward pass per crop (captum ``LayerGradCam``), plus
  upsampling and blending into a field-sized map;
* ``explain (predicted)``: ``target="predicted"`` — an extra forward pass per
  crop to find each crop's own class.

The ratio to ``predict grid`` is what a user pays for ticking "Explain" in the
Predict dock (which runs both). The backward pass only goes from the class score
back to the last stage (pooling and head), so a fixed class costs about one
prediction; measured on 2 shared CPU cores (resnext50 @ 224 px, 35 crops):
predict 1.00, explain (fixed class) 1.02, explain (predicted) 1.72. Weights are
random (no downloads); speed does not depend on them.

Run::

    python benchmarks/bench_explain.py                       # resnext50 @ 224 px, 672 x 896 field
    python benchmarks/bench_explain.py --device cuda --size 1944 2592 --crop 448
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from napari_msc_morph.inference import Predictor, explain_images, explainer_for, predict_images
from napari_msc_morph.models import BundleConfig, create_backbone, load_bundle, save_bundle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="resnext50_32x4d")
    parser.add_argument("--crop", type=int, default=224)
    parser.add_argument("--size", type=int, nargs=2, default=(672, 896))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32")
    args = parser.parse_args()

    torch.manual_seed(0)
    image = np.random.default_rng(0).integers(0, 256, tuple(args.size) + (3,), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        config = BundleConfig(task="osteogenic", backbone=args.backbone, input_size=args.crop,
                              tiling="grid")
        path = save_bundle(create_backbone(args.backbone, num_classes=2), config,
                           Path(tmp) / "bench.zip")
        predictor = Predictor(load_bundle(path), device=args.device, precision=args.precision)
        explainer = explainer_for(predictor)
        predict_images(predictor, [image[: args.crop, : args.crop]], tiling="center")  # warm-up

        results = []
        start = time.perf_counter()
        prediction = predict_images(predictor, [image], tiling="grid")[0]
        results.append(("predict grid", time.perf_counter() - start, prediction.n_tiles))
        for label, target in (("explain (fixed class)", "induced"),
                              ("explain (predicted)", "predicted")):
            start = time.perf_counter()
            explanation = explain_images(explainer, [image], target=target)[0]
            results.append((label, time.perf_counter() - start, len(explanation.tile_targets)))

    base = results[0][1]
    print(f"{args.backbone} @ {args.crop} px, field {args.size[0]}x{args.size[1]}, "
          f"{predictor.device} {predictor.precision}, {torch.get_num_threads()} threads")
    print(f"{'contender':<24}{'seconds':>9}{'tiles':>7}{'s/tile':>9}{'x predict':>11}")
    for label, seconds, tiles in results:
        print(f"{label:<24}{seconds:>9.2f}{tiles:>7}{seconds / tiles:>9.3f}{seconds / base:>11.2f}")


if __name__ == "__main__":
    main()
