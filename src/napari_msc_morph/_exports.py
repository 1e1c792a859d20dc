"""Public names of a package imported on first use (PEP 562), so a dock opens quickly.

``from napari_msc_morph.analysis.aggregate import SAMPLE_KEYS`` runs
``analysis/__init__.py`` first; when that file imported every submodule, the
Correlation dock paid scipy.stats, statsmodels and pingouin (1-2 s of a frozen
viewer) for one registry. A package lists its public names and their submodule
instead; ``from napari_msc_morph.analysis import correlate_study`` still works and
imports ``analysis.study`` at that moment. :func:`lazy_module` does the same for one
library an engine module needs only when it computes (``ndimage``: scipy.ndimage).
"""

from __future__ import annotations

import importlib
import sys


def lazy_exports(package: str, exports: dict[str, str]):
    """``__getattr__`` and ``__dir__`` for ``package`` that import ``exports`` on demand.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : dict of str to str
        Public name -> the submodule (relative, e.g. ``".study"``) that defines it.

    Returns
    -------
    tuple of callables
        Assign them to the package's ``__getattr__`` and ``__dir__``.
    """

    def __getattr__(name: str):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name], package), name)
        setattr(sys.modules[package], name, value)  # the next lookup is a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__


class _LazyModule:
    """Stands for a module and imports it at the first attribute lookup (thread-safe:
    :func:`importlib.import_module` holds the import lock)."""

    def __init__(self, name: str):
        self._name = name
        self._module = None

    def __getattr__(self, attr: str):
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)

    def __repr__(self) -> str:
        return f"<module {self._name!r}, imported at first use>"


def lazy_module(name: str):
    """``ndi = lazy_module("scipy.ndimage")``: an import paid by the first call, not at import.

    For engine modules a dock imports for a registry or a check: scipy.ndimage alone
    cost a dock 0.2-0.5 s of a frozen viewer before the user asked for anything.
    """
    return _LazyModule(name)


#: ``scipy.ndimage`` for the engine modules the docks import (segmentation, label edits,
#: augmentation): imported by the first filter that runs.
ndimage = lazy_module("scipy.ndimage")
