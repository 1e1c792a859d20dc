"""napari-msc-morph: judge mesenchymal stem cells from pictures.

The engine (everything except :mod:`napari_msc_morph.widgets` and
:mod:`napari_msc_morph._sample_data`) never imports napari or Qt, so it can be
used as a plain Python library and from the ``msc-morph`` command line.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("napari-msc-morph")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
