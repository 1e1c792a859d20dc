"""Public names of a package imported on first use (PEP 562), so a dock opens quickly.

A package importing every submodule in ``__init__`` made the Correlation dock
pay scipy.stats, statsmodels and pingouin (1-2 s) for one registry.
"""

from __future__ import annotations

import importlib
import sys


def lazy_exports(package: str, exports: dict[str, str]):
    """The ``__getattr__`` and ``__dir__`` of ``package``, importing ``exports`` (public name ->
    relative submodule) on demand."""

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
    """A module imported at the first attribute lookup (``import_module`` holds the lock)."""

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
    """``ndi = lazy_module("scipy.ndimage")``: an import paid by the first call, not at import."""
    return _LazyModule(name)


#: ``scipy.ndimage`` for engine modules the docks import (it cost a dock 0.2-0.5 s).
ndimage = lazy_module("scipy.ndimage")
