"""A compatibility shim between bioimageio.spec 0.5.x and pydantic >= 2.14.

Two of bioimageio.spec's wrap serializers (packaged files and weights) call
pydantic's handler as ``handler(value, info)``. pydantic passed the second
argument on as an ``index_key`` and ignored it until pydantic 2.14
(pydantic/pydantic#13506), which raises ``TypeError: 'index_key' is expected
to be an integer or a string`` instead, so no model description holding a
file can be built or saved. :func:`patch_serializers` recompiles those two
functions with ``handler(value)``, which is what the old behaviour amounted to,
and swaps the code in place (pydantic holds references to the functions). It
touches only functions whose source still passes ``info`` on, once per process;
with a bioimageio.spec that has fixed this it does nothing.
"""

from __future__ import annotations

import inspect
import re
import textwrap

__all__ = ["bioimageio_core", "bioimageio_spec", "patch_serializers"]

_PASSES_INFO = re.compile(r"handler\(\s*value,\s*info,?[^\n]*\n?\s*\)")
_TARGETS = (
    ("bioimageio.spec._internal.io_packaging", "package_file_descr_serializer"),
    ("bioimageio.spec.model.v0_4", "package_weights"),
)


def _patch(fn) -> bool:
    if getattr(fn, "_msc_morph_patched", False):
        return False
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        return False
    fixed = _PASSES_INFO.sub("handler(value)", source)
    if fixed == source:
        return False
    namespace: dict = {}
    exec(compile(fixed, inspect.getsourcefile(fn) or "<bioimageio.spec>", "exec"),  # noqa: S102
         fn.__globals__, namespace)
    fn.__code__ = namespace[fn.__name__].__code__
    fn._msc_morph_patched = True
    return True


def patch_serializers() -> int:
    """Fix bioimageio.spec's wrap serializers for pydantic >= 2.14; the number patched."""
    import importlib

    patched = 0
    for module_name, name in _TARGETS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        fn = getattr(module, name, None)
        if fn is not None and _patch(fn):
            patched += 1
    return patched


def bioimageio_spec():
    """``(bioimageio.spec, bioimageio.spec.model.v0_5)``, patched; or a MissingDependencyError."""
    try:
        import bioimageio.spec as spec
        from bioimageio.spec.model import v0_5
    except ImportError as err:
        from ..errors import MissingDependencyError

        raise MissingDependencyError("bioimageio.spec", "bioimageio",
                                     "bioimage.io model packages") from err
    patch_serializers()
    return spec, v0_5


def bioimageio_core():
    """``bioimageio.core``, or a MissingDependencyError naming the ``[bioimageio]`` extra."""
    bioimageio_spec()
    try:
        import bioimageio.core as core
    except ImportError as err:
        from ..errors import MissingDependencyError

        raise MissingDependencyError("bioimageio.core", "bioimageio",
                                     "running bioimage.io model packages") from err
    return core
