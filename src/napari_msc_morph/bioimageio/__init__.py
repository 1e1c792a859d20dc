"""Model bundles to and from bioimage.io model packages (spec 0.5): the ``[bioimageio]`` extra.

- :mod:`.export`: :func:`export_bioimageio`, :func:`check_package`;
- :mod:`.importer`: :func:`import_bioimageio`;
- :mod:`.parts`: test tensors, cover, README, citations, the author and licence checks;
- :mod:`.deps`: bioimageio.spec / bioimageio.core, imported on use.

This package uses :mod:`~napari_msc_morph.models` and
:mod:`~napari_msc_morph.inference`; neither of them imports it. The network a
package's state dict names stays in :mod:`napari_msc_morph.models.bioimageio_arch`
(exported packages name that module).
"""

from .export import WEIGHT_FORMATS, BioimageioExport, check_package, export_bioimageio
from .importer import BioimageioImport, import_bioimageio
from .parts import check_authors, check_licence

__all__ = ["BioimageioExport", "BioimageioImport", "WEIGHT_FORMATS", "check_authors",
           "check_licence", "check_package", "export_bioimageio", "import_bioimageio"]
