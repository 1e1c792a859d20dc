"""What ``predict`` and ``explain`` share: a model bundle run over images.

The same options (``--overlap``, ``--pixel-size-um``, ``--device``,
``--precision``, ``--batch-size``, ``--quiet``), the same report of the images
that failed (an errors table, each error on stderr, exit status 3) and the same
file stems for per-image outputs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..inference.predict import DEVICES, PRECISIONS
from ._batch import BATCH_FAILED_EXIT

__all__ = ["BATCH_FAILED_EXIT", "add_image_arguments", "add_run_arguments", "list_failures",
           "unique_stem"]


def add_image_arguments(parser) -> None:
    """Add ``--overlap`` and ``--pixel-size-um``."""
    parser.add_argument("--overlap", type=float, default=None,
                        help="grid overlap as a fraction of a crop (default: the bundle's)")
    parser.add_argument("--pixel-size-um", type=float, default=None,
                        help="pixel size of every image in µm (default: each file's metadata)")


def add_run_arguments(parser, batch_pass: str) -> None:
    """Add ``--device``, ``--precision``, ``--batch-size`` (crops per ``batch_pass``), ``--quiet``."""
    parser.add_argument("--device", default="auto", choices=DEVICES.names(),
                        help="; ".join(f"{name}: {DEVICES.help(name)}" for name in DEVICES))
    parser.add_argument("--precision", default="auto", choices=PRECISIONS.names(),
                        help=PRECISIONS.help("auto"))
    parser.add_argument("--batch-size", type=int, default=None,
                        help=f"crops per {batch_pass} (default 8 on CPU, 32 on GPU)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def list_failures(command: str, failures, errors_path: Path, verb: str) -> int:
    """Write the failed images to ``errors_path`` and list them on stderr; 3 if any, else 0."""
    from ..inference import failures_table
    from ..io import write_table

    if not failures:
        return 0
    write_table(failures_table(failures), errors_path, path_columns=("image",))
    print(f"msc-morph {command}: {len(failures)} image(s) failed (listed in {errors_path}); "
          f"the others were {verb}:", file=sys.stderr)
    for failure in failures:
        print(f"  {failure.error}", file=sys.stderr)
    return BATCH_FAILED_EXIT


def unique_stem(path: Path, used: set[str]) -> str:
    """``path``'s stem, made unique among ``used`` (``a``, ``a_2``, ...), and remembered there."""
    stem, k = path.stem, 2
    while stem in used:
        stem, k = f"{path.stem}_{k}", k + 1
    used.add(stem)
    return stem
