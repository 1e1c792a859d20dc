"""bioimageio.spec and bioimageio.core, imported on use (the ``[bioimageio]`` extra).

The extra asks for ``pydantic<2.14``: bioimageio.spec before 0.5.14.3 (pinned at
0.5.12 by bioimageio.core 0.11) passes pydantic's serialisation info on as an
``index_key``, which pydantic 2.14 refuses, so no package could be written.
"""

from __future__ import annotations

import re

from ..errors import MissingDependencyError, missing_dependency

__all__ = ["bioimageio_core", "bioimageio_spec", "summary_messages"]


def bioimageio_spec():
    """``(bioimageio.spec, bioimageio.spec.model.v0_5)``, or a MissingDependencyError."""
    spec = missing_dependency("bioimageio.spec", "bioimageio", "bioimage.io model packages")
    import pydantic
    from bioimageio.spec.model import v0_5

    if _numbers(pydantic.VERSION) >= (2, 14) and _numbers(spec.__version__) < (0, 5, 14, 3):
        raise MissingDependencyError("pydantic<2.14", "bioimageio",
                                     f"bioimageio.spec {spec.__version__}")
    return spec, v0_5


def bioimageio_core():
    """``bioimageio.core``, or a MissingDependencyError naming the ``[bioimageio]`` extra."""
    bioimageio_spec()
    return missing_dependency("bioimageio.core", "bioimageio", "running bioimage.io model packages")


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", version)[:4])


def summary_messages(summary, kind: str = "errors", with_place: bool = True) -> list[str]:
    """A validation summary's ``errors`` or ``warnings`` as ``"where.in.yaml: message"``."""
    return [f"{'.'.join(str(p) for p in e.loc)}: {e.msg}" if with_place else str(e.msg)
            for d in summary.details for e in getattr(d, kind)]
