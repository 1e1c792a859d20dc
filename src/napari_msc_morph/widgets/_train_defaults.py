"""The Train dock's machine-fitting defaults and its "estimated time" line.

Without a GPU the dock starts with :data:`~napari_msc_morph.training.estimate.CPU_DEFAULTS`;
with one, the recipe's values. Asking torch for a GPU costs 1.5 s, so it is asked in a
thread, and only on a computer that may have one (docs/widgets/train.md).
"""

from __future__ import annotations

import functools
import platform
import shutil
import sys
import threading
from pathlib import Path

from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import QLabel

from ..errors import BadInputError
from ..io import read_table
from ..models import backbones
from ..training.estimate import CPU_DEFAULTS, estimate_training, format_duration, machine_defaults
from ._panel import watch_layer_list
from ._train_layers import layer_images

#: Images assumed when none are chosen yet (the label says so).
ASSUMED_FIELDS = 100
#: A CPU run longer than this (s) says what a GPU would take ...
GPU_NOTE_S = 600.0
#: ... and one longer than this (an afternoon) says to use a GPU and how.
LONG_ON_CPU_S = 4 * 3600.0


class _DeviceRelay(QObject):
    found = Signal(str)


#: What "auto" means on this computer, once known (one answer per process).
_AUTO: dict = {"device": None}


def auto_device_known() -> bool:
    """Whether "auto" is resolved (False while a thread still asks torch)."""
    return _AUTO["device"] is not None or "torch" in sys.modules


def _resolved_device(text: str) -> str:
    """The device a run with ``text`` would use, without importing torch on the GUI thread
    (until torch is loaded: "auto" is what the GPU search found so far, others at their word).
    """
    text = text.strip().lower()
    if "torch" not in sys.modules:
        return (_AUTO["device"] or "cpu") if text in ("auto", "") else text
    try:
        return backbones.resolve_device(text)
    except BadInputError:  # a half-typed device name
        return "cpu"


def may_have_gpu() -> bool:
    """Whether this computer may have a GPU torch can use (False: surely not; no torch import)."""
    if sys.platform == "darwin":
        return platform.machine() == "arm64"  # Apple silicon: MPS
    return Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None


def _find_auto_device(relay: _DeviceRelay) -> None:
    """Resolve "auto": at once if torch is loaded or there is surely no GPU, else in a thread
    that answers through ``relay.found``."""
    if auto_device_known():
        return
    if not may_have_gpu():
        _AUTO["device"] = "cpu"
        return

    def work() -> None:
        try:
            device = backbones.resolve_device("auto")
        except (BadInputError, ImportError, RuntimeError):
            device = "cpu"
        try:
            relay.found.emit(device)  # queued to the GUI thread
        except RuntimeError:  # the dock was closed meanwhile
            pass

    threading.Thread(target=work, daemon=True, name="msc-morph-find-gpu").start()


@functools.lru_cache(maxsize=1)  # the estimate is refreshed on every keystroke
def _table_rows(path: str, modified: float) -> int:
    return len(read_table(path))


def _manifest_rows(path_text: str) -> int | None:
    """Rows of a manifest file (read again when it changes); None if unreadable."""
    try:
        return _table_rows(path_text, Path(path_text).stat().st_mtime)
    except Exception:  # a half-typed or foreign file: no count, no error while typing
        return None


def apply_machine_defaults(widget) -> dict:
    """Set backbone, input size and epochs for the machine the dock runs on."""
    values = machine_defaults(widget.task.currentText(),
                              _resolved_device(widget.device.currentText()))
    widget.backbone.setCurrentText(values["backbone"])
    widget.input_size.setValue(int(values["input_size"]))
    widget.epochs.setValue(int(values["epochs"]))
    return values


def field_count(widget) -> int | None:
    """How many images the dock would train on now (None: not known yet)."""
    if widget.source.currentIndex() == 1:  # each plane of a stack is an image
        return len(layer_images(widget.image_layers())) or None
    text = str(widget.manifest_edit.line_edit.value).strip()
    return _manifest_rows(text) if text else None


def gpu_advice(widget, n_fields: int, cpu_seconds: float) -> str:
    """What a CUDA GPU would take for this run; for a very long one, how to run it there."""
    backbone = widget.backbone.currentText().strip()
    gpu = estimate_training(n_fields, backbone, widget.input_size.value(),
                            widget.epochs.value(), device="cuda")
    on_gpu = f"on a CUDA GPU about {format_duration(gpu.seconds)} (a rough guess)"
    if cpu_seconds <= LONG_ON_CPU_S:
        return f"(O{on_gpu[1:]}.)"
    recipe = widget.recipe.currentText()
    setup = (f"--recipe {recipe}" if recipe != "custom" else
             f"--task {widget.task.currentText()} --backbone {backbone} "
             f"--input-size {widget.input_size.value()} --epochs {widget.epochs.value()}")
    return (f"Too long for this computer's CPU: {on_gpu}. Use a machine with a CUDA GPU: "
            f"msc-morph train MANIFEST {setup} --device cuda --out MODEL_DIR.")


def update_estimate(widget) -> str:
    """Refresh ``widget.estimate_label`` from the form; returns its text."""
    n = field_count(widget)
    pending = widget.device.currentText() == "auto" and not auto_device_known()
    device = _resolved_device(widget.device.currentText())
    estimate = estimate_training(n or ASSUMED_FIELDS, widget.backbone.currentText().strip(),
                                 widget.input_size.value(), widget.epochs.value(), device=device)
    images = f"{n} images" if n else f"assuming {ASSUMED_FIELDS} images"
    text = f"Estimated training time: {estimate.text()}; {images}."
    if pending:
        text += " (Looking for a GPU…)"
    elif device.startswith("cpu") and estimate.seconds > GPU_NOTE_S:
        text += " " + gpu_advice(widget, n or ASSUMED_FIELDS, estimate.seconds)
    widget.estimate_label.setText(text)
    return text


def install(widget, form) -> None:
    """Add the estimate row to ``form``, apply the machine defaults, keep the label current."""
    widget._device_relay = _DeviceRelay(widget)
    widget.estimate_label = QLabel(widget)
    widget.estimate_label.setWordWrap(True)
    widget.estimate_label.setToolTip(
        "From a per-image cost table measured on a CPU (benchmarks/train_cost_table.py), "
        "scaled by the input size; GPU times are a rough assumption. Reading images is "
        "not counted.")
    form.addRow(widget.estimate_label)
    apply_machine_defaults(widget)

    def refresh(*_args):
        try:
            update_estimate(widget)
        except RuntimeError:  # the dock's Qt side is gone (closed) before it was collected
            pass

    def found(device: str) -> None:
        _AUTO["device"] = device
        untouched = (widget.backbone.currentText(), widget.input_size.value(),
                     widget.epochs.value()) == tuple(CPU_DEFAULTS.values())
        if not device.startswith("cpu") and untouched and widget.recipe.currentText() == "custom":
            apply_machine_defaults(widget)  # a GPU: the published setup fits
        refresh()

    widget._device_relay.found.connect(found)
    _find_auto_device(widget._device_relay)

    for signal in (widget.backbone.currentTextChanged, widget.input_size.valueChanged,
                   widget.epochs.valueChanged, widget.device.currentTextChanged,
                   widget.source.currentIndexChanged, widget.manifest_edit.changed,
                   widget.recipe.currentTextChanged, widget.task.currentTextChanged):
        signal.connect(refresh)
    widget._layers_changed = watch_layer_list(widget.viewer, widget, refresh)
    refresh()
