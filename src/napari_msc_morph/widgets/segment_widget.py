"""The "Segment cells" dock: nuclei (and whole cells) into Labels layers.

Thin: the work is :func:`napari_msc_morph.morphology.segment_nuclei` and
:func:`~napari_msc_morph.morphology.segment_cells`, the same engine as
``msc-morph segment``, run in a :func:`napari.qt.threading.thread_worker` with
progress and Cancel. Results go to Labels layers named after the image
(``<image> nuclei``, ``<image> cells``) with the image's scale and translate;
running again replaces their data.
"""

from __future__ import annotations

import numpy as np
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QWidget,
)

from ..morphology import segment_cells, segment_nuclei
from ._panel import build_run_panel

NO_CYTOPLASM = "(none: nuclei only)"


def _cellpose_available() -> bool:
    from importlib.util import find_spec

    return find_spec("cellpose") is not None


class SegmentWidget(QWidget):
    """Segment nuclei from a DNA stain layer and optionally cells from a cytoplasm layer."""

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.worker = None
        self._cancelled = False
        self.nuclei_layer = None
        self.cells_layer = None

        self.nuclei_combo = QComboBox()
        self.cyto_combo = QComboBox()
        self.min_diameter = QDoubleSpinBox()
        self.max_diameter = QDoubleSpinBox()
        for box, value in ((self.min_diameter, 8.0), (self.max_diameter, 80.0)):
            box.setRange(1.0, 10000.0)
            box.setDecimals(1)
            box.setSuffix(" px")
            box.setValue(value)
        self.threshold = QComboBox()
        self.threshold.addItems(["otsu", "li"])
        self.threshold.setToolTip("Automatic nuclei threshold: Otsu or Li's minimum cross-entropy")
        self.exclude_border = QCheckBox("Drop objects touching the border")
        self.backend = QComboBox()
        self.backend.addItem("classic")
        if _cellpose_available():
            self.backend.addItem("cellpose")

        diameters = QHBoxLayout()
        diameters.addWidget(self.min_diameter)
        diameters.addWidget(QLabel("to"))
        diameters.addWidget(self.max_diameter)
        form = QFormLayout()
        form.addRow("Nuclei image", self.nuclei_combo)
        form.addRow("Cytoplasm image", self.cyto_combo)
        form.addRow("Nucleus diameter", diameters)
        form.addRow("Threshold", self.threshold)
        form.addRow("Backend", self.backend)
        form.addRow("", self.exclude_border)
        build_run_panel(self, form, "Segment").addStretch(1)

        events = self.viewer.layers.events
        for event in (events.inserted, events.removed, events.reordered):
            event.connect(self.refresh_layers)
        self.refresh_layers()

    def refresh_layers(self, event=None) -> None:
        from napari.layers import Image

        images = [layer.name for layer in self.viewer.layers if isinstance(layer, Image)]
        current_nuclei = self.nuclei_combo.currentText()
        current_cyto = self.cyto_combo.currentText()
        self.nuclei_combo.clear()
        self.nuclei_combo.addItems(images)
        if current_nuclei in images:
            self.nuclei_combo.setCurrentText(current_nuclei)
        else:  # a DAPI/Hoechst-looking layer first
            for name in images:
                if any(key in name.lower() for key in ("dapi", "hoechst", "dna", "nucle")):
                    self.nuclei_combo.setCurrentText(name)
                    break
        self.cyto_combo.clear()
        self.cyto_combo.addItems([NO_CYTOPLASM, *images])
        if current_cyto in images:
            self.cyto_combo.setCurrentText(current_cyto)

    def _plane(self, name: str, role: str) -> tuple[object, np.ndarray]:
        if not name or name not in self.viewer.layers:
            raise ValueError(f"Choose a {role} image layer (open an image first).")
        layer = self.viewer.layers[name]
        if getattr(layer, "rgb", False):
            raise ValueError(
                f"{role.capitalize()} layer “{name}” is RGB; split it (right-click > Split RGB) "
                "and choose the single channel."
            )
        data = np.asarray(layer.data)
        if data.ndim > 2:
            # The plane on screen: napari's current step on the leading axes.
            step = self.viewer.dims.current_step[-data.ndim:][: data.ndim - 2]
            data = data[tuple(min(s, n - 1) for s, n in zip(step, data.shape))]
        return layer, data

    def run(self) -> None:
        from napari.qt.threading import create_worker
        from napari.utils.notifications import show_error

        try:
            nuclei_layer, dapi = self._plane(self.nuclei_combo.currentText(), "nuclei")
            cyto = None
            cyto_name = self.cyto_combo.currentText()
            if cyto_name and cyto_name != NO_CYTOPLASM:
                _, cyto = self._plane(cyto_name, "cytoplasm")
                if cyto.shape != dapi.shape:
                    raise ValueError(
                        f"Cytoplasm layer “{cyto_name}” has shape {cyto.shape} but nuclei layer "
                        f"“{nuclei_layer.name}” has {dapi.shape}; choose images of the same field."
                    )
            low, high = self.min_diameter.value(), self.max_diameter.value()
            if low > high:
                raise ValueError("The smallest nucleus diameter is larger than the largest; swap them.")
        except ValueError as err:
            show_error(str(err))
            self.status.setText(str(err))
            return
        options = dict(
            threshold_method=self.threshold.currentText(),
            exclude_border=self.exclude_border.isChecked(),
            backend=self.backend.currentText(),
        )
        exclude = self.exclude_border.isChecked()

        def work():
            yield 0, "nuclei"
            nuclei = segment_nuclei(dapi, (low, high), **options)
            cells = None
            if cyto is not None:
                yield 1, "cells"
                cells = segment_cells(cyto, nuclei, exclude_border=exclude)
                if exclude:
                    nuclei = np.where(np.isin(nuclei, np.unique(cells)), nuclei, 0).astype(np.int32)
            yield 2, "done"
            return nuclei, cells

        self.worker = create_worker(work, _start_thread=False)
        self.worker.yielded.connect(self._on_progress)
        self.worker.returned.connect(lambda result: self._on_done(nuclei_layer, *result))
        self.worker.errored.connect(self._on_error)
        self.worker.finished.connect(self._on_finished)
        self._cancelled = False
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 2 if cyto is not None else 1)
        self.progress.setValue(0)
        self.status.setText(f"Segmenting “{nuclei_layer.name}”…")
        self.worker.start()

    def cancel(self) -> None:
        if self.worker is not None and self.cancel_button.isEnabled():
            self._cancelled = True
            self.worker.quit()
            self.status.setText("Cancelled.")

    def _on_progress(self, step) -> None:
        if self._cancelled:
            return
        done, message = step
        self.progress.setValue(min(done, self.progress.maximum()))
        self.status.setText(f"Segmenting: {message}…")

    def _on_error(self, err) -> None:
        from napari.utils.notifications import show_error

        show_error(f"Segment cells: {err}")
        self.status.setText(str(err))

    def _on_finished(self) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if self._cancelled:
            self.status.setText("Cancelled.")

    def _labels_layer(self, name: str, data: np.ndarray, source):
        scale = tuple(source.scale[-2:])
        translate = tuple(source.translate[-2:])
        if name in self.viewer.layers:
            layer = self.viewer.layers[name]
            if layer.data.shape == data.shape:
                layer.data = data
                return layer
            self.viewer.layers.remove(layer)
        layer = self.viewer.add_labels(data, name=name, scale=scale, translate=translate)
        size = (getattr(source, "metadata", None) or {}).get("pixel_size_um")
        if size:
            layer.metadata["pixel_size_um"] = size
        return layer

    def _on_done(self, source, nuclei, cells) -> None:
        self.nuclei_layer = self._labels_layer(f"{source.name} nuclei", nuclei, source)
        message = f"{int(nuclei.max())} nuclei"
        if cells is not None:
            self.cells_layer = self._labels_layer(f"{source.name} cells", cells, source)
            message += f", {len(np.unique(cells)) - 1} cells"
        self.status.setText(message + ".")
