"""Small named registries: one table per kind of choice, defined beside the code it names.

CLI ``choices``, dock combo boxes and the docs tables are generated from them
(as timm's ``_registry.py``), so adding an entry is a one-file change.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .errors import BadInputError

__all__ = ["Registry", "RegistryEntry"]

T = TypeVar("T")


@dataclass(frozen=True)
class RegistryEntry(Generic[T]):
    name: str
    value: T
    help: str = ""
    extra: dict = field(default_factory=dict)


class Registry(Generic[T]):
    """An ordered name -> value table with a clear error for unknown names."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, RegistryEntry[T]] = {}

    def add(self, name: str, value: T, help: str = "", **extra: Any) -> T:
        """Register ``value`` under ``name``; a clash warns and replaces (as timm)."""
        if name in self._entries:
            warnings.warn(f"{self.kind} {name!r} registered twice; the later one wins.",
                          stacklevel=2)
        self._entries[name] = RegistryEntry(name, value, help, dict(extra))
        return value

    def register(self, name: str, help: str = "", **extra: Any):
        """Decorator form of :meth:`add`."""
        return lambda value: self.add(name, value, help, **extra)

    def names(self) -> list[str]:
        """Names in registration order: CLI ``choices`` and combo-box items."""
        return list(self._entries)

    def entry(self, name: str) -> RegistryEntry[T]:
        try:
            return self._entries[name]
        except KeyError:
            raise BadInputError(
                f"unknown {self.kind} {name!r}; choose one of: {', '.join(self._entries)}."
            ) from None

    def get(self, name: str) -> T:
        return self.entry(name).value

    def help(self, name: str) -> str:
        return self.entry(name).help

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def markdown_table(self, value_header: str = "description") -> str:
        """A two-column Markdown table (name, help) for the docs."""
        rows = [f"| {self.kind} | {value_header} |", "|---|---|"]
        rows += [f"| `{e.name}` | {e.help} |" for e in self._entries.values()]
        return "\n".join(rows)
