"""Benchmark: peak memory and time of ``msc-morph predict --tiling grid`` on huge fields.

Square uint16 BigTIFFs (tiled 512 x 512, like a stitched mosaic saved by Fiji
or QuPath) of 5 000², 10 000² and 20 000² pixels are generated once into a
temporary folder (tile by tile, so generating them is bounded too), then each
is predicted by ``msc-morph predict`` in its own subprocess. The child reports
its peak resident memory (``ru_maxrss``) and its memory before predicting
(Python, torch and the bundle loaded); the parent times it.

Files of 4096² pixels or more are read tile by tile
(:mod:`napari_msc_morph.inference.lazy`), so memory should stay flat while
time grows with the pixel count. The network is timm's tiny ``test_byobnet``
(random weights: speed and memory do not depend on them; the cheapest of
timm's test models per pixel on CPU, ~0.5 s per megapixel on 2 cores) at
160 px crops without overlap, so a 20 000² field (15 625 crops) takes about
three minutes on a loaded 2-core machine; a real backbone costs more time per
crop, not more memory per image.

Run::

    python benchmarks/bench_predict_memory.py                 # 5k, 10k, 20k
    python benchmarks/bench_predict_memory.py --sizes 5000 10000 --keep /tmp/fields
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TILE = 512
BACKBONE = "test_byobnet"


def make_field(path: Path, size: int, seed: int = 0) -> None:
    """A ``size`` x ``size`` uint16 BigTIFF written tile by tile (never whole in memory)."""
    import tifffile

    rng = np.random.default_rng(seed)
    n = -(-size // TILE)

    def tiles():
        for i in range(n):
            for j in range(n):
                base = 800 + 400 * np.sin(i / 3.0) * np.cos(j / 5.0)
                yield (base + rng.normal(0, 120, (TILE, TILE))).clip(0, 4095).astype(np.uint16)

    tifffile.imwrite(path, tiles(), shape=(size, size), dtype=np.uint16, tile=(TILE, TILE),
                     bigtiff=True, resolution=(1 / 0.65, 1 / 0.65), resolutionunit=5)


def make_bundle(path: Path, crop: int) -> Path:
    import torch

    from napari_msc_morph.models import BundleConfig, create_backbone, save_bundle

    config = BundleConfig(task="osteogenic", backbone=BACKBONE, input_size=crop,
                          in_chans=1, tiling="grid", grid_overlap=0.0, pixel_size_um=0.65)
    torch.manual_seed(0)
    model = create_backbone(BACKBONE, num_classes=config.num_classes, in_chans=1)
    return save_bundle(model, config, path)


def child(bundle: str, image: str, out: str) -> None:
    """Run in the subprocess: predict one field, print the memory figures as JSON."""
    from napari_msc_morph.cli import main
    from napari_msc_morph.models import load_bundle

    load_bundle(bundle)  # the imports and a bundle, as before any image is read
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code = main(["predict", bundle, image, "--out", out, "--tiling", "grid", "--overlap", "0",
                 "--device", "cpu", "--precision", "fp32", "--quiet"])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"code": code, "before_kib": before, "peak_kib": peak}))


def run(sizes: list[int], crop: int, folder: Path) -> list[dict]:
    bundle = folder / "bundle.zip"
    if not bundle.exists():
        make_bundle(bundle, crop)
    rows = []
    for size in sizes:
        image = folder / f"field_{size}.tif"
        if not image.exists():
            t = time.perf_counter()
            make_field(image, size)
            print(f"generated {image.name} ({image.stat().st_size / 2**20:.0f} MiB) in "
                  f"{time.perf_counter() - t:.1f} s", flush=True)
        out = folder / f"pred_{size}.csv"
        out.unlink(missing_ok=True)
        t = time.perf_counter()
        done = subprocess.run([sys.executable, __file__, "--child", str(bundle), str(image),
                               str(out)], capture_output=True, text=True, env=os.environ)
        seconds = time.perf_counter() - t
        if done.returncode != 0:
            raise SystemExit(f"predict failed on {image}:\n{done.stderr[-2000:]}")
        report = json.loads(done.stdout.strip().splitlines()[-1])
        tiles = (size // crop) ** 2
        rows.append({"size": size, "file_mib": image.stat().st_size / 2**20, "tiles": tiles,
                     "seconds": seconds, "before_mib": report["before_kib"] / 1024,
                     "peak_mib": report["peak_kib"] / 1024})
        r = rows[-1]
        print(f"{size:>6}² px  file {r['file_mib']:7.0f} MiB  {tiles:>6} tiles  "
              f"{seconds:7.1f} s  {1e6 * seconds / size**2:6.3f} s/Mpx  "
              f"RSS before {r['before_mib']:5.0f} MiB  peak {r['peak_mib']:5.0f} MiB", flush=True)
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 10000, 20000])
    parser.add_argument("--crop", type=int, default=160)
    parser.add_argument("--keep", type=Path, default=None,
                        help="folder for the fields and bundle (kept; default: a temp folder)")
    parser.add_argument("--child", nargs=3, metavar=("BUNDLE", "IMAGE", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return
    print(f"CPU threads: {os.cpu_count()}, torch threads: "
          f"{os.environ.get('OMP_NUM_THREADS', 'default')}", flush=True)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        rows = run(args.sizes, args.crop, args.keep)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            rows = run(args.sizes, args.crop, Path(tmp))
    first = rows[0]
    for r in rows[1:]:
        print(f"{r['size']}² vs {first['size']}²: {r['size']**2 / first['size']**2:.0f}x pixels, "
              f"{r['seconds'] / first['seconds']:.1f}x time, "
              f"peak RSS {r['peak_mib'] - first['peak_mib']:+.0f} MiB")


if __name__ == "__main__":
    main()
