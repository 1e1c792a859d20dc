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
        "import threading\nIMPORTED_ON = threading.current_thread().name\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    dock = _Dock()
    dock.warm_imports = (name,)
    dock.run()
    qtbot.waitUntil(lambda: not dock.busy, timeout=20000)
    gui = threading.main_thread().name
    assert dock.results and dock.results[0] != gui  # the job ran in a worker
    assert sys.modules[name].IMPORTED_ON != gui  # and so did the import
    assert "napari_msc_morph.widgets.results_table" in JobDock.warm_imports


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
