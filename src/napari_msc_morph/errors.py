"""The package's exceptions for problems a user can cause or fix.

Every long job (segment, measure, predict, train, evaluate, correlate, demo)
raises only these for user-caused problems, so each face has one mapping:
the CLI prints one line and exits with :attr:`MscMorphError.exit_code`, a
widget shows a napari notification and keeps the viewer working.

``BadInputError`` also derives from :class:`ValueError` and
``MissingDependencyError`` from :class:`ImportError`, so callers that catch
the built-in kinds keep working.
"""

from __future__ import annotations

__all__ = [
    "BadInputError",
    "Cancelled",
    "MissingDependencyError",
    "MscMorphError",
    "missing_dependency",
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


def missing_dependency(package: str, extra: str | None = None, purpose: str = ""):
    """Import ``package`` or raise :class:`MissingDependencyError` naming ``extra``.

    >>> numpy = missing_dependency("numpy")
    """
    import importlib

    try:
        return importlib.import_module(package)
    except ImportError:
        raise MissingDependencyError(package, extra, purpose) from None
