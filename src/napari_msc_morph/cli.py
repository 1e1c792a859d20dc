"""The ``msc-morph`` command line: one module per command in :mod:`.commands`.

:func:`run_command` maps every way a command can end to one line on stderr and one
exit status (:data:`EXIT_CODES`).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import re
import sys
import traceback
import warnings

from . import __version__
from .commands import COMMANDS
from .errors import Cancelled, MissingDependencyError, MscMorphError, write_bug_log

#: Exit status -> meaning; shown in ``msc-morph --help``.
EXIT_CODES = {
    0: "success",
    1: "unexpected error (a bug): the message names a log file holding the traceback "
       "(--debug prints it)",
    2: "a problem with an input, output or option: one line says what and what to do",
    3: "a batch finished but some images failed: they are listed, the others are written",
    130: "cancelled or interrupted (Ctrl-C): finished files are kept, nothing half-written",
}

# Optional packages -> the extra that installs them (pyproject's optional-dependencies;
# every bioio reader plug-in: formats, in import_error_message).
OPTIONAL_EXTRAS = {
    "cellpose": "cellpose",
    "openpyxl": "all",
    "PyQt6": "all",
    "PyQt5": "all",
    "PySide6": "all",
    "PySide2": "all",
}


class _HelpFormatter(argparse.HelpFormatter):
    """Wrap paragraphs as usual, but keep text that has its own line breaks."""

    def _fill_text(self, text, width, indent):
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def build_parser(only: str | None = "*") -> argparse.ArgumentParser:
    """The ``msc-morph`` parser, with the options of command ``only`` (``"*"``: all, ``None``:
    none; the others get their one-line help, so ``--help`` imports no command module)."""
    parser = argparse.ArgumentParser(
        prog="msc-morph",
        description=(
            "Judge mesenchymal stem cells from pictures: synthetic data, segmentation, "
            "per-cell morphometry, deep-learning prediction, training and correlation "
            "with molecular readouts."
        ),
        epilog="exit status:\n" + "".join(
            f"  {code:<4} {meaning}\n" for code, meaning in EXIT_CODES.items()
        ),
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="say more about each step (-vv: debug details)")
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_line in COMMANDS.items():
        if only not in ("*", name):
            subparsers.add_parser(name.replace("_", "-"), help=help_line)
            continue
        module = importlib.import_module(f"napari_msc_morph.commands.{name}")
        sub = module.add_parser(subparsers)
        # also accepted after the command name; SUPPRESS keeps a global --debug when absent
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                         help=_DEBUG_HELP)
        sub.set_defaults(_run=module.run, _kept=getattr(module, "kept", None))
    return parser


def _command_in(argv: list[str]) -> str | None:
    """The command named in ``argv`` (the first word that is not a global option)."""
    for word in argv:
        if not word.startswith("-"):
            name = word.replace("-", "_")
            return name if name in COMMANDS else None
    return None


_DEBUG_HELP = "on an error, print the full traceback (instead of writing it to a log file)"


class _StderrHandler(logging.Handler):
    """Writes to ``sys.stderr`` as it is at each record: main() may run many times in one
    process (tests, notebooks) with sys.stderr replaced in between."""

    def emit(self, record):
        try:
            print(self.format(record), file=sys.stderr)
        except Exception:  # noqa: BLE001 - logging must never end the command
            self.handleError(record)


def _configure_logging(verbosity: int) -> None:
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbosity, 2)]
    logger = logging.getLogger("napari_msc_morph")
    logger.setLevel(level)
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    if not getattr(warnings.showwarning, "_msc_morph_cli", False):
        warnings.showwarning = _plain_warning(warnings.showwarning)


def _plain_warning(show):
    """The package's own warnings as one line ``warning: ...``; other libraries' as Python
    shows them."""

    def plain(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, UserWarning) and f"{os.sep}napari_msc_morph{os.sep}" in filename:
            print(f"warning: {message}", file=sys.stderr)
        else:
            show(message, category, filename, lineno, file, line)

    plain._msc_morph_cli = True
    return plain


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(only=_command_in(argv))
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 1
    return run_command(args)


def run_command(args) -> int:
    """Run a parsed command under the one CLI error protocol (:data:`EXIT_CODES`): the
    package's errors, ``OSError`` and a missing package are user errors (one line, exit 2),
    a stop says what was kept (130), anything else is a bug (a log file, exit 1)."""
    prefix = f"msc-morph {args.command}"
    debug = bool(getattr(args, "debug", False))
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        _say(f"{prefix}: interrupted; {_kept(args)}")
        return Cancelled.exit_code
    except Exception as err:  # noqa: BLE001 - the protocol's last resort
        line, code = _user_error(err, args)
        if line is None:
            return _unexpected(prefix, args, err, debug)
        if debug:
            traceback.print_exc(file=sys.stderr)
        _say(f"{prefix}: {line}")
        return code


def _user_error(err: Exception, args) -> tuple[str | None, int]:
    """The line and exit status of a user error; ``(None, 1)`` for a bug."""
    if isinstance(err, Cancelled):
        return f"cancelled: {_one_line(err) or 'stopped'}; {_kept(args)}", Cancelled.exit_code
    if isinstance(err, MscMorphError):
        return f"error: {_one_line(err)}", err.exit_code
    if isinstance(err, OSError):
        return f"error: {os_error_message(err)}", 2
    message = import_error_message(err) if isinstance(err, ImportError) else None
    return (None, 1) if message is None else (f"error: {message}", 2)


def os_error_message(err: OSError) -> str:
    """One line for an ``OSError``, naming its path and what to do."""
    if err.filename is None:
        return _one_line(err)
    path = os.fsdecode(err.filename)
    if err.filename2 is not None:
        path = f"{path} -> {os.fsdecode(err.filename2)}"
    reason = err.strerror or _one_line(err)
    advice = {
        PermissionError: "permission denied; check the file's permissions, or choose a "
                         "location you can read or write",
        IsADirectoryError: "is a folder, but a file is needed here; give a file path",
        NotADirectoryError: "part of this path is a file, not a folder; check the path",
        FileExistsError: "already exists; choose another name, or move the old one away",
        FileNotFoundError: "does not exist; check the path (relative paths start from the "
                           "current folder)",
    }.get(type(err))
    return f"{path}: {advice}" if advice else f"{path}: {reason}"


def import_error_message(err: ImportError) -> str | None:
    """The install hint for a missing package, or ``None`` for a broken import (a bug);
    the package's own :class:`MissingDependencyError` is an ``MscMorphError`` (said as is)."""
    name = (err.name or "").split(".")[0]
    if not name or name == "napari_msc_morph" or not isinstance(err, ModuleNotFoundError):
        return None
    extra = OPTIONAL_EXTRAS.get(name) or ("formats" if name.startswith("bioio") else None)
    if extra:
        return str(MissingDependencyError(name, extra))
    return (f"{name} is not installed or cannot be imported ({_one_line(err)}); it is a "
            f"dependency of napari-msc-morph: reinstall with: pip install napari-msc-morph")


def _unexpected(prefix: str, args, err: BaseException, debug: bool) -> int:
    summary = f"{type(err).__name__}: {_one_line(err)}"[:300]
    if debug:
        traceback.print_exception(type(err), err, err.__traceback__, file=sys.stderr)
        _say(f"{prefix}: unexpected error: {summary}")
        return 1
    log = write_bug_log(err, args.command, f"command line: {' '.join(sys.argv)}")
    if log is None:  # no log folder: the traceback is still not lost
        traceback.print_exception(type(err), err, err.__traceback__, file=sys.stderr)
        _say(f"{prefix}: unexpected error: {summary} (could not write a log file)")
    else:
        _say(f"{prefix}: unexpected error: {summary}; the traceback is in {log} "
             "(--debug prints it); please report it with that file")
    return 1


def _kept(args) -> str:
    kept = getattr(args, "_kept", None)
    text = kept(args) if callable(kept) else None
    return text or "files finished before the stop are kept; nothing half-written was left"


def _one_line(value) -> str:
    return re.sub(r"\s*\n\s*", " ", str(value)).strip()


def _say(line: str) -> None:
    print(line, file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
