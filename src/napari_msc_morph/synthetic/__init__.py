"""Procedural sample data with known ground truth.

Bright-field / phase-contrast MSC fields (passage, osteogenic time course,
tissue source), neural stem cell fates, and immunofluorescence fields with
exact cell/nucleus labels and marker levels; plus :func:`write_dataset`,
which writes a whole labelled dataset (TIFFs with pixel size + manifest.csv)
for training and testing.

Everything is deterministic by seed and fast enough for tests (use
``size=(256, 256)``).
"""

from ._common import DonorStyle, SyntheticField, make_donor
from .brightfield import OSTEO_DAYS, PASSAGES, passage_field
from .fluorescence import IF_CHANNELS, IF_COLORMAPS, IFField, if_field

__all__ = [
    "DonorStyle",
    "IFField",
    "IF_CHANNELS",
    "IF_COLORMAPS",
    "OSTEO_DAYS",
    "PASSAGES",
    "SyntheticField",
    "if_field",
    "make_donor",
    "passage_field",
]
