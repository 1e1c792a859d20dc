"""Procedural sample data with known ground truth, deterministic by seed.

``size=(256, 256)`` is the quick path for tests; :func:`write_dataset` writes a
labelled dataset (TIFFs and ``manifest.csv``) for training.
"""

from ._common import DonorStyle, SyntheticField, make_donor
from .brightfield import (
    OSTEO_DAYS,
    PASSAGES,
    SOURCES,
    osteo_differentiation,
    osteo_field,
    passage_field,
    source_field,
)
from .dataset import KINDS, write_dataset
from .fluorescence import IF_CHANNELS, IF_COLORMAPS, IFField, if_field
from .neural import FATES, nsc_field
from .strain import make_strain, strain_field

__all__ = [
    "DonorStyle",
    "FATES",
    "IFField",
    "IF_CHANNELS",
    "IF_COLORMAPS",
    "KINDS",
    "OSTEO_DAYS",
    "PASSAGES",
    "SOURCES",
    "SyntheticField",
    "if_field",
    "make_donor",
    "make_strain",
    "nsc_field",
    "osteo_differentiation",
    "osteo_field",
    "passage_field",
    "source_field",
    "strain_field",
    "write_dataset",
]
