"""The result of predicting many images: predictions of the good ones, failures of the rest.

:func:`~napari_msc_morph.inference.predict_images` with ``on_error="collect"``
returns a :class:`PredictionBatch`; ``msc-morph predict`` writes its
:func:`failures_table` beside the predictions and the Predict dock shows each
failure as a notification.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import MscMorphError

__all__ = ["ImageFailure", "PredictionBatch", "error_text", "failures_table"]

#: Errors a user's image can cause while being predicted (reading may raise anything:
#: decoders of corrupt files raise many kinds, so every error while reading is collected).
_IMAGE_ERRORS = (MscMorphError, ValueError, OSError, KeyError)


@dataclass
class ImageFailure:
    """One image that could not be predicted.

    Attributes
    ----------
    image : str
        Its path or name (a layer's name), as the table's ``image`` column says.
    error : str
        What went wrong, one line.
    index : int
        Position of the input it came from in ``images`` (a folder's files share one).
    """

    image: str
    error: str
    index: int

    def row(self) -> dict:
        return {"image": self.image, "error": self.error}


class PredictionBatch(list):
    """The predictions of the images that worked (a list), with what failed.

    Attributes
    ----------
    failures : list of ImageFailure
        The images that could not be predicted, in input order.
    indices : list of int
        For each prediction, the position in ``images`` of the input it came from.
    partial : bool
        True when the run stopped early (cancelled, Ctrl-C): only the images
        finished before that are here.
    """

    def __init__(self, predictions=(), failures=(), indices=(), partial: bool = False):
        super().__init__(predictions)
        self.failures: list[ImageFailure] = list(failures)
        self.indices: list[int] = list(indices)
        self.partial = partial


def failures_table(failures: Iterable[ImageFailure]):
    """The ``errors`` table of a batch: one row per failed image (``image``, ``error``)."""
    import pandas as pd

    return pd.DataFrame([f.row() for f in failures], columns=["image", "error"])


def error_text(err: BaseException, name: str) -> str:
    """One line for a failed image; names it when the message does not."""
    text = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
    text = " ".join(str(text).split()) or type(err).__name__
    if not isinstance(err, (MscMorphError, OSError, ValueError)):
        text = f"{type(err).__name__}: {text}"
    short = Path(name).name
    if name not in text and short not in text:
        text = f"{name}: {text}"
    return text
