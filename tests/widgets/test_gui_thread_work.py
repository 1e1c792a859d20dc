"""Work kept off the GUI thread: first imports happen in the worker, score maps update in place."""

import sys
import threading

import numpy as np
import torch

from napari_msc_morph.models import BundleConfig, create_backbone, save_bundle
from napari_msc_morph.widgets._panel import JobDock, build_run_panel
from napari_msc_morph.widgets.predict_widget import CONFIG_DIR_ENV, PredictWidget


class _Dock(JobDock):
    def __init__(self):
        super().__init__()
        build_run_panel(self, None, "Run")
        self.results = []

    def run(self):
        return self.start_job(lambda progress, cancel: threading.current_thread().name,
                              self.results.append)


def test_result_modules_are_imported_in_the_worker(qtbot, tmp_path, monkeypatch):
    name = "msc_morph_heavy_result_module"
    (tmp_path / f"{name}.py").write_text(
        "import threading\nIMPORTED_ON = threading.current_thread().name\nCALLED_ON = []\n"
        "def record_thread():\n    CALLED_ON.append(threading.current_thread().name)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    dock = _Dock()
    dock.warm_up = (name, f"{name}:record_thread")
    dock.run()
    qtbot.waitUntil(lambda: not dock.busy, timeout=20000)
    gui = threading.main_thread().name
    assert dock.results and dock.results[0] != gui  # the job ran in a worker
    assert sys.modules[name].IMPORTED_ON != gui  # and so did the import
    assert sys.modules[name].CALLED_ON == [dock.results[0]]  # and the warm-up call
    assert "napari_msc_morph.widgets.results_table" in JobDock.warm_up


def test_first_labels_layer_costs_are_paid_off_the_gui_thread(monkeypatch):
    from napari.utils.colormaps import colormap as napari_colormap

    from napari_msc_morph.widgets import _warm
    from napari_msc_morph.widgets.measure_widget import MeasureWidget
    from napari_msc_morph.widgets.segment_widget import SegmentWidget

    mapped = []
    original = napari_colormap.CyclicLabelColormap._data_to_texture
    monkeypatch.setattr(napari_colormap.CyclicLabelColormap, "_data_to_texture",
                        lambda self, values: mapped.append(values.dtype) or original(self, values))
    _warm.labels_layers()
    # the warm-up drives napari's label colour mapping for the dtype segmentation returns
    assert np.dtype(np.int32) in mapped
    for dock in (SegmentWidget, MeasureWidget):
        assert "napari_msc_morph.widgets._warm:labels_layers" in dock.warm_up


def test_rerun_updates_the_score_map_layer_in_place(make_napari_viewer, qtbot, tmp_path,
                                                    monkeypatch):
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / "config"))
    config = BundleConfig(task="osteogenic", backbone="resnet10t", input_size=64, tiling="grid")
    torch.manual_seed(0)
    bundle = save_bundle(create_backbone("resnet10t", num_classes=2), config, tmp_path / "o.zip")
    viewer = make_napari_viewer()
    rng = np.random.default_rng(1)
    image = viewer.add_image(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8),
                             name="field", rgb=True)
    widget = PredictWidget(viewer)
    widget.set_bundle_path(bundle)
    widget.device_combo.setCurrentText("cpu")
    widget.set_selected_layers([image])
    widget.run()
    qtbot.waitUntil(lambda: not widget.busy, timeout=120000)
    first = viewer.layers["field os_score"]
    before = np.array(first.data)
    image.data = rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)  # new content, same shape
    widget.set_selected_layers([image])
    widget.run()
    qtbot.waitUntil(lambda: not widget.busy, timeout=120000)
    again = viewer.layers["field os_score"]
    assert again is first  # no remove + add (napari's gc.collect on removal froze the viewer)
    assert [layer.name for layer in viewer.layers].count("field os_score") == 1
    assert not np.array_equal(np.asarray(again.data), before)  # the new prediction's map


def test_progress_steps_are_coalesced_and_the_last_message_is_kept(qtbot):
    from napari_msc_morph.widgets import _panel

    dock = _Dock()
    shown = []
    dock.status.setText = lambda text, _set=dock.status.setText: (shown.append(text), _set(text))

    def job(progress, cancel):
        for k in range(1, 201):
            progress(k, 200, f"step {k}")
        return "done"

    dock.start_job(job, dock.results.append)
    qtbot.waitUntil(lambda: not dock.busy, timeout=20000)
    steps = [text for text in shown if text.startswith("step")]
    # a repaint per step would be 200; the dock shows at most one per interval
    assert 0 < len(steps) < 200 and steps[-1] == "step 200"
    assert dock.results == ["done"]
    assert dock.progress.maximum() == 1 and dock.progress.value() == 1
    assert _panel.PROGRESS_INTERVAL_MS >= 50


class _ReadRecorder:
    """Dask arrays whose every block read records whether it ran on the GUI thread."""

    def __init__(self):
        self.on_gui_thread: list[bool] = []

    def lazy(self, array):
        import dask.array as da

        def read(block):
            self.on_gui_thread.append(threading.current_thread() is threading.main_thread())
            return block

        return da.from_array(array, chunks=128).map_blocks(read, dtype=array.dtype)

    def run_dock(self, qtbot, widget) -> None:
        """Start the dock's job: nothing read on the GUI thread to start it, all in the worker."""
        self.on_gui_thread.clear()
        assert widget.run() is not None
        assert not any(self.on_gui_thread)  # gathering and checking inputs read nothing
        qtbot.waitUntil(lambda: not widget.busy, timeout=60000)
        assert self.on_gui_thread and not all(self.on_gui_thread)  # the worker read them


def test_segment_reads_a_lazy_layer_in_the_worker_not_on_the_gui_thread(make_napari_viewer,
                                                                          qtbot):
    from napari_msc_morph.synthetic import if_field
    from napari_msc_morph.widgets.segment_widget import NO_CYTOPLASM, SegmentWidget

    field = if_field(size=(256, 256), n_cells=10, seed=1)
    recorder = _ReadRecorder()
    viewer = make_napari_viewer()
    viewer.add_image(recorder.lazy(field.channels["DAPI"]), name="DAPI (lazy)",
                     scale=(field.pixel_size_um,) * 2)
    widget = SegmentWidget(viewer)
    widget.nuclei_combo.setCurrentText("DAPI (lazy)")
    widget.cyto_combo.setCurrentText(NO_CYTOPLASM)
    recorder.run_dock(qtbot, widget)
    assert widget.nuclei_layer is not None and widget.nuclei_layer.data.max() > 0


def test_measure_reads_lazy_layers_in_the_worker_not_on_the_gui_thread(make_napari_viewer,
                                                                         qtbot):
    from napari_msc_morph.synthetic import if_field
    from napari_msc_morph.widgets.measure_widget import MeasureWidget

    field = if_field(size=(256, 256), n_cells=10, seed=2)
    recorder = _ReadRecorder()
    viewer = make_napari_viewer()
    viewer.add_labels(recorder.lazy(field.cells), name="cells (lazy)")
    viewer.add_image(recorder.lazy(field.channels["RUNX2"]), name="RUNX2")
    widget = MeasureWidget(viewer)
    widget.labels_combo.setCurrentText("cells (lazy)")
    recorder.run_dock(qtbot, widget)
    assert len(widget.last_table) == len(field.truth)  # every cell measured


def test_a_result_handler_adds_its_layers_one_per_event_loop_turn(qtbot):
    from qtpy.QtCore import QTimer

    dock = _Dock()
    events = []

    def show(result):
        events.append("first layer")
        QTimer.singleShot(0, lambda: events.append("event loop ran"))
        yield
        events.append(("second layer", dock.busy))
        yield
        events.append("third layer")

    dock.start_job(lambda progress, cancel: "result", show)
    qtbot.waitUntil(lambda: not dock.busy, timeout=20000)
    assert events == ["first layer", "event loop ran", ("second layer", True), "third layer"]
    assert dock.run_button.isEnabled() and dock.progress.value() == 1  # finished, succeeded


def test_a_failing_step_of_a_result_handler_is_reported_and_the_dock_frees(qtbot):
    dock = _Dock()

    def show(result):
        yield
        raise ValueError("the second layer has the wrong shape")

    dock.start_job(lambda progress, cancel: "result", show)
    qtbot.waitUntil(lambda: not dock.busy, timeout=20000)
    assert "wrong shape" in dock.status.text()
    assert dock.run_button.isEnabled() and dock.progress.value() == 0


def test_a_dock_closed_while_its_layers_arrive_stops_quietly(qtbot):
    from qtpy import sip

    from napari_msc_morph.widgets._panel import _is_deleted

    dock = _Dock()
    steps = []

    def show(result):
        steps.append("first layer")
        sip.delete(dock)  # the user closes the dock between two layers
        yield
        steps.append("second layer")

    dock.start_job(lambda progress, cancel: "result", show)
    qtbot.waitUntil(lambda: _is_deleted(dock), timeout=20000)
    qtbot.wait(100)  # the next turn comes and goes
    assert steps == ["first layer"]  # the rest never ran on the destroyed dock
