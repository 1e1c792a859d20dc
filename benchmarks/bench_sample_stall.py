"""Longest GUI stall while a sample opens: generated on the GUI thread vs in a worker.

A QTimer asks to fire every 10 ms; the probe records how late each tick comes.
The longest lateness is how long the viewer was frozen (no repaint, no input).
Both ways run in one process, side by side:

    xvfb-run -a python benchmarks/bench_sample_stall.py [SAMPLE ...]
"""

from __future__ import annotations

import sys
import time


def longest_stall(viewer, sample: str) -> tuple[float, float]:
    """(longest timer lateness in s, wall time in s) while ``sample`` opens."""
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication

    from napari_msc_morph.widgets.sample_loading import sample_ready

    interval = 0.010
    state = {"last": time.perf_counter(), "worst": 0.0}

    def tick():
        now = time.perf_counter()
        state["worst"] = max(state["worst"], now - state["last"] - interval)
        state["last"] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(int(interval * 1000))
    QApplication.processEvents()
    state["last"] = time.perf_counter()
    start = time.perf_counter()
    # as the File > Open Sample menu does, from inside the event loop
    QTimer.singleShot(0, lambda: viewer.open_sample("napari-msc-morph", sample))
    QTimer.singleShot(0, lambda: state.__setitem__("started", True))
    while not sample_ready(viewer) or time.perf_counter() - start < 0.05:
        QApplication.processEvents()
        time.sleep(0.001)
    wall = time.perf_counter() - start
    for _ in range(20):
        QApplication.processEvents()
        time.sleep(0.01)
    timer.stop()
    viewer.layers.clear()
    return state["worst"], wall


def main() -> None:
    import napari

    from napari_msc_morph.widgets import sample_loading

    samples = sys.argv[1:] or ["osteo_time_course", "if_field"]
    viewer = napari.Viewer(show=True)
    print("sample, longest stall GUI-thread (s), longest stall worker (s), ratio, "
          "wall GUI-thread (s), wall worker (s)")
    for sample in samples:
        sample_loading.BACKGROUND = False
        before, wall_before = longest_stall(viewer, sample)
        sample_loading.BACKGROUND = True
        after, wall_after = longest_stall(viewer, sample)
        print(f"{sample}, {before:.2f}, {after:.2f}, {before / max(after, 1e-3):.0f}x, "
              f"{wall_before:.1f}, {wall_after:.1f}", flush=True)
    viewer.close()


if __name__ == "__main__":
    main()
