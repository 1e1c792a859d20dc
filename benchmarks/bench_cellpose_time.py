"""Benchmark: time of the Cellpose-SAM network per 256x256 tile, without its weights.

The real weights cannot be downloaded everywhere (not in the session that wrote this),
but a network's arithmetic does not depend on its weights: the Cellpose-SAM network
(ViT-L, about 305 M parameters) is built with random weights and run through
cellpose's own ``eval`` (normalisation, tiling, the network; no masks), so the time per
tile is what the downloaded model costs. A field of Y x X pixels at cellpose's 30 px
diameter is about ``ceil(1.2 Y / 256) * ceil(1.2 X / 256)`` tiles (10 % overlap each
side); objects of diameter d rescale the field by 30 / d first.

Run::

    python benchmarks/bench_cellpose_time.py                  # CPU, one thread, bfloat16
    python benchmarks/bench_cellpose_time.py --threads 8 --float32
    python benchmarks/bench_cellpose_time.py --device cuda
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 or mps")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (torch)")
    parser.add_argument("--float32", action="store_true",
                        help="float32 weights (cellpose's default is bfloat16)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import torch
    from cellpose import models, vit

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    dtype = torch.float32 if args.float32 else torch.bfloat16
    model = models.CellposeModel.__new__(models.CellposeModel)  # no weights to load
    model.device, model.gpu = device, device.type != "cpu"
    model.backbone, model.pretrained_model = "sam_vitl", "random weights"
    model.net = vit.CPSAM(dtype=dtype).to(device=device, dtype=dtype)
    n_params = sum(p.numel() for p in model.net.parameters()) / 1e6
    tile = np.random.default_rng(0).random((256, 256)).astype(np.float32)
    model.eval(tile, diameter=30.0, compute_masks=False)  # warm-up
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        model.eval(tile, diameter=30.0, compute_masks=False)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    print(f"Cellpose-SAM network, {n_params:.0f} M parameters, {dtype}, {device}, "
          f"{args.threads} thread(s): {min(times):.2f} s per 256x256 tile (best of "
          f"{args.repeats}); a 1000x1000 field at 30 px is 25 tiles: "
          f"{25 * min(times):.0f} s")


if __name__ == "__main__":
    main()
