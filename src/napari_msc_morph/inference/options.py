"""The keyword options every batch entry point takes, declared and checked once.

:func:`~napari_msc_morph.inference.predict_images`,
:func:`~napari_msc_morph.inference.explain_images` and
:func:`~napari_msc_morph.inference.predict_and_explain` share ``tiling`` ...
``on_error``, ``progress`` and ``cancel`` (:class:`BatchOptions`) beside a few
options of their own. :func:`batch_entry` gives each entry point its full
public signature (what ``help()``, ``inspect.signature`` and the docs show),
binds every call to it, checks the shared options once, up front
(:func:`check_batch_options`), and hands the body one :class:`BatchOptions`.
:func:`with_options` does the same for any dataclass of shared parameters.

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

__all__ = ["ON_ERROR", "BatchOptions", "batch_entry", "check_batch_options", "with_options"]

#: What a batch entry point does when one image fails: stop there, or record and go on.
ON_ERROR = ("raise", "collect")


@dataclasses.dataclass(frozen=True)
class BatchOptions:
    """The options every batch entry point takes (see ``predict_images`` for each).

    Checked when made (:func:`check_batch_options`).
    """

    tiling: str | None = None
    overlap: float | None = None
    device: str = "auto"
    precision: str = "auto"
    batch_size: int | None = None
    pixel_size_um: float | None = None
    on_error: str = "raise"
    progress: ProgressFn | None = None
    cancel: CancelToken | None = None

    def __post_init__(self):
        check_batch_options(self.on_error, self.overlap, self.pixel_size_um)

    @property
    def collect(self) -> bool:
        """Whether a failed image is recorded and the others still run."""
        return self.on_error == "collect"


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


def with_options(options_type, *, first: tuple = (), then: tuple = (), last: tuple = (),
                 then_before: str | None = None, positional: bool = False):
    """Make ``body(<leading...>, options, <own...>)`` take ``options_type``'s fields one by one.

    The public signature (what ``help()``, ``inspect.signature`` and the docs
    show) is the parameters before ``options``, then ``first``, the fields of
    the dataclass ``options_type`` with their defaults and annotations (``then``
    inserted before the field ``then_before``), then ``last``, where
    ``first``/``then``/``last`` name the body's own parameters after
    ``options``. The fields are keyword-only unless ``positional``. A call is
    bound to that signature (a wrong name or a missing argument is a
    ``TypeError`` naming the function) and the body gets the fields as one
    ``options_type`` (whose ``__post_init__`` may check them).
    """
    def decorate(body):
        params = list(inspect.signature(body).parameters.values())
        at = [p.name for p in params].index("options")
        lead, own = params[:at], {p.name: p for p in params[at + 1:]}
        if sorted(own) != sorted((*first, *then, *last)):
            raise TypeError(f"{body.__name__}: place each own parameter once "
                            f"(has {list(own)}, placed {[*first, *then, *last]})")
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD if positional else \
            inspect.Parameter.KEYWORD_ONLY
        fields = [inspect.Parameter(f.name, kind, default=f.default, annotation=f.type)
                  for f in dataclasses.fields(options_type)]
        names = [f.name for f in fields]
        split = names.index(then_before) if then_before else len(fields)
        public = inspect.Signature(
            [*lead, *(own[n] for n in first), *fields[:split], *(own[n] for n in then),
             *fields[split:], *(own[n] for n in last)],
            return_annotation=inspect.signature(body).return_annotation)

        @functools.wraps(body)
        def call(*args, **kwargs):
            try:
                bound = public.bind(*args, **kwargs)
            except TypeError as err:
                raise TypeError(f"{body.__name__}() {err}") from None
            bound.apply_defaults()
            values = dict(bound.arguments)
            options = options_type(**{name: values.pop(name) for name in names})
            return body(*(values.pop(p.name) for p in lead), options, **values)

        call.__signature__ = public
        return call

    return decorate


def batch_entry(*, first: tuple = (), then: tuple = (), last: tuple = ()):
    """A batch entry point: ``body(bundle, images, options, *, own...)`` (see :func:`with_options`).

    Its public signature is ``(bundle, images, *, <first>, tiling ... on_error,
    <then>, progress, cancel, <last>)``; the shared options are checked
    (:func:`check_batch_options`) before the body runs.
    """
    return with_options(BatchOptions, first=first, then=then, last=last,
                        then_before="progress")
