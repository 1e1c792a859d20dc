"""The options ``predict`` and ``explain`` share: a model bundle run over images."""

from __future__ import annotations

from ..inference.predict import DEVICES, PRECISIONS

__all__ = ["add_inference_arguments"]


def add_inference_arguments(parser, batch_pass: str) -> None:
    """Add ``--overlap``, ``--pixel-size-um``, ``--device``, ``--precision``, ``--batch-size``
    (crops per ``batch_pass``) and ``--quiet``."""
    parser.add_argument("--overlap", type=float, default=None,
                        help="grid overlap as a fraction of a crop (default: the bundle's)")
    parser.add_argument("--pixel-size-um", type=float, default=None,
                        help="pixel size of every image in µm (default: each file's metadata)")
    parser.add_argument("--device", default="auto", choices=DEVICES.names(),
                        help="; ".join(f"{name}: {DEVICES.help(name)}" for name in DEVICES))
    parser.add_argument("--precision", default="auto", choices=PRECISIONS.names(),
                        help=PRECISIONS.help("auto"))
    parser.add_argument("--batch-size", type=int, default=None,
                        help=f"crops per {batch_pass} (default 8 on CPU, 32 on GPU)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
