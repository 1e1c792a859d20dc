"""Procedural sample data with known ground truth.

Bright-field / phase-contrast MSC fields (:func:`passage_field`,
:func:`osteo_field`, :func:`source_field`), neural stem cell fates
(:func:`nsc_field`), strains for strain identification (:func:`strain_field`),
immunofluorescence fields with exact cell/nucleus labels
and marker levels (:func:`if_field`), and :func:`write_dataset`, which writes
a labelled dataset (TIFFs with pixel size + ``manifest.csv``) for training
and testing. Donor-to-donor variation comes from :func:`make_donor`.

Everything is deterministic by seed; ``size=(256, 256)`` is the quick path
for tests.

Examples
--------
>>> from napari_msc_morph.synthetic import make_donor, passage_field
>>> field = passage_field(7, donor=make_donor("D2"), size=(256, 256), seed=3)
>>> field.truth["passage"], field.pixel_size_um
(7, 0.65)
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
