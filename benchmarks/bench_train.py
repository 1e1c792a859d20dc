"""Training throughput: napari-msc-morph's ``train_model()`` vs a plain timm loop, same data and backbone.

Both train the same timm backbone on random crops of the same in-memory
synthetic fields with Adam and batch size, on the same device, for the same
number of samples; the plain loop does only random crop + flips + ImageNet
normalisation (no rotation, no colour jitter, no checkpoints, no validation).
Throughput is training samples per second over the training phase of each
epoch (validation and checkpointing excluded for both; the first epoch is
a warm-up and not counted). The contenders alternate and each one's best
epoch is reported, so a busy shared machine penalises neither.

    python benchmarks/bench_train.py                       # CPU, test_resnet at 64 px
    python benchmarks/bench_train.py --backbone resnext50_32x4d --input-size 448 --device cuda
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "training"))


def plain_loop(fields, targets, args, device):
    import timm
    import torch

    torch.manual_seed(0)
    model = timm.create_model(args.backbone, num_classes=2, pretrained=False).to(device)
    if device == "cuda":
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    size = args.input_size

    class Crops(torch.utils.data.Dataset):
        def __len__(self):
            return len(fields) * args.crops_per_field

        def __getitem__(self, i):
            rng = np.random.default_rng(i)
            f = fields[i // args.crops_per_field]
            y0 = rng.integers(0, f.shape[0] - size + 1)
            x0 = rng.integers(0, f.shape[1] - size + 1)
            crop = f[y0:y0 + size, x0:x0 + size].astype(np.float32) / 255.0
            if rng.random() < 0.5:
                crop = crop[::-1]
            if rng.random() < 0.5:
                crop = crop[:, ::-1]
            x = torch.from_numpy(np.ascontiguousarray(crop))[None].expand(3, -1, -1)
            return (x - mean[0]) / std[0], int(targets[i // args.crops_per_field])

    loader = torch.utils.data.DataLoader(Crops(), batch_size=args.batch_size, shuffle=True,
                                         num_workers=args.workers, drop_last=True,
                                         pin_memory=device == "cuda",
                                         persistent_workers=args.workers > 0)
    use_amp = device == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    rates = []
    for _ in range(args.epochs):
        model.train()
        t0, n = time.perf_counter(), 0
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            if device == "cuda":
                x = x.contiguous(memory_format=torch.channels_last)
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cuda", dtype=torch.float16, enabled=use_amp):
                loss = torch.nn.functional.cross_entropy(model(x), y)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            n += len(y)
        if device == "cuda":
            torch.cuda.synchronize()
        rates.append(n / (time.perf_counter() - t0))
    return rates


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="test_resnet")
    parser.add_argument("--input-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--crops-per-field", type=int, default=4)
    parser.add_argument("--field-size", type=int, nargs=2, default=(512, 640))
    parser.add_argument("--downscale", type=int, default=4)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--augment", choices=("flips", "studies"), default="flips",
                        help="flips: the plain loop's augmentation (measures the framework's "
                             "overhead); studies: rotation + colour jitter too (default flips)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs of each contender")
    args = parser.parse_args()

    from train_helpers import write_passage_set

    from napari_msc_morph.models import resolve_device
    from napari_msc_morph.training import TrainConfig, train_model
    from napari_msc_morph.training.data import load_field, read_manifest

    device = resolve_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        manifest = write_passage_set(tmp / "data", size=tuple(args.field_size))
        table = read_manifest(manifest)
        table["split"] = "train"  # no validation for either contender
        fields = [load_field(p, args.downscale).data for p in table["path"]]
        targets = (table["label"] == "P10").astype(int).to_numpy()
        from napari_msc_morph.training.augment import AugmentConfig

        augment = AugmentConfig() if args.augment == "studies" else AugmentConfig(
            hflip=True, vflip=True, rotation_deg=0, brightness=0, contrast=0, saturation=0,
            channel_gain=0)
        config = TrainConfig(augment=augment, task="passage", backbone=args.backbone,
                             input_size=args.input_size,
                             epochs=args.epochs, batch_size=args.batch_size,
                             crops_per_field=args.crops_per_field, downscale=args.downscale,
                             device=device, num_workers=args.workers, lr=1e-4,
                             monitor="train_loss")
        # Alternate the contenders (the machine may be shared) and keep each one's
        # best epoch after the warm-up: the fastest it can go here.
        ours, plain = [], []
        for round_ in range(args.rounds):
            result = train_model(table, config, tmp / f"model{round_}", test_report=False)
            ours += result.history["samples_per_s"].tolist()[1:]
            plain += plain_loop(fields, targets, args, device)[1:]
        ours, plain = np.asarray(ours), np.asarray(plain)
    ours_rate, plain_rate = float(np.max(ours)), float(np.max(plain))
    print(f"backbone {args.backbone} at {args.input_size} px, batch {args.batch_size}, device {device}, "
          f"{len(fields)} fields x {args.crops_per_field} crops per epoch, workers {args.workers}, "
          f"augment {args.augment}")
    print(f"train_model():            {ours_rate:8.1f} samples/s  (best; all: {np.round(ours, 1).tolist()})")
    print(f"plain timm loop:          {plain_rate:8.1f} samples/s  "
          f"(best; all: {np.round(plain, 1).tolist()})")
    print(f"ratio (ours / plain):     {ours_rate / plain_rate:8.2f}")


if __name__ == "__main__":
    main()
