"""Benchmark: how long the napari GUI thread freezes while each plugin action runs.

A real napari viewer (under Xvfb on a headless machine) gets a probe: a
chain of 10 ms single-shot ``QTimer``\\s, each measuring how late it fired.
A late timer means the Qt event loop was busy: the window could not repaint,
scroll or react to a click for that long. Each action is started the way a
user starts it (a dock's Run button, File > Open Sample, File > Open with the
plugin's reader) and the probe runs until the action's result is on screen,
plus a short tail for the layers to draw. The table gives, per action, the
longest stall (goal: under 100 ms), how many stalls passed 100 ms, and the
action's wall time.

Data are small and synthetic: a 512 x 512 immunofluorescence field (Segment,
Measure), a 512 x 512 RGB field and a tiny resnet10t bundle made on the fly
(Predict), 1 epoch of test_resnet on 16 small passage fields (Train), a
correlation of 8 samples (Correlation); the samples are the plugin's own
(their real sizes), the reader opens a 2048 x 2048 two-channel uint16 TIFF.

Run::

    xvfb-run -a python benchmarks/bench_gui_stall.py            # ~2-3 min on 2 cores
    xvfb-run -a python benchmarks/bench_gui_stall.py --only segment,predict

Where the GUI thread spends a stall: sample the process from outside with
py-spy (``pip install py-spy``); a Python sampling thread inside the process,
or faulthandler's watchdog, crashed napari here (they touch other threads'
frames and can collect Qt objects off the GUI thread)::

    xvfb-run -a py-spy record --threads --format raw -o stalls.txt -- \
        python benchmarks/bench_gui_stall.py --only predict
    grep MainThread stalls.txt | sort -t' ' -k2 -n | tail   # busiest GUI-thread stacks
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import timm  # noqa: F401  (torch's stack before any viewer exists, as napari does)

PLUGIN = "napari-msc-morph"
GOAL_MS = 100.0
TICK_MS = 10


class StallProbe:
    """10 ms single-shot timers, each recording how late it fired (ms)."""

    def __init__(self):
        self.lateness: list[float] = []
        self.fired_at: list[float] = []
        self._due = 0.0
        self._running = False

    def start(self):
        self.lateness, self.fired_at = [], []
        self._running = True
        self._arm()

    def stop(self) -> list[float]:
        self._running = False
        return self.lateness

    def _arm(self):
        from qtpy.QtCore import Qt, QTimer

        self._due = time.perf_counter() + TICK_MS / 1000
        QTimer.singleShot(TICK_MS, Qt.TimerType.PreciseTimer, self._fired)

    def _fired(self):
        now = time.perf_counter()
        self.lateness.append(max(0.0, (now - self._due) * 1000))
        self.fired_at.append(now)
        if self._running:
            self._arm()


def spin(done, timeout_s: float, tail_s: float = 0.3) -> bool:
    """Run the Qt event loop until ``done()`` (polled every 20 ms), then ``tail_s`` more."""
    from qtpy.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    deadline = time.perf_counter() + timeout_s
    finished = [False]

    def poll():
        if done():
            finished[0] = True
            loop.quit()
        elif time.perf_counter() > deadline:
            loop.quit()

    timer = QTimer()
    timer.timeout.connect(poll)
    timer.start(20)
    loop.exec()
    timer.stop()
    if tail_s:
        QTimer.singleShot(int(tail_s * 1000), loop.quit)
        loop.exec()
    return finished[0]


def measure(probe: StallProbe, name: str, start, done, timeout_s: float = 600) -> dict:
    """Start the action (on the GUI thread, as a click does) and probe until done."""
    probe.start()
    t0, cpu0 = time.perf_counter(), time.process_time()
    start()
    ok = spin(done, timeout_s)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    late = probe.stop()
    worst = max(late, default=0.0)
    row = {"action": name, "longest stall ms": round(worst, 1),
           "stalls > 100 ms": sum(v > GOAL_MS for v in late), "wall s": round(wall, 2),
           "process CPU s": round(cpu, 2), "finished": ok, "goal met": worst < GOAL_MS}
    print(f"  {name:<34}{worst:>9.0f} ms  ({wall:.1f} s)", flush=True)
    return row


REPEAT = 2  # --repeat: each dock's job is run this many times


def runs(probe: StallProbe, name: str, start, done) -> list[dict]:
    """The first run (first imports, first kernels) and the runs after it, one row each."""
    return [measure(probe, f"{name}{' (first run)' if k == 0 else ' (again)'}", start, done)
            for k in range(REPEAT)]


def job_done(widget):
    return lambda: widget.worker is None and widget.run_button.isEnabled()


# ----------------------------------------------------------------------- actions
def action_idle(viewer, probe, tmp):
    t0 = time.perf_counter()
    return [measure(probe, "idle viewer, 3 s (machine noise)", lambda: None,
                    lambda: time.perf_counter() - t0 > 3)]


def napari_alone(viewer, probe, name: str, layers) -> dict:
    """The same layers added by napari itself (data made beforehand): napari's own floor.

    napari creates each layer's model, vispy visual and Qt controls on the GUI
    thread, and draws them; none of that is plugin code. A plugin action can
    only get below this by adding fewer or smaller layers.
    """
    tuples = []
    for layer in layers:
        data, state, kind = layer.as_layer_data_tuple()
        tuples.append((data, {**state, "name": f"{state['name']} (napari alone)"}, kind))
    before = len(viewer.layers)
    return measure(probe, f"napari alone: {name}",
                   lambda: [viewer._add_layer_from_data(*t) for t in tuples],
                   lambda: len(viewer.layers) >= before + len(tuples))


def action_samples(viewer, probe, tmp):
    from npe2 import PluginManager

    from napari_msc_morph.widgets.sample_loading import sample_ready

    rows = []
    manifest = PluginManager.instance().get_manifest(PLUGIN)
    for sample in manifest.contributions.sample_data or []:
        viewer.layers.clear()
        spin(lambda: True, 5, tail_s=0.5)
        def open_it(key=sample.key):
            return viewer.open_sample(PLUGIN, key)

        rows.append(measure(probe, f"open sample: {sample.key}", open_it,
                            lambda: sample_ready(viewer), timeout_s=300))
        made = list(viewer.layers)
        viewer.layers.clear()
        spin(lambda: True, 5, tail_s=0.5)
        rows.append(napari_alone(viewer, probe, f"{sample.key}'s {len(made)} layers", made))
        viewer.layers.clear()
        spin(lambda: True, 5, tail_s=0.5)
        rows.append(measure(probe, f"open sample: {sample.key} (again)", open_it,
                            lambda: sample_ready(viewer), timeout_s=300))
    return rows


def action_reader(viewer, probe, tmp):
    from napari_msc_morph.io import write_tiff

    path = Path(tmp) / "two_channel.tif"
    rng = np.random.default_rng(0)
    write_tiff(rng.integers(0, 4096, (2, 2048, 2048), dtype=np.uint16), path,
               pixel_size_um=0.65, axes="CYX")
    row = measure(probe, "open file with the reader (2k x 2k x 2)",
                  lambda: viewer.open(path, plugin=PLUGIN), lambda: len(viewer.layers) > 0)
    return [row, napari_alone(viewer, probe, "the reader's layers", list(viewer.layers))]


def add_if_field(viewer):
    from napari_msc_morph.synthetic import if_field

    field = if_field(size=(512, 512), n_cells=30, seed=5)
    scale = (field.pixel_size_um, field.pixel_size_um)
    for name in ("DAPI", "actin", "RUNX2"):
        viewer.add_image(field.channels[name], name=name, scale=scale, blending="additive")
    return field


def action_segment_measure(viewer, probe, tmp):
    from napari_msc_morph.widgets.measure_widget import MeasureWidget
    from napari_msc_morph.widgets.segment_widget import SegmentWidget

    add_if_field(viewer)
    segment = SegmentWidget(viewer)
    viewer.window.add_dock_widget(segment)
    segment.nuclei_combo.setCurrentText("DAPI")
    segment.cyto_combo.setCurrentText("actin")
    rows = runs(probe, "Segment (512 x 512 IF field)", segment.run_button.click,
                job_done(segment))
    rows.append(napari_alone(viewer, probe, "the 2 Labels layers Segment adds",
                             [segment.nuclei_layer, segment.cells_layer]))
    measure_dock = MeasureWidget(viewer)
    viewer.window.add_dock_widget(measure_dock)
    measure_dock.labels_combo.setCurrentText("DAPI cells")
    rows += runs(probe, "Measure (cells, 3 channels)", measure_dock.run_button.click,
                 job_done(measure_dock))
    return rows


def action_predict(viewer, probe, tmp):
    import torch

    from napari_msc_morph.models import BundleConfig, create_backbone, save_bundle
    from napari_msc_morph.widgets.predict_widget import CONFIG_DIR_ENV, PredictWidget

    os.environ[CONFIG_DIR_ENV] = str(Path(tmp) / "config")  # recent bundles: not the user's
    config = BundleConfig(task="osteogenic", backbone="resnet10t", input_size=64, tiling="grid")
    torch.manual_seed(0)
    bundle = save_bundle(create_backbone("resnet10t", num_classes=2), config,
                         Path(tmp) / "osteo.zip")
    rng = np.random.default_rng(0)
    layer = viewer.add_image(rng.integers(0, 256, (512, 512, 3), dtype=np.uint8),
                             name="field", rgb=True)
    widget = PredictWidget(viewer)
    viewer.window.add_dock_widget(widget)
    rows = [measure(probe, "Predict: choose bundle", lambda: widget.set_bundle_path(bundle),
                    lambda: bool(widget.bundle_info.text()))]
    widget.set_selected_layers([layer])
    widget.device_combo.setCurrentText("cpu")
    rows += runs(probe, "Predict (grid, 512 x 512, score map)", widget.run_button.click,
                 job_done(widget))
    maps = [lyr for lyr in viewer.layers if "msc_morph_score_map" in lyr.metadata]
    rows.append(napari_alone(viewer, probe, "the score-map layer Predict adds", maps))
    return rows


def action_train(viewer, probe, tmp):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "training"))
    from train_helpers import write_passage_set

    from napari_msc_morph.widgets.train_widget import TrainWidget

    manifest = write_passage_set(Path(tmp) / "passage", n_donors=4, per_class=2)
    widget = TrainWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.manifest_edit.value = manifest
    widget.task.setCurrentText("passage")
    widget.backbone.setCurrentText("test_resnet")
    widget.epochs.setValue(1)
    widget.input_size.setValue(64)
    widget.batch_size.setValue(8)
    widget.downscale.setValue(4)
    widget.device.setCurrentText("cpu")
    widget.out_edit.value = Path(tmp) / "model"
    return runs(probe, "Train (1 epoch, test_resnet)", widget.run_button.click, job_done(widget))


def action_correlation(viewer, probe, tmp):
    from napari_msc_morph.widgets.correlation_widget import CorrelationWidget
    from napari_msc_morph.widgets.results_table import get_results_table

    rng = np.random.default_rng(0)
    table, rows = get_results_table(viewer), []
    for donor in ("D1", "D2"):
        for day in (0, 7, 14, 21):
            sample = f"{donor}_d{day}"
            layer = viewer.add_image(np.zeros((8, 8), dtype=np.uint8), name=sample)
            score = day / 21 + rng.normal(0, 0.05)
            table.update_layer_row(layer, {"osscore": score, "sample_id": sample,
                                           "donor": donor, "day": day, "condition": "induced"})
            rows += [{"sample_id": sample, "replicate": r, "RUNX2_qPCR": 3 * score + 1,
                      "OCN_western": 2 * score + rng.normal(0, 0.2)} for r in (1, 2)]
    readouts = Path(tmp) / "readouts.csv"
    pd.DataFrame(rows).to_csv(readouts, index=False)
    widget = CorrelationWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.readout_path.setText(str(readouts))
    return runs(probe, "Correlation (8 samples, plots)", widget.run_button.click,
                lambda: widget.results is not None and widget.run_button.isEnabled())


ACTIONS = {
    "idle": action_idle,
    "samples": action_samples,
    "reader": action_reader,
    "segment": action_segment_measure,
    "predict": action_predict,
    "train": action_train,
    "correlation": action_correlation,
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(ACTIONS),
                        help=f"comma-separated actions of {list(ACTIONS)}")
    parser.add_argument("--csv", type=Path, help="also write the table here")
    parser.add_argument("--repeat", type=int, default=2,
                        help="runs of each dock's job (the first pays first imports)")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(ACTIONS))
    if unknown:
        parser.error(f"unknown actions {unknown}; choose from {list(ACTIONS)}")

    import napari

    global REPEAT
    REPEAT = max(1, args.repeat)
    probe = StallProbe()
    rows = []
    print(f"napari {napari.__version__}, {os.cpu_count()} CPUs; probe: {TICK_MS} ms timers")
    with tempfile.TemporaryDirectory() as tmp:
        for name in chosen:  # a fresh viewer per action: no state carried over
            viewer = napari.Viewer(show=True)
            spin(lambda: True, 5, tail_s=1.0)  # let the window settle
            rows += ACTIONS[name](viewer, probe, tmp)
            viewer.close()
    table = pd.DataFrame(rows)
    print()
    print(table.to_markdown(index=False) if _has_tabulate() else table.to_string(index=False))
    if args.csv:
        table.to_csv(args.csv, index=False)
    worst = table.sort_values("longest stall ms", ascending=False).iloc[0]
    print(f"\nlongest stall: {worst['longest stall ms']:.0f} ms ({worst['action']}); "
          f"{int((~table['goal met']).sum())} of {len(table)} actions over {GOAL_MS:.0f} ms")
    return 0


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    raise SystemExit(main())
