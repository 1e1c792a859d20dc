"""napari-msc-morph: judge mesenchymal stem cells from pictures.

The engine (everything except :mod:`napari_msc_morph.widgets` and
:mod:`napari_msc_morph._sample_data`) never imports napari or Qt, so it can be
used as a plain Python library and from the ``msc-morph`` command line.
"""

import logging
from importlib.metadata import PackageNotFoundError, version

from ._exports import lazy_exports

# Library convention: the package logs, the application decides where it goes
# (the CLI prints warnings on stderr; napari shows its own log).
logging.getLogger(__name__).addHandler(logging.NullHandler())

try:
    __version__ = version("napari-msc-morph")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]

# the morphometry engine, imported on first use so the CLI start-up stays light
_MORPHOLOGY_EXPORTS = ("segment_field", "measure_field", "measure_cells", "summarize_cells",
                       "segment_nuclei", "segment_cells")
__all__ += list(_MORPHOLOGY_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, dict.fromkeys(_MORPHOLOGY_EXPORTS, ".morphology"))
