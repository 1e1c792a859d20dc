"""The ``msc-morph`` command line.

Each sub-command lives in its own module under :mod:`napari_msc_morph.commands`
with two functions, ``add_parser(subparsers)`` and ``run(args) -> int``, and
calls the same engine functions as the napari widgets. Adding a command means
adding its module name to ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from . import __version__
from .errors import Cancelled, MscMorphError

# Order is the order shown by `msc-morph --help`.
COMMANDS = [
    "demo",
    "synth",
    "segment",
    "measure",
    "predict",
    "train",
    "evaluate",
    "correlate",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="msc-morph",
        description=(
            "Judge mesenchymal stem cells from pictures: synthetic data, segmentation, "
            "per-cell morphometry, deep-learning prediction, training and correlation "
            "with molecular readouts."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="say more about each step (-vv: debug details)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"napari_msc_morph.commands.{name}")
        sub = module.add_parser(subparsers)
        sub.set_defaults(_run=module.run)
    return parser


def _configure_logging(verbosity: int) -> None:
    # The engine logs through the package logger and never prints; the CLI shows
    # its warnings (and with -v its steps) as plain lines on stderr.
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbosity, 2)]
    logger = logging.getLogger("napari_msc_morph")
    logger.setLevel(level)
    if not any(getattr(h, "_msc_morph_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._msc_morph_cli = True
        logger.addHandler(handler)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 1
    return run_command(args)


def run_command(args) -> int:
    """Run a parsed command under the one CLI error protocol.

    User-caused problems (:class:`~napari_msc_morph.errors.MscMorphError` and
    the built-in kinds the standard library raises for bad paths and values)
    print one line ``msc-morph COMMAND: error: ...`` and exit 2; a missing
    optional dependency names the extra to install; a cancel or Ctrl-C exits 130.
    """
    prefix = f"msc-morph {args.command}"
    try:
        return int(args._run(args) or 0)
    except Cancelled as err:
        print(f"{prefix}: cancelled: {err}", file=sys.stderr)
        return Cancelled.exit_code
    except KeyboardInterrupt:
        print(f"{prefix}: interrupted; files already finished are kept.", file=sys.stderr)
        return Cancelled.exit_code
    except MscMorphError as err:
        print(f"{prefix}: error: {err}", file=sys.stderr)
        return err.exit_code
    except (FileNotFoundError, ValueError, KeyError) as err:
        # Errors a user can cause are reported as one clear line, not a traceback.
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"{prefix}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
