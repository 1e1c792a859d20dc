"""Model bundles to and from bioimage.io model packages (spec 0.5): the ``[bioimageio]`` extra.

Neither :mod:`~napari_msc_morph.models` nor :mod:`~napari_msc_morph.inference`
imports this package; the network a package names stays in
:mod:`napari_msc_morph.models.bioimageio_arch`.
"""

from .export import WEIGHT_FORMATS, BioimageioExport, check_package, export_bioimageio
from .importer import BioimageioImport, import_bioimageio
from .parts import check_authors, check_licence

__all__ = ["BioimageioExport", "BioimageioImport", "WEIGHT_FORMATS", "check_authors",
           "check_licence", "check_package", "export_bioimageio", "import_bioimageio"]
