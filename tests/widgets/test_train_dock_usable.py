"""The Train dock for a biologist (issue 24, points 6 and 8): the plugin's sample stacks as
training images, honest time estimates with the GPU alternative, a form that fits a laptop
with every control explained, and a dock that opens without loading torch or matplotlib."""

import subprocess
import sys
import textwrap
import types

import timm  # noqa: F401  (load torch's stack before any viewer exists, as napari does)
from qtpy.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QTableWidget,
)

from napari_msc_morph._sample_data import (
    sample_osteo_time_course,
    sample_passage_series,
    sample_tissue_source,
)
from napari_msc_morph.training.data import load_field
from napari_msc_morph.widgets import _train_defaults
from napari_msc_morph.widgets._panel import MAX_DOCK_HEIGHT, MIN_DOCK_WIDTH
from napari_msc_morph.widgets.train_widget import TrainWidget, manifest_from_layers


def _add(viewer, layers):
    for data, kwargs, _ in layers:
        viewer.add_image(data, **kwargs)


def test_sample_stacks_are_one_image_per_plane_labelled_by_their_axis(make_napari_viewer,
                                                                      tmp_path):
    viewer = make_napari_viewer()
    _add(viewer, sample_passage_series(size=(48, 64)))
    widget = TrainWidget(viewer)
    widget.task.setCurrentText("passage")
    widget.source.setCurrentIndex(1)
    assert widget.layer_table.rowCount() == 4  # passages 1, 4, 7, 10: one row each
    assert "; 4 images" in widget.estimate_label.text()  # the estimate counts planes too
    labels, donors = widget.layer_assignments()
    assert labels == {f"D01_passages [passage P{p}]": f"P{p}" for p in (1, 4, 7, 10)}
    assert set(donors.values()) == {"D01"}
    table = manifest_from_layers(widget.image_layers(), labels, donors, tmp_path)
    assert list(table["passage"]) == [1, 4, 7, 10]
    for path in table["path"]:  # the trainer reads each file as one plane (no "split in Fiji")
        field = load_field(path)
        assert field.data.shape == (48, 64) and field.pixel_size_um is not None


def test_osteogenic_time_course_labels_by_condition_with_the_day_kept(make_napari_viewer,
                                                                      tmp_path):
    viewer = make_napari_viewer()
    _add(viewer, sample_osteo_time_course(size=(32, 48)))
    widget = TrainWidget(viewer)
    widget.source.setCurrentIndex(1)
    widget.task.setCurrentText("passage")  # no condition among the classes: the day is the label
    labels, _ = widget.layer_assignments()
    assert labels["D02_induced_days [day 14]"] == "day14"
    widget.set_layer_row("D02_control_days [day 0]", "typed", "D9")
    widget.task.setCurrentText("osteogenic")  # control / induced: the condition is the label
    labels, donors = widget.layer_assignments()
    assert len(labels) == 14
    assert labels["D02_induced_days [day 14]"] == "induced"
    assert labels["D02_control_days [day 0]"] == "typed"  # what the user typed is kept
    assert donors["D02_control_days [day 0]"] == "D9"
    table = manifest_from_layers(widget.image_layers(), labels, donors, tmp_path,
                                 classes=("control", "induced"))
    assert sorted(set(table["day"])) == [0, 1, 3, 5, 7, 14, 21]  # AUC per day in the report
    assert table["condition"].value_counts().to_dict() == {"induced": 7, "control": 7}


def test_tissue_source_sample_is_labelled_by_its_source(make_napari_viewer):
    viewer = make_napari_viewer()
    _add(viewer, sample_tissue_source(size=(32, 48)))
    widget = TrainWidget(viewer)
    widget.task.setCurrentText("source")
    widget.source.setCurrentIndex(1)
    labels, _ = widget.layer_assignments()
    assert labels == {"umbilical_cord_MSC": "umbilical_cord", "bone_marrow_MSC": "bone_marrow"}


def test_a_training_run_from_the_sample_stacks(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    for k in range(4):  # four donors, so the test split holds donors training never saw
        (data, kwargs, _), = sample_passage_series(size=(64, 80), seed=k)
        kwargs["metadata"] = {**kwargs["metadata"], "donor": f"D{k}"}
        viewer.add_image(data, **{**kwargs, "name": f"donor{k}"})
    widget = TrainWidget(viewer)
    widget.task.setCurrentText("passage")
    widget.source.setCurrentIndex(1)
    widget.backbone.setCurrentText("test_resnet")
    widget.epochs.setValue(1)
    widget.input_size.setValue(32)
    widget.batch_size.setValue(4)
    widget.device.setCurrentText("cpu")
    widget.out_edit.value = tmp_path / "model"
    assert widget.run() is not None, widget.status.text()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=180_000)
    assert widget.result is not None and widget.result.bundle_path is not None, \
        widget.status.text()
    from napari_msc_morph.models import load_bundle

    assert load_bundle(tmp_path / "model").config.class_names == ("P1", "P4", "P7", "P10")


def test_a_long_cpu_run_states_the_gpu_alternative(make_napari_viewer):
    widget = TrainWidget(make_napari_viewer())
    widget.device.setCurrentText("cpu")
    widget.recipe.setCurrentText("osteonet")
    text = widget.estimate_label.text()
    assert " h (" in text.split(";")[0]  # hours on this CPU
    assert "on a CUDA GPU about" in text
    assert "--recipe osteonet --device cuda" in text
    widget.recipe.setCurrentText("custom")  # back to the CPU defaults: a GPU's time only
    assert "(On a CUDA GPU about" in widget.estimate_label.text()
    assert "--device cuda" not in widget.estimate_label.text()
    widget.backbone.setCurrentText("test_resnet")  # a short run needs no GPU
    widget.input_size.setValue(64)
    widget.epochs.setValue(1)
    assert "GPU" not in widget.estimate_label.text()


def test_the_form_fits_a_laptop_and_explains_every_control(make_napari_viewer):
    widget = TrainWidget(make_napari_viewer())
    content = widget.scroll.widget()
    assert content.sizeHint().height() <= MAX_DOCK_HEIGHT  # was 1,044 px: nothing scrolls
    assert not widget.advanced.is_expanded()
    assert not widget.optimizer.isVisibleTo(widget) and widget.epochs.isVisibleTo(widget)
    widget.advanced.set_expanded(True)
    assert widget.optimizer.isVisibleTo(widget) and widget.folds.isVisibleTo(widget)
    widget.source.setCurrentIndex(1)
    kinds = (QComboBox, QAbstractSpinBox, QLineEdit, QAbstractButton, QTableWidget)
    tables = widget.findChildren(QTableWidget)
    controls = [w for w in widget.findChildren(kinds) if w.isVisibleTo(widget)
                and not any(t.isAncestorOf(w) for t in tables)]  # a table's corner button
    assert len(controls) > 20
    missing = [f"{type(w).__name__} {getattr(w, 'text', lambda: '')()!r}" for w in controls
               if not w.toolTip().strip()]
    assert not missing
    assert widget.canvas is widget.results.widget(0)  # as after a run: curves and report tabs
    assert content.minimumSizeHint().width() <= MIN_DOCK_WIDTH  # no sideways scrolling
    assert "network" in widget.backbone.toolTip()
    assert "rate changes" in widget.scheduler.toolTip()
    assert "donors it never saw" in widget.folds.toolTip()


def test_opening_the_dock_loads_neither_torch_nor_matplotlib():
    # a fresh process, as napari starts: the dock must not import torch (1.5 s) to ask
    # for a GPU, nor matplotlib for an empty plot, while the user waits
    script = textwrap.dedent("""
        import os, sys, time
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from qtpy.QtWidgets import QApplication
        app = QApplication([])
        from napari.components import ViewerModel
        from napari_msc_morph.widgets import _train_defaults
        _train_defaults.may_have_gpu = lambda: False  # as on a laptop without a GPU
        from napari_msc_morph.widgets.train_widget import TrainWidget
        start = time.perf_counter()
        widget = TrainWidget(ViewerModel())
        print("built", round(time.perf_counter() - start, 2), "torch", "torch" in sys.modules,
              "matplotlib", "matplotlib.figure" in sys.modules)
        print(widget.estimate_label.text())
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "torch False matplotlib False" in result.stdout, result.stdout
    assert "on cpu" in result.stdout


def test_a_gpu_found_in_the_background_brings_the_published_setup(make_napari_viewer, qtbot,
                                                                  monkeypatch):
    from napari_msc_morph.models import backbones

    # as in a fresh napari: torch not loaded yet, so the dock asks for a GPU in a thread
    monkeypatch.setattr(_train_defaults, "sys", types.SimpleNamespace(
        modules={}, platform=sys.platform))
    monkeypatch.setitem(_train_defaults._AUTO, "device", None)
    monkeypatch.setattr(_train_defaults, "may_have_gpu", lambda: True)
    monkeypatch.setattr(backbones, "resolve_device", lambda device="auto": "cuda")
    widget = TrainWidget(make_napari_viewer())
    widget.task.setCurrentText("passage")
    qtbot.waitUntil(lambda: _train_defaults._AUTO["device"] == "cuda", timeout=10_000)
    qtbot.waitUntil(lambda: widget.backbone.currentText() == "resnext50_32x4d", timeout=10_000)
    assert widget.input_size.value() == 448
    assert "on cuda" in widget.estimate_label.text()
