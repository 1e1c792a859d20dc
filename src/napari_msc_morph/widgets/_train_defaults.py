"""The Train dock's machine-fitting defaults and its "estimated time" line.

Kept out of ``train_widget.py`` (which stays the form and the run): on a
machine without a GPU the dock starts with a small backbone, 224-px inputs and
10 epochs (:data:`~napari_msc_morph.training.estimate.CPU_DEFAULTS`); with a
GPU it starts with the published recipe's values for the task. A label under
the form shows :func:`~napari_msc_morph.training.estimate.estimate_training`
for the current fields and images and is updated whenever one of them changes.
"""

from __future__ import annotations

from pathlib import Path

from qtpy.QtWidgets import QLabel

from ..training.estimate import estimate_training, machine_defaults

#: Images assumed when none are chosen yet (the label says so).
ASSUMED_FIELDS = 100


def _resolved_device(text: str) -> str:
    from ..errors import BadInputError
    from ..models.backbones import resolve_device

    try:
        return resolve_device(text)
    except BadInputError:  # a half-typed device name
        return "cpu"


def _manifest_rows(path_text: str, cache: dict) -> int | None:
    """Rows of a manifest file (cached by path and modification time); None if unreadable."""
    path = Path(path_text)
    try:
        key = (str(path), path.stat().st_mtime)
    except OSError:
        return None
    if key not in cache:
        from ..io import read_table

        try:
            cache.clear()
            cache[key] = len(read_table(path))
        except Exception:  # a half-typed or foreign file: no count, no error while typing
            return None
    return cache[key]


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
    if widget.source.currentIndex() == 1:
        return len(widget.image_layers()) or None
    text = str(widget.manifest_edit.line_edit.value).strip()
    return _manifest_rows(text, widget._manifest_row_cache) if text else None


def update_estimate(widget) -> str:
    """Refresh ``widget.estimate_label`` from the form; returns its text."""
    n = field_count(widget)
    device = _resolved_device(widget.device.currentText())
    estimate = estimate_training(n or ASSUMED_FIELDS, widget.backbone.currentText().strip(),
                                 widget.input_size.value(), widget.epochs.value(), device=device)
    images = f"{n} images" if n else f"assuming {ASSUMED_FIELDS} images"
    text = f"Estimated training time: {estimate.text()}; {images}."
    widget.estimate_label.setText(text)
    return text


def install(widget, form) -> None:
    """Add the estimate row to ``form``, apply the machine defaults, keep the label current."""
    widget._manifest_row_cache = {}
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

    for signal in (widget.backbone.currentTextChanged, widget.input_size.valueChanged,
                   widget.epochs.valueChanged, widget.device.currentTextChanged,
                   widget.source.currentIndexChanged, widget.manifest_edit.changed):
        signal.connect(refresh)
    layers = widget.viewer.layers.events
    layers.inserted.connect(refresh)
    layers.removed.connect(refresh)
    widget.destroyed.connect(lambda *_: _disconnect(layers, refresh))
    refresh()


def _disconnect(layer_events, callback) -> None:
    for name in ("inserted", "removed"):
        try:
            getattr(layer_events, name).disconnect(callback)
        except (AttributeError, RuntimeError, TypeError, ValueError):
            pass  # the viewer closed first and took its events with it
