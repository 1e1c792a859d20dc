"""Benchmark: the inference engine against the plain loop a user would write.

The passage study's setting: 2592 x 1944 RGB bright-field images, six 448 px
crops per image (upper/lower x left/middle/right), ResNeXt-50 32x4d, on CPU.

Contenders, in one run on the same images and weights:

* ``plain loop``: a timm model, ``torch.no_grad()``, crops one at a time,
  float32, contiguous NCHW — what a user writes first;
* ``engine fp32``: ``Predictor(..., precision="fp32")`` — batched crops,
  ``inference_mode``, channels-last;
* ``engine auto``: ``Predictor(..., precision="auto")`` — as above, plus
  bfloat16 autocast when the CPU has native bf16 (AMX/AVX512-BF16) and
  the first crops agree with float32 in top-1 at least 99% of the time.

A second section, ``folder``: ``predict_images`` over a folder of N PNG files
(the camera's 2592 x 1944 RGB), reading each file on the predicting thread
(``prefetch=0``) and reading the next two on a background thread while the
current one is predicted (``prefetch=2``, the default), interleaved in one
run; predictions are checked identical.

On a GPU (``--device cuda``) the engine also runs with bfloat16 autocast
(channels-last is always on), and ``--compile`` adds an engine wrapped
by ``torch.compile``. ``--backbone`` picks a smaller network for a quick look.

It also measures the machine's float32 matrix-multiply rate (``torch.mm``) and
counts the network's FLOPs with ``torch.utils.flop_counter``, and prints the
share of that rate each contender reaches. Weights are random (no downloads);
the speed does not depend on them, and top-1 agreement with the plain loop is
printed for each contender.

Run::

    python benchmarks/bench_predict.py            # 2 timed images, ~1.5 min on 2 idle cores
    python benchmarks/bench_predict.py --images 2 --device cuda --compile --folder 32
    python benchmarks/bench_predict.py --only folder --folder 6   # the prefetch section alone
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from napari_msc_morph.inference import Predictor, predict_images, six_region_boxes
from napari_msc_morph.models import BundleConfig, create_backbone, load_bundle, save_bundle

BACKBONE = "resnext50_32x4d"  # --backbone
CROP = 448
SHAPE = (1944, 2592)


def make_images(n: int) -> list[np.ndarray]:
    try:
        from napari_msc_morph.synthetic import passage_field

        return [passage_field(1 + 3 * i % 10, size=SHAPE, rgb=True, seed=i).image for i in range(n)]
    except Exception:  # synthetic module unavailable: noise has the same cost
        rng = np.random.default_rng(0)
        return [rng.integers(0, 256, SHAPE + (3,), dtype=np.uint8) for _ in range(n)]


def matmul_rate(device: str, dtype=torch.float32, n: int = 2048, seconds: float = 2.0) -> float:
    """Sustained torch.mm rate in FLOP/s."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    torch.mm(a, b)
    _sync(device)
    reps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.mm(a, b)
        reps += 1
    _sync(device)
    return 2.0 * n**3 * reps / (time.perf_counter() - start)


def count_flops(model, device: str) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.randn(1, 3, CROP, CROP, device=device)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return float(counter.get_total_flops())


def _sync(device: str):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def plain_loop(model, image, config, device):
    """What a user writes: one crop at a time, float32, no batching."""
    mean = torch.tensor(config.mean).view(3, 1, 1)
    std = torch.tensor(config.std).view(3, 1, 1)
    probs = []
    for y0, x0, y1, x1 in six_region_boxes(image.shape, CROP):
        crop = torch.from_numpy(image[y0:y1, x0:x1]).permute(2, 0, 1).float() / 255.0
        crop = ((crop - mean) / std).unsqueeze(0).to(device)
        with torch.no_grad():
            probs.append(torch.softmax(model(crop), dim=1)[0].cpu().numpy())
    return np.asarray(probs)


def timed(fn, images):
    outputs, times = [], []
    for image in images:
        start = time.perf_counter()
        outputs.append(fn(image))
        times.append(time.perf_counter() - start)
    return outputs, times


def make_folder(folder: Path, n: int) -> list[Path]:
    """N camera-size RGB PNG files, as a microscope exports them."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(make_images(n)):
        paths.append(folder / f"field_{i:03d}.png")
        Image.fromarray(image).save(paths[-1], compress_level=6)
    return paths


def compiled(predictor: Predictor) -> Predictor:
    """The predictor with its network wrapped by ``torch.compile`` (first batches compile)."""
    predictor.model = torch.compile(predictor.model)
    return predictor


def folder_section(bundle_path: Path, n: int, device: str, batch_size: int, precision: str,
                   use_compile: bool) -> None:
    """predict_images over a folder: reads on this thread vs reads prefetched, interleaved."""
    from napari_msc_morph.io import read_image

    predictor = Predictor(load_bundle(bundle_path, device=device), device=device,
                          precision=precision, batch_size=batch_size)
    if use_compile:
        predictor = compiled(predictor)
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_folder(Path(tmp) / "plate", n)
        start = time.perf_counter()
        for path in paths:
            read_image(path)
        read_s = (time.perf_counter() - start) / n
        predict_images(predictor, paths[:1], prefetch=0)  # warm-up (and calibration, compile)
        runs = {0: [], 2: []}
        answers = {}
        for depth in (0, 2, 2, 0):  # ABBA: a drifting load on the machine hits both alike
            start = time.perf_counter()
            batch = predict_images(predictor, [Path(tmp) / "plate"], prefetch=depth)
            _sync(device)
            runs[depth].append((time.perf_counter() - start) / n)
            answers.setdefault(depth, [p.tile_probabilities for p in batch])
    same = all(np.array_equal(a, b) for a, b in zip(answers[0], answers[2]))
    plain, ahead = float(np.mean(runs[0])), float(np.mean(runs[2]))
    print(f"\nfolder of {n} PNG files ({SHAPE[1]}x{SHAPE[0]} RGB), predict_images, "
          f"engine {predictor.precision}{' + torch.compile' if use_compile else ''}; "
          f"reading one file alone: {read_s:.3f} s")
    print(f"{'reads':<40}{'s/image':>9}{'images/s':>10}{'speed-up':>10}")
    for name, sec in (("on the predicting thread (prefetch=0)", plain),
                      ("2 ahead on a thread (prefetch=2)", ahead)):
        print(f"{name:<40}{sec:>9.2f}{1 / sec:>10.3f}{plain / sec:>9.2f}x")
    print(f"runs s/image: prefetch=0 {[f'{v:.2f}' for v in runs[0]]}, "
          f"prefetch=2 {[f'{v:.2f}' for v in runs[2]]}; predictions identical: {same}")
    print(f"ratio prefetch=2 / prefetch=0: {plain / ahead:.2f}x")


def main(argv=None) -> int:
    global BACKBONE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=2, help="timed images per contender")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=6)
    parser.add_argument("--backbone", default=BACKBONE, help="timm name (default %(default)s)")
    parser.add_argument("--folder", type=int, default=4,
                        help="files in the prefetch section (0 skips it)")
    parser.add_argument("--only", choices=("engine", "folder"),
                        help="run one section only")
    parser.add_argument("--compile", action="store_true",
                        help="also time a torch.compile'd engine (GPU section)")
    args = parser.parse_args(argv)
    device = args.device
    BACKBONE = args.backbone
    torch.manual_seed(0)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} CPUs, device {device}"
          + (f" ({torch.cuda.get_device_name()})" if device.startswith("cuda") else ""))
    with tempfile.TemporaryDirectory() as tmp:
        config = BundleConfig(task="passage", backbone=BACKBONE, input_size=CROP, tiling="six")
        net = create_backbone(BACKBONE, num_classes=config.num_classes)
        path = save_bundle(net, config, Path(tmp) / "passage-model")
        if args.only != "folder":
            engine_section(args, config, net, path)
        if args.folder and args.only != "engine":
            folder_section(path, args.folder, device, args.batch_size,
                           "auto" if device.startswith("cuda") else "fp32", args.compile)
    return 0


def engine_section(args, config, net, path) -> None:
    device = args.device
    images = make_images(max(args.images, 3))
    warm, timed_images = images[0], images[-args.images:]
    bundle_fp32 = load_bundle(path, device=device)
    bundle_auto = load_bundle(path, device=device)
    plain = create_backbone(BACKBONE, num_classes=config.num_classes)
    plain.load_state_dict(net.state_dict())
    plain = plain.eval().to(device)

    flops_per_crop = count_flops(plain, device)
    mm = matmul_rate(device)
    print(f"{BACKBONE} @ {CROP}px: {flops_per_crop / 1e9:.1f} GFLOP per crop "
          f"(flop_counter; timm's 4.26 GMACs @224 x 4 x 2 = 34.1), "
          f"{6 * flops_per_crop / 1e9:.0f} GFLOP per image")
    print(f"torch.mm fp32 rate: {mm / 1e9:.0f} GFLOP/s")
    if device == "cpu":
        mm_bf16 = matmul_rate(device, torch.bfloat16)
        print(f"torch.mm bf16 rate: {mm_bf16 / 1e9:.0f} GFLOP/s (for reference)")

    # Warm-up: first calls allocate, pick kernels and (auto) calibrate bf16.
    plain_loop(plain, warm, config, device)
    engine_fp32 = Predictor(bundle_fp32, device=device, precision="fp32", batch_size=args.batch_size)
    engine_fp32.predict(warm, tiling="six")
    engine_auto = Predictor(bundle_auto, device=device, precision="auto", batch_size=args.batch_size)
    for image in images[: 1 + 16 // 6]:  # enough crops for the bf16 check
        engine_auto.predict(image, tiling="six")
    agreement = engine_auto.bf16_agreement
    agreement_note = (f" (bf16 top-1 agreement on calibration crops {agreement:.1%})"
                      if agreement is not None else "")
    print(f"engine auto precision: {engine_auto.precision}" + agreement_note)

    names = ["plain loop (fp32, 1 crop)", "engine fp32", f"engine auto ({engine_auto.precision})"]
    engines = [engine_fp32, engine_auto]
    if device.startswith("cuda"):  # channels-last is always on; add bf16 and compile
        names.append("engine bf16")
        engines.append(Predictor(load_bundle(path, device=device), device=device,
                                 precision="bf16", batch_size=args.batch_size))
        if args.compile:
            names.append(f"engine {engine_auto.precision} + torch.compile")
            engines.append(compiled(Predictor(load_bundle(path, device=device), device=device,
                                              precision="auto", batch_size=args.batch_size)))
        for engine in engines[2:]:
            engine.predict(warm, tiling="six")  # warm-up (compiles)

    def engine_fn(engine):
        return lambda im: engine.predict(im, tiling="six").tile_probabilities

    # Interleaved per image, so a busy shared machine slows every contender alike.
    contenders = [lambda im: plain_loop(plain, im, config, device)]
    contenders += [engine_fn(engine) for engine in engines]
    outputs = [[] for _ in contenders]
    seconds = [[] for _ in contenders]
    for image in timed_images:
        for k, fn in enumerate(contenders):
            out, t = timed(fn, [image])
            _sync(device)
            outputs[k] += out
            seconds[k] += t
    ref, t_plain, t_auto = outputs[0], seconds[0], seconds[2]

    def agree(outputs):
        a = np.concatenate([o.argmax(1) for o in outputs])
        b = np.concatenate([o.argmax(1) for o in ref])
        return float((a == b).mean())

    base = float(np.mean(t_plain))
    print()
    print(f"{'contender':<26}{'s/image':>9}{'images/s':>10}{'speed-up':>10}"
          f"{'GFLOP/s':>9}{'of mm fp32':>12}{'top-1 = plain':>15}")
    for name, t, outs in zip(names, seconds, outputs):
        sec = float(np.mean(t))
        rate = 6 * flops_per_crop / sec
        print(f"{name:<26}{sec:>9.2f}{1 / sec:>10.3f}{base / sec:>9.2f}x"
              f"{rate / 1e9:>9.0f}{rate / mm:>11.0%}{agree(outs):>15.0%}")
    print("per-image seconds: " + ", ".join(
        f"{name} {[f'{v:.2f}' for v in t]}" for name, t in zip(names, seconds)))
    print(f"ratio engine(auto) / plain loop: {base / float(np.mean(t_auto)):.2f}x")


if __name__ == "__main__":
    raise SystemExit(main())
