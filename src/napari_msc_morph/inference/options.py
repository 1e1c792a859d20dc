"""The keyword options every batch entry point takes, declared and checked once.

:func:`~napari_msc_morph.inference.predict_images`,
:func:`~napari_msc_morph.inference.explain_images` and
:func:`~napari_msc_morph.inference.predict_and_explain` share ``tiling`` ...
``on_error``, ``progress`` and ``cancel`` (:class:`BatchOptions`) beside a few
options of their own. :func:`batch_entry` gives each entry point its full
public signature (what ``help()``, ``inspect.signature`` and the docs show),
binds every call to it, checks the shared options once, up front
(:meth:`BatchOptions.check`), and hands the body one :class:`BatchOptions`.

Examples
--------
>>> @batch_entry(first=("target",))
... def run(bundle, images, options, *, target=None):
...     return options.tiling, target
>>> import inspect
>>> list(inspect.signature(run).parameters)[:4]
['bundle', 'images', 'target', 'tiling']
>>> run("model.zip", [], tiling="grid", target="induced")
('grid', 'induced')
"""

from __future__ import annotations

import dataclasses
import functools
import inspect

import numpy as np

from ..errors import BadInputError
from ..jobs import CancelToken, ProgressFn
from .tiling import check_overlap

__all__ = ["ON_ERROR", "BatchOptions", "batch_entry", "check_batch_options"]

#: What a batch entry point does when one image fails: stop there, or record and go on.
ON_ERROR = ("raise", "collect")


@dataclasses.dataclass(frozen=True)
class BatchOptions:
    """The options every batch entry point takes (see ``predict_images`` for each)."""

    tiling: str | None = None
    overlap: float | None = None
    device: str = "auto"
    precision: str = "auto"
    batch_size: int | None = None
    pixel_size_um: float | None = None
    on_error: str = "raise"
    progress: ProgressFn | None = None
    cancel: CancelToken | None = None

    @property
    def collect(self) -> bool:
        """Whether a failed image is recorded and the others still run."""
        return self.on_error == "collect"

    def check(self) -> bool:
        """:func:`check_batch_options` of these options."""
        return check_batch_options(self.on_error, self.overlap, self.pixel_size_um)


#: The options after which an entry point's ``then`` parameters stand.
_JOB_OPTIONS = ("progress", "cancel")


def check_batch_options(on_error: str, overlap, pixel_size_um) -> bool:
    """Check a batch run's options once, up front; whether failures are collected.

    With ``on_error="collect"`` a bad option would otherwise become one "failed
    image" per image.
    """
    if on_error not in ON_ERROR:
        raise BadInputError(f"on_error must be one of {list(ON_ERROR)}, got {on_error!r}.")
    if overlap is not None:
        check_overlap(overlap)
    if pixel_size_um is not None and (not np.isfinite(float(pixel_size_um))
                                      or float(pixel_size_um) <= 0):
        raise BadInputError(f"pixel size must be a positive number of µm (pixel_size_um, "
                            f"--pixel-size-um), got {pixel_size_um}.")
    return on_error == "collect"


def batch_entry(*, first: tuple = (), then: tuple = (), last: tuple = ()):
    """Make ``body(bundle, images, options, *, own...)`` a batch entry point.

    Its public signature is ``(bundle, images, *, <first>, tiling ... on_error,
    <then>, progress, cancel, <last>)``: the shared options from
    :class:`BatchOptions`, the entry point's own keyword-only parameters (with
    their defaults and annotations) where ``first``/``then``/``last`` put
    them. A call is bound to that signature (a wrong name or a missing
    argument is a ``TypeError`` naming the function), the shared options are
    checked (:meth:`BatchOptions.check`) and the body gets them as one
    :class:`BatchOptions`.
    """
    def decorate(body):
        own = inspect.signature(body).parameters
        placed = (*first, *then, *last)
        extra = [name for name in own if name not in ("bundle", "images", "options")]
        if sorted(extra) != sorted(placed):
            raise TypeError(f"{body.__name__}: place each own option once "
                            f"(has {extra}, placed {list(placed)})")
        shared = [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default,
                                    annotation=f.type)
                  for f in dataclasses.fields(BatchOptions)]
        job = [p.name for p in shared].index(_JOB_OPTIONS[0])
        public = inspect.Signature(
            [own["bundle"], own["images"], *(own[n] for n in first), *shared[:job],
             *(own[n] for n in then), *shared[job:], *(own[n] for n in last)],
            return_annotation=inspect.signature(body).return_annotation)
        names = [p.name for p in shared]

        @functools.wraps(body)
        def entry(*args, **kwargs):
            try:
                bound = public.bind(*args, **kwargs)
            except TypeError as err:
                raise TypeError(f"{body.__name__}() {err}") from None
            bound.apply_defaults()
            values = dict(bound.arguments)
            options = BatchOptions(**{name: values.pop(name) for name in names})
            options.check()
            return body(values.pop("bundle"), values.pop("images"), options, **values)

        entry.__signature__ = public
        return entry

    return decorate
