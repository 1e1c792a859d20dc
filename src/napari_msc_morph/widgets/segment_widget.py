"""The "Segment cells" dock: nuclei (and whole cells) into Labels layers.

Runs :func:`napari_msc_morph.morphology.segment_field` (as ``msc-morph segment``); the
labels are ``<image> nuclei`` / ``<image> cells`` on the image's scale, replaced on a rerun.
"""

from __future__ import annotations

import numpy as np
from qtpy.QtWidgets import QCheckBox, QDoubleSpinBox, QFormLayout, QLabel

from ..channels import signal_colour
from ..errors import BadInputError, MscMorphError
from ..morphology import (
    THRESHOLD_METHODS,
    check_segment_inputs,
    segment_field,
)
from ..morphology.segment import missing_backends_note, nuclear_threshold, signal_sample
from ._backend_row import backend_row
from ._channels import (
    RGB_COLOURS,
    SEGMENTED_COLOUR_KEY,
    SEGMENTED_FROM_KEY,
    image_family,
    named_like,
    signal_spread,
)
from ._combo import LayerComboBox
from ._layers import current_plane, image_layers, is_in_memory
from ._panel import JobDock, hbox, watch_layer_list
from ._table_view import combo

NO_CYTOPLASM = "(none: nuclei only)"
#: Threshold scopes of the dock: the plane on screen alone, or one threshold for every
#: plane of the stack (as ``msc-morph segment --threshold-scope study``).
SCOPE_PLANE = "this plane"
SCOPE_STACK = "whole stack (one threshold)"
_NUCLEAR_STAIN_NAMES = ("dapi", "hoechst", "dna", "nucle")
# cytoplasm / cell-body stains: an open one is used for whole cells unless the user
# picked something else in the dock
_CELL_STAIN_NAMES = ("actin", "phalloidin", "cyto", "tubulin", "cellmask", "cell mask", "body")


class SegmentWidget(JobDock):
    """Segment nuclei from a DNA stain layer and optionally cells from a cytoplasm layer."""

    job_title = "Segment cells"
    not_remembered = ("nuclei_combo", "cyto_combo")  # they follow the open images
    warm_up = (*JobDock.warm_up, "napari_msc_morph.widgets._warm:labels_layers")

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.nuclei_layer = None
        self.cells_layer = None

        self.nuclei_combo = LayerComboBox()
        self.cyto_combo = LayerComboBox()
        self._refreshing = False
        self._notes: list[str] = []  # RGB layers: which colour was used (status line)
        self._colours: dict[str, int] = {}
        self._known_images: set[str] = set()
        self._nuclei_picked: str | None = None  # chosen here: kept while the layer exists
        self._cyto_picked = False  # set once the user chooses in the combo box
        self.cyto_combo.activated.connect(lambda _: setattr(self, "_cyto_picked", True))
        self.nuclei_combo.currentTextChanged.connect(self._on_nuclei_changed)
        self.auto_diameter = QCheckBox("estimate from the image")
        self.auto_diameter.setChecked(True)
        self.auto_diameter.setToolTip(
            "On by default: the nucleus size is taken from the layer's pixel size (4-40 µm) or "
            "estimated from the image; the status line says which. Typing a range turns it off.")
        self.min_diameter = QDoubleSpinBox()
        self.max_diameter = QDoubleSpinBox()
        for box, value in ((self.min_diameter, 8.0), (self.max_diameter, 80.0)):
            box.setRange(1.0, 10000.0)
            box.setDecimals(1)
            box.setSuffix(" px")
            box.setValue(value)
            box.valueChanged.connect(lambda _: self.auto_diameter.setChecked(False))
        self.scope = combo(
            self, [SCOPE_PLANE, SCOPE_STACK],
            "Whole stack: one nuclear threshold fitted on every plane of the layer, so "
            "differences in nuclear size between planes (fields, time points) are not "
            "artefacts of each plane's own threshold.")
        self.threshold = combo(self, THRESHOLD_METHODS.names(), "\n".join(
            f"{name}: {THRESHOLD_METHODS.help(name)}" for name in THRESHOLD_METHODS))
        self.exclude_border = QCheckBox("Drop cells cut by the edge")
        self.exclude_border.setChecked(True)  # cut-off objects bias size statistics low
        self.exclude_border.setToolTip(
            "On by default: a nucleus or cell cut by the image edge looks smaller and less round "
            "than it is. The status line says how many were dropped.")
        backends, self.backend, self.device = backend_row(
            "How nuclei and cells are found: 'classic' (threshold and watershed, no download, "
            "measured at F1 0.91 on the BBBC039 nuclei) or 'cellpose' (a learned model for "
            "nuclei and whole cells, on the Device you choose; it downloads its weights "
            "once, when installed).")
        # a backend this install lacks: say which extra adds it rather than hide it silently
        self.backend_note = QLabel(missing_backends_note())
        self.backend_note.setWordWrap(True)
        self.backend_note.setVisible(bool(self.backend_note.text()))
        self.nuclei_combo.setToolTip(
            "The image with the DNA stain (DAPI, Hoechst). After Split RGB, the channel with "
            "signal is chosen for you; an image without signal is refused.")
        self.cyto_combo.setToolTip(
            "Optional: a cytoplasm or actin stain (e.g. phalloidin). Whole cells are grown from "
            "the nuclei over it; leave at 'none' for nuclei only.")
        for box, end in ((self.min_diameter, "smallest"), (self.max_diameter, "largest")):
            box.setToolTip(f"The {end} nucleus diameter to keep, in pixels. Typing a value turns "
                           "'estimate from the image' off; objects outside the range are dropped.")

        form = QFormLayout()
        form.addRow("Nuclei image", self.nuclei_combo)
        form.addRow("Cytoplasm image", self.cyto_combo)
        # "estimate" on its own row: beside two spin boxes it squeezed them to "80.0 p"
        form.addRow("Nucleus diameter", self.auto_diameter)
        form.addRow("", hbox(self.min_diameter, QLabel("to"), self.max_diameter))
        form.addRow("Threshold", self.threshold)
        form.addRow("Threshold scope", self.scope)
        form.addRow("Backend", backends)
        form.addRow("", self.backend_note)
        form.addRow("", self.exclude_border)
        self.build_run_panel(form, "Segment").addStretch(1)
        self.run_button.setToolTip("Find the nuclei (and cells) in the chosen image; they are "
                                   "added as Labels layers named after it")
        self.cancel_button.setToolTip("Stop segmenting; no layer is added")

        # once per event-loop turn, however many layers were added or removed at once
        self._layers_changed = watch_layer_list(self.viewer, self, self.refresh_layers)
        self.refresh_layers()

    def refresh_layers(self) -> None:
        """Re-list the image layers: the nuclei image is the user's choice while it exists,
        else a newly opened DNA stain (or split image), else the current one."""
        layers = image_layers(self.viewer)
        images = [layer.name for layer in layers]
        current_nuclei = self.nuclei_combo.currentText()
        current_cyto = self.cyto_combo.currentText()
        new = [layer for layer in layers if layer.name not in self._known_images
               and not layer.metadata.get("msc_morph_score_map")]  # not our own maps
        self._known_images = set(images)
        if self._nuclei_picked not in images:
            self._nuclei_picked = None
        # follow a newly opened DNA stain, or the channels of a newly split/opened image
        follow = (named_like([layer.name for layer in new], _NUCLEAR_STAIN_NAMES)
                  or [layer.name for layer in new if image_family(layer, layers)])
        choice = self._nuclei_picked
        if choice is None and follow:
            choice = self._nuclear_choice(follow)
        if choice is None and current_nuclei in images:
            choice = current_nuclei
        if choice is None:  # a DAPI/Hoechst-looking layer first, else the one with signal
            choice = self._nuclear_choice(images)
        self._refreshing = True
        try:
            self.nuclei_combo.clear()
            self.nuclei_combo.addItems(images)
            if choice is not None:
                self.nuclei_combo.setCurrentText(choice)
            self.cyto_combo.clear()
            self.cyto_combo.addItems([NO_CYTOPLASM, *images])
        finally:
            self._refreshing = False
        if current_cyto in images:
            self.cyto_combo.setCurrentText(current_cyto)
        elif not self._cyto_picked:
            stains = [n for n in named_like(images, _CELL_STAIN_NAMES)
                      if n != self.nuclei_combo.currentText()]
            if stains:
                self.cyto_combo.setCurrentText(stains[0])

    def _on_nuclei_changed(self, name: str) -> None:
        if not self._refreshing and name:
            self._nuclei_picked = name

    def _nuclear_choice(self, names: list[str]) -> str | None:
        """A DAPI/Hoechst-looking layer first, else the one with signal (a split RGB export
        keeps its name on all three channels: the one with signal)."""
        named = named_like(names, _NUCLEAR_STAIN_NAMES)
        return self._most_signal(named or names) or (named[0] if named else None)

    def _most_signal(self, names: list[str]) -> str | None:
        """The in-memory layer with the widest spread of values: after Split RGB of a DAPI
        export, the blue channel, not the empty red one listed first."""
        layers = [self.viewer.layers[name] for name in names]
        spread = {layer.name: signal_spread(layer) for layer in layers
                  if np.ndim(layer.data) in (2, 3) and signal_spread(layer) is not None}
        return max(spread, key=spread.get) if spread and max(spread.values()) > 0 else None

    # ----------------------------------------------------------------- inputs
    def _plane(self, name: str, role: str):
        if not name or name not in self.viewer.layers:
            raise BadInputError(f"Choose a {role} image layer (open an image first).")
        layer = self.viewer.layers[name]
        plane = current_plane(self.viewer, layer)
        if getattr(layer, "rgb", False):
            # a microscope's RGB export of one stain: no manual Split RGB, the colour with
            # signal is used (as `msc-morph study` does) and the status line says which
            plane = np.asarray(plane)
            colour = signal_colour(plane)
            self._colours[role] = colour
            self._notes.append(f"{role} from the {('red', 'green', 'blue')[colour]} channel "
                               f"of RGB layer “{name}” (the one with signal)")
            plane = plane[..., colour]
        return layer, plane

    def _input_state(self) -> tuple[object, dict]:
        """The nuclei layer, and everything :func:`segment_field` needs from the dock."""
        self._layers_changed.flush()  # layers added or removed just now count
        self._notes, self._colours = [], {}
        nuclei_layer, nuclei_image = self._plane(self.nuclei_combo.currentText(), "nuclei")
        names = {"nuclei": f"Nuclei layer “{nuclei_layer.name}”"}
        cyto_image = None
        cyto_name = self.cyto_combo.currentText()
        if cyto_name and cyto_name != NO_CYTOPLASM:
            _, cyto_image = self._plane(cyto_name, "cytoplasm")
            names["cytoplasm"] = f"Cytoplasm layer “{cyto_name}”"
        pixel_size = (getattr(nuclei_layer, "metadata", None) or {}).get("pixel_size_um")
        return nuclei_layer, dict(
            nuclei_image=nuclei_image,
            cyto_image=cyto_image,
            diameter=(None if self.auto_diameter.isChecked()
                      else (self.min_diameter.value(), self.max_diameter.value())),
            pixel_size_um=float(pixel_size) if pixel_size else None,
            threshold_method=self.threshold.currentText(),
            exclude_border=self.exclude_border.isChecked(),
            backend=self.backend.currentText(),
            device=self.device.currentText(),
            input_names=names,
        )

    # -------------------------------------------------------------------- run
    def run(self):
        """Segment in a worker; the layers arrive in :meth:`_on_done`."""
        try:
            source, state = self._input_state()
            # a bad input is reported before any work starts; a lazy (dask/zarr) plane is
            # checked by segment_field in the worker instead: reading it here would freeze
            # the viewer
            if all(is_in_memory(state[k]) for k in ("nuclei_image", "cyto_image")
                   if state[k] is not None):
                check_segment_inputs(**state)
        except MscMorphError as err:
            self.report_error(err)
            return None
        stack = None
        if self.scope.currentText() == SCOPE_STACK:
            stack = source.data[0] if getattr(source, "multiscale", False) else source.data
            if "nuclei" in self._colours:  # an RGB stack: the same colour on every plane
                stack = stack[..., self._colours["nuclei"]]
        notes = list(self._notes)

        def job(progress, cancel):
            threshold = None if stack is None else _stack_threshold(stack, state)
            return segment_field(**state, threshold=threshold, progress=progress, cancel=cancel)

        return self.start_job(
            job,
            lambda result: self._on_done(source, result, notes),
            status=f"Segmenting “{source.name}”…",
        )

    def _labels_layer(self, name: str, data: np.ndarray, source):
        scale = tuple(source.scale[-2:])
        translate = tuple(source.translate[-2:])
        layer = self.viewer.layers[name] if name in self.viewer.layers else None
        if layer is not None and layer.data.shape == data.shape:
            layer.data = data
        else:
            if layer is not None:
                self.viewer.layers.remove(layer)
            layer = self.viewer.add_labels(data, name=name, scale=scale, translate=translate)
            size = (getattr(source, "metadata", None) or {}).get("pixel_size_um")
            if size:
                layer.metadata["pixel_size_um"] = size
        # which image these labels are of: the Measure dock ticks that image's channels
        layer.metadata[SEGMENTED_FROM_KEY] = source.name
        colour = self._colours.get("nuclei")  # of an RGB layer: found again after Split RGB
        layer.metadata[SEGMENTED_COLOUR_KEY] = None if colour is None else RGB_COLOURS[colour]
        return layer

    def _on_done(self, source, result, notes=()):
        """Add the Labels layers, one per event-loop turn (a generator: see JobDock)."""
        self.nuclei_layer = self._labels_layer(f"{source.name} nuclei", result.nuclei, source)
        if result.cells is not None:
            yield
            self.cells_layer = self._labels_layer(f"{source.name} cells", result.cells, source)
        for layer in (self.nuclei_layer, self.cells_layer):
            if layer is not None:  # for the Measure dock's summary column n_border_excluded
                layer.metadata["n_border_excluded"] = result.n_border_excluded
        self.status.setText("; ".join([result.summary(), *notes]) + ".")


def _stack_threshold(stack, state: dict) -> float | None:
    """One nuclear threshold for every 2D plane of ``stack`` (read here, in the worker);
    ``None`` for a single plane, which keeps its own."""
    if stack.ndim <= 2:
        return None
    planes = np.asarray(stack).reshape(-1, *stack.shape[-2:])
    samples = [signal_sample(plane, state["diameter"], state["pixel_size_um"]) for plane in planes]
    return nuclear_threshold(samples, state["threshold_method"])
