"""bioimageio.spec and bioimageio.core, imported on use (the ``[bioimageio]`` extra).

The extra pins ``pydantic<2.14``: bioimageio.spec up to 0.5.14.0 (and so every
bioimageio.core up to 0.11, which pins spec 0.5.12) passes pydantic's
serialisation info on as an ``index_key``, which pydantic >= 2.14 refuses, so no
package holding a file could be written or validated.
"""

from __future__ import annotations

from ..errors import MissingDependencyError

__all__ = ["bioimageio_core", "bioimageio_spec"]


def bioimageio_spec():
    """``(bioimageio.spec, bioimageio.spec.model.v0_5)``, or a MissingDependencyError."""
    try:
        import bioimageio.spec as spec
        from bioimageio.spec.model import v0_5
    except ImportError as err:
        raise MissingDependencyError("bioimageio.spec", "bioimageio",
                                     "bioimage.io model packages") from err
    return spec, v0_5


def bioimageio_core():
    """``bioimageio.core``, or a MissingDependencyError naming the ``[bioimageio]`` extra."""
    bioimageio_spec()
    try:
        import bioimageio.core as core
    except ImportError as err:
        raise MissingDependencyError("bioimageio.core", "bioimageio",
                                     "running bioimage.io model packages") from err
    return core
