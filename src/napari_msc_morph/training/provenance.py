"""Where each value of a training recipe comes from: the paper, an assumption, or this tool.

A published setup rarely states every setting a run needs. Each value of a
:class:`~napari_msc_morph.training.recipes.Recipe` therefore carries a
:class:`Provenance`: **stated** (the paper gives it; the note cites the section
and its words), **Assumed** (the paper does not give it, or its words allow more
than one reading; the note says what was chosen and why) or **defined by this
tool** (the paper does not define the quantity at all, e.g. what "induced"
means as a class; the definition is ours). ``msc-morph recipes``, the docs and
``model.json`` (``metrics["provenance"]``) show the same records.

>>> assumed("no momentum is given").to_dict()
{'status': 'Assumed', 'note': 'no momentum is given'}
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ASSUMED", "GIVEN", "STATED", "STATUSES", "TOOL", "Provenance", "assumed",
           "stated", "tool_definition"]

STATED = "stated"
ASSUMED = "Assumed"
TOOL = "defined by this tool"
#: a value the user set for this run instead of the recipe's (``model.json`` only)
GIVEN = "set for this run"
STATUSES = (STATED, ASSUMED, TOOL)


@dataclass(frozen=True)
class Provenance:
    """Where one recipe value comes from: ``status`` (one of :data:`STATUSES`) and a ``note``."""

    status: str
    note: str

    def __post_init__(self):
        if self.status not in (*STATUSES, GIVEN):
            raise ValueError(f"unknown provenance status {self.status!r}")
        if not self.note:
            raise ValueError("a provenance needs a note (the paper's words, or why)")

    def to_dict(self) -> dict:
        return {"status": self.status, "note": self.note}


def stated(note: str) -> Provenance:
    """A value the paper states (``note``: section and its words)."""
    return Provenance(STATED, note)


def assumed(note: str) -> Provenance:
    """A value the paper does not state, or states ambiguously (``note``: what and why)."""
    return Provenance(ASSUMED, note)


def tool_definition(note: str) -> Provenance:
    """A quantity the paper does not define; the definition is this tool's."""
    return Provenance(TOOL, note)
