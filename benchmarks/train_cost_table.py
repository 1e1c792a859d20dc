"""Measure the per-image training cost table used by the Train dock's time estimate.

Runs one forward+backward pass of a batch of 8 random 224-px images (after one
warm-up batch) and one forward pass (validation) for each backbone on the CPU,
and prints seconds per image -- the numbers in
``napari_msc_morph.training.estimate.CPU_SECONDS_PER_IMAGE_224``.

    PYTHONPATH=src python benchmarks/train_cost_table.py [--threads N] [BACKBONE ...]
"""

from __future__ import annotations

import argparse
import time

import timm
import torch

BACKBONES = ("resnet10t", "resnet18", "efficientnet_b0", "convnext_tiny", "resnet50",
             "resnext50_32x4d")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("backbones", nargs="*", default=list(BACKBONES))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x = torch.randn(args.batch, 3, 224, 224)
    y = torch.randint(0, 2, (args.batch,))
    print(f"threads={args.threads} batch={args.batch} size=224")
    print("backbone, train s/image, eval s/image")
    for name in args.backbones:
        model = timm.create_model(name, pretrained=False, num_classes=2)
        opt = torch.optim.SGD(model.parameters(), lr=1e-3)
        times = []
        for _ in range(2):  # warm-up, then the measured batch
            start = time.perf_counter()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            times.append(time.perf_counter() - start)
        model.eval()
        with torch.no_grad():
            start = time.perf_counter()
            model(x)
            forward = time.perf_counter() - start
        print(f"{name}, {times[-1] / args.batch:.4f}, {forward / args.batch:.4f}", flush=True)


if __name__ == "__main__":
    main()
