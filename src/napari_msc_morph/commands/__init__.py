"""One module per ``msc-morph`` sub-command (see :mod:`napari_msc_morph.cli`)."""
