"""Benchmark: how long opening the Train dock freezes napari.

In a fresh process (as napari starts: torch, timm and matplotlib not loaded)
a viewer is shown at 1280 x 800, then the dock is opened as napari's plugin
menu does it: import ``napari_msc_morph.widgets.train_widget``, build
``TrainWidget`` and dock it, then paint. Prints the seconds of each step, the
total, and whether torch / matplotlib got imported on the way (the dock's
former 2.8 s were mostly torch, imported to ask for a GPU, and matplotlib for
the empty learning-curve plot). Run it several times: the first run after a
change also compiles byte code. ::

    xvfb-run -a python benchmarks/bench_train_dock_open.py
    PYTHONPATH=/path/to/other/src xvfb-run -a python benchmarks/bench_train_dock_open.py
"""

from __future__ import annotations

import sys
import time


def main() -> None:
    import napari
    from qtpy.QtWidgets import QApplication

    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1280, 800)
    for _ in range(5):
        QApplication.processEvents()
    start = time.perf_counter()
    from napari_msc_morph.widgets.train_widget import TrainWidget

    imported = time.perf_counter()
    widget = TrainWidget(viewer)
    built = time.perf_counter()
    viewer.window.add_dock_widget(widget, name="Train model", area="right")
    QApplication.processEvents()
    shown = time.perf_counter()
    print(f"import {imported - start:.2f} s, build {built - imported:.2f} s, "
          f"dock and paint {shown - built:.2f} s: total {shown - start:.2f} s; "
          f"torch imported: {'torch' in sys.modules}; "
          f"matplotlib imported: {'matplotlib.figure' in sys.modules}")
    viewer.close()


if __name__ == "__main__":
    main()
