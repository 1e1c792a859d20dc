"""The package's exceptions for problems a user can cause or fix.

Faces map these once: the CLI prints one line and exits with
:attr:`MscMorphError.exit_code`, a dock shows a notification. The built-in bases
(``ValueError``, ``ImportError``) keep callers that catch those working.
"""

from __future__ import annotations

__all__ = [
    "USER_ERRORS",
    "BadInputError",
    "Cancelled",
    "MissingDependencyError",
    "MscMorphError",
    "missing_dependency",
    "log_folder",
    "write_bug_log",
]


class MscMorphError(Exception):
    """Base class: a problem the user can fix; the message says what to do."""

    #: Exit status of ``msc-morph`` when this error ends a command.
    exit_code = 2


class BadInputError(MscMorphError, ValueError):
    """An input (file, layer, column, option, bundle) is unusable as given."""


class MissingDependencyError(MscMorphError, ImportError):
    """An optional dependency is not installed; the message names the extra."""

    def __init__(self, package: str, extra: str | None = None, purpose: str = ""):
        self.package = package
        self.extra = extra
        install = (
            f'pip install "napari-msc-morph[{extra}]"' if extra else f"pip install {package}"
        )
        what = f" (needed for {purpose})" if purpose else ""
        super().__init__(f"{package} is not installed{what}; install it with: {install}")


class Cancelled(MscMorphError):
    """The user cancelled the job (Cancel button, Ctrl-C); finished files are kept."""

    exit_code = 130


#: What a face reports as the user's problem (exit 2, a plain notification). Anything
#: else is a bug: exit 1 and a log file with the traceback (:func:`write_bug_log`).
USER_ERRORS = (MscMorphError, OSError)


def missing_dependency(package: str, extra: str | None = None, purpose: str = ""):
    """Import ``package`` or raise :class:`MissingDependencyError` naming ``extra``."""
    import importlib

    try:
        return importlib.import_module(package)
    except ImportError:
        raise MissingDependencyError(package, extra, purpose) from None


def log_folder():
    """Where bug logs go: ``napari-msc-morph/logs`` in the user's cache folder."""
    import platformdirs

    return platformdirs.user_cache_path("napari-msc-morph", appauthor=False) / "logs"


def write_bug_log(err: BaseException, job: str, context: str = ""):
    """Write a bug's traceback to a new file in :func:`log_folder`; its path, or None."""
    import datetime
    import os
    import sys
    import traceback

    from . import __version__

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = log_folder() / f"{stamp}-{job}-{os.getpid()}.log"
    text = "".join([
        f"napari-msc-morph {__version__}, Python {sys.version.split()[0]}, {sys.platform}\n",
        f"{context}\n" if context else "",
        f"job: {job}\n\n",
        *traceback.format_exception(type(err), err, err.__traceback__),
    ])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError:
        return None
    return path
