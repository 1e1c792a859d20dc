"""First-use costs of napari layers, paid in a dock's worker thread instead of the GUI thread.

napari builds its layer *models* (not their Qt/vispy views) in plain Python, so a
throwaway layer made in a worker runs the same first-use code: imports and the
numba kernels that map label values to colours (the first Labels layer of a
session cost 1.1 s on the GUI thread here, most of it compiling). The docks list
these in :attr:`~._panel.JobDock.warm_up`; a second call costs microseconds.
"""

from __future__ import annotations

import numpy as np

#: Label dtypes our docks and samples add (segmentation and synthetic fields: int32).
LABEL_DTYPES = (np.int32,)


def labels_layers() -> None:
    """Make (and drop) a tiny napari Labels layer per dtype the plugin adds."""
    from napari.layers import Labels

    for dtype in LABEL_DTYPES:
        Labels(np.zeros((4, 4), dtype=dtype))


def image_layers() -> None:
    """Make (and drop) a tiny float32 napari Image layer (score maps, heat maps)."""
    from napari.layers import Image

    Image(np.zeros((4, 4), dtype=np.float32), colormap="inferno")
