"""The "Measure cells" dock: per-cell size, shape and marker intensities.

Runs :func:`napari_msc_morph.morphology.measure_field` (as ``msc-morph measure``) and puts
the table into ``labels_layer.features``, a linked cell-table dock and one results-table
row per layer (or plane). It watches the measured labels: once their pixels change (paint,
fill, "Fix labels"), it says the numbers are out of date and can measure again by itself.
"""

from __future__ import annotations

import zlib

import numpy as np
from qtpy.QtCore import QSignalBlocker, Qt, QTimer
from qtpy.QtWidgets import QCheckBox, QDoubleSpinBox, QFormLayout

from ..errors import BadInputError, MscMorphError
from ..morphology import check_measure_inputs, measure_field
from ._channel_list import ChannelList
from ._channels import (
    MARKER_KEY,
    cells_first,
    check_marker_name,
    default_channels,
    dna_channel,
    image_family,
    marker_names,
    named_like,
    source_image,
)
from ._combo import LayerComboBox
from ._layers import is_in_memory, layer_pixel_size
from ._panel import JobDock, watch_layer_list

NO_NUCLEI = "(none)"
CELL_TABLE_DOCK = "Cell table (MSC Morph)"
#: Wait this long after the last edit event before comparing the labels (ms): a brush
#: stroke sends many events, and one re-measure per stroke is enough.
EDIT_SETTLE_MS = 600
#: Labels events that may mean the pixels changed (brush, fill, data_setitem; a whole
#: new array; undo/redo, which napari reports as ``set_data`` only).
EDIT_EVENTS = ("paint", "data", "set_data")


class MeasureWidget(JobDock):
    """Measure the objects of a Labels layer, with image layers as channels."""

    job_title = "Measure cells"
    # these follow the layers (the newest segmentation, its image's channels)
    not_remembered = ("pixel_size", "labels_combo", "nuclei_combo")
    warm_up = (*JobDock.warm_up, "napari_msc_morph.widgets._cell_table",
               "napari_msc_morph.widgets._warm:labels_layers")

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.last_table = None
        self.last_summary = None
        self._cell_table = None
        self._watched = []  # [(labels layer, fingerprint of the pixels measured)], nuclei 2nd
        # the user's choices, kept while they stay valid (see refresh_layers)
        self._refreshing = False
        self._known_labels: set[str] = set()
        self._labels_picked: str | None = None
        self._nuclei_picked: dict[str, str] = {}  # labels layer -> its nuclei layer
        self._ticks: dict[object, dict[str, bool]] = {}  # labels' image -> {layer: ticked}
        self.edited = False
        self._edit_timer = QTimer(self)
        self._edit_timer.setSingleShot(True)
        self._edit_timer.setInterval(EDIT_SETTLE_MS)
        self._edit_timer.timeout.connect(self.check_edits)

        self.labels_combo = LayerComboBox()
        self.labels_combo.setToolTip(
            "The objects to measure: a Labels layer (each cell or nucleus its own number), "
            "e.g. the “cells” or “nuclei” layer made by Segment cells. It follows the "
            "newest segmentation until you choose a layer here"
        )
        self.nuclei_combo = LayerComboBox()
        self.nuclei_combo.setToolTip(
            "When measuring whole cells: the nuclei labels of the same field, to add each "
            "cell's nucleus size, the nucleus/cytoplasm ratio and nuclear marker levels"
        )
        self.channel_list = ChannelList()
        self.channel_list.setToolTip(
            "Tick the images whose brightness is measured in every cell (e.g. RUNX2, "
            "Ki67). Ticked for you: the channels of the image the labels were segmented "
            "from, never an empty one. Each shows its columns' name after the arrow: the "
            "marker, DNA for the segmented stain, or the colour of a split RGB image"
        )
        self.channel_list.setMaximumHeight(120)
        self.channel_list.itemChanged.connect(self._on_tick)
        self.channel_list.marker_named.connect(self.name_marker)
        self.pixel_size = QDoubleSpinBox()
        self.pixel_size.setDecimals(4)
        self.pixel_size.setRange(0.0, 1000.0)
        self.pixel_size.setSingleStep(0.01)
        self.pixel_size.setSpecialValueText("unknown (pixels only)")
        self.pixel_size.setSuffix(" µm")
        self.pixel_size.setToolTip(
            "Width of one pixel in micrometres, read from the file (the layer's scale); "
            "correct it if wrong. Without it sizes are in pixels only"
        )
        self.auto_remeasure = QCheckBox("Measure again after edits")
        self.auto_remeasure.setToolTip(
            "After you paint, erase, fill, merge or split labels of the measured layer, "
            "measure it again by itself so the cell table and results follow the edits"
        )
        self.labels_combo.currentTextChanged.connect(self._on_labels_changed)
        self.nuclei_combo.currentTextChanged.connect(self._on_nuclei_changed)

        form = QFormLayout()
        form.addRow("Labels", self.labels_combo)
        form.addRow("Nuclei (optional)", self.nuclei_combo)
        form.addRow("Channels", self.channel_list)
        form.addRow("Marker name", self.channel_list.marker_edit)
        form.addRow("Pixel size", self.pixel_size)
        form.addRow("", self.auto_remeasure)
        self.build_run_panel(form, "Measure").addStretch(1)
        self.run_button.setToolTip("Measure size, shape and marker levels of every object "
                                   "in the chosen labels (fills the cell and results tables)")
        self.cancel_button.setToolTip("Stop the measurement; nothing is changed")

        # once per event-loop turn, however many layers were added or removed at once
        self._layers_changed = watch_layer_list(self.viewer, self, self.refresh_layers)
        self.refresh_layers()

    # ---------------------------------------------------------------- layers
    def _layers(self, kind: str):
        from napari.layers import Image, Labels

        cls = Labels if kind == "labels" else Image
        return [layer for layer in self.viewer.layers if isinstance(layer, cls)]

    def refresh_layers(self) -> None:
        """Re-list the layers: labels are the user's choice while it exists, else the
        newest segmentation (cells before nuclei), else the current one."""
        labels = self._layers("labels")
        images = self._layers("image")
        label_names = [layer.name for layer in labels]
        candidates = label_names + [layer.name for layer in images]
        # a Labels layer added since the last refresh: a segmentation to follow (an empty
        # one is a canvas to paint on, not a result)
        new = [layer.name for layer in labels if layer.name not in self._known_labels
               and not (is_in_memory(layer.data) and not np.any(layer.data))]
        self._known_labels = set(label_names)
        if self._labels_picked not in candidates:
            self._labels_picked = None
        current = self.labels_combo.currentText()
        if self._labels_picked is not None:
            choice = self._labels_picked
        elif new:
            choice = cells_first(new)
        elif current in candidates:
            choice = current
        else:
            choice = cells_first(label_names) or (candidates[0] if candidates else "")
        for ticks in self._ticks.values():  # ticks of removed layers are forgotten
            for name in [n for n in ticks if n not in candidates]:
                del ticks[name]
        self._refreshing = True
        try:
            with QSignalBlocker(self.labels_combo):  # the pixel size follows a new choice only
                self.labels_combo.clear()
                self.labels_combo.addItems(candidates)
                self.labels_combo.setCurrentText(choice)
            if choice != current:
                self._on_labels_changed(choice)
            self.nuclei_combo.clear()
            self.nuclei_combo.addItems([NO_NUCLEI, *label_names])
            self.channel_list.set_layers([layer.name for layer in images])
        finally:
            self._refreshing = False
        self._follow_labels()

    def _follow_labels(self) -> None:
        """Set the nuclei, markers and channels for the chosen labels."""
        self._refreshing = True
        try:
            self.nuclei_combo.setCurrentText(self._nuclei_for(self.labels_combo.currentText()))
            markers = self.markers()
            self.channel_list.set_markers(markers)
            self._tick_channels(markers)
        finally:
            self._refreshing = False

    def markers(self) -> dict[str, str]:
        """Each image layer's column prefix (:func:`~._channels.marker_names`)."""
        layers = self.viewer.layers
        chosen = [layers[name] if name in layers else None
                  for name in (self.labels_combo.currentText(), self.nuclei_combo.currentText())]
        images = self._layers("image")
        return marker_names(images, dna_channel(*chosen, images))

    def name_marker(self, layer_name: str, marker: str) -> None:
        """Name the marker (column prefix) of channel ``layer_name`` in its metadata."""
        try:
            prefix = check_marker_name(layer_name, marker, self.viewer.layers)
            self.viewer.layers[layer_name].metadata[MARKER_KEY] = marker.strip()
            self.status.setText(f"Channel “{layer_name}” is measured as {prefix} "
                                f"({prefix}_mean, …).")
        except BadInputError as err:
            self.report_error(err)
        self.channel_list.set_markers(self.markers())

    def _nuclei_for(self, name: str) -> str:
        """The user's nuclei for labels ``name``, else the same image's nuclei for cells."""
        labels = {layer.name: layer for layer in self._layers("labels")}
        picked = self._nuclei_picked.get(name)
        if picked == NO_NUCLEI or picked in labels:
            return picked
        if name not in labels or not named_like([name], ("cell",)):
            return NO_NUCLEI
        nuclei = [labels[n] for n in named_like(labels, ("nuclei", "nucleus")) if n != name]
        images = self._layers("image")
        source = source_image(labels[name], images)
        same = [layer for layer in nuclei
                if source is not None and source_image(layer, images) is source]
        chosen = same or nuclei
        return chosen[-1].name if chosen else NO_NUCLEI

    def _tick_key(self):
        """Ticks are the user's for one image: the labels' image, or ``None`` if unknown."""
        name = self.labels_combo.currentText()
        if name not in self.viewer.layers:
            return None
        images = self._layers("image")
        source = source_image(self.viewer.layers[name], images)
        if source is None:
            return None
        return image_family(source, images) or ("image", source.name)

    def _tick_channels(self, markers: dict[str, str]) -> None:
        """Tick the user's own choices for this image, else :func:`default_channels`."""
        name = self.labels_combo.currentText()
        images = self._layers("image")
        defaults = set()
        if name in self.viewer.layers and not getattr(self.viewer.layers[name], "rgb", False):
            defaults = set(default_channels(self.viewer.layers[name], images,
                                            lambda layer: markers[layer.name]))
        own = self._ticks.get(self._tick_key(), {})
        for item in self.channel_list.items():
            _tick(item, own.get(item.text(), item.text() in defaults))

    def _on_tick(self, item) -> None:
        if not self._refreshing:
            ticked = item.checkState() == Qt.CheckState.Checked
            self._ticks.setdefault(self._tick_key(), {})[item.text()] = ticked

    def _on_nuclei_changed(self, name: str) -> None:
        if not self._refreshing and name:
            self._nuclei_picked[self.labels_combo.currentText()] = name
            self.channel_list.set_markers(self.markers())  # its source is the DNA channel

    def _on_labels_changed(self, name: str) -> None:
        if name and name in self.viewer.layers:
            size = layer_pixel_size(self.viewer.layers[name])
            self.pixel_size.setValue(size or 0.0)
        if not self._refreshing and name:
            self._labels_picked = name  # chosen here: kept while the layer exists
            self._follow_labels()

    def set_channels(self, names) -> None:
        """Check exactly the image layers called ``names`` as channels."""
        self._layers_changed.flush()
        names = set(names)
        for item in self.channel_list.items():
            _tick(item, item.text() in names)

    def selected_channels(self) -> list[str]:
        self._layers_changed.flush()
        return self.channel_list.checked()

    # ----------------------------------------------------------------- inputs
    def _input_state(self) -> tuple[object, dict]:
        """The labels layer and :func:`measure_field`'s arrays (shapes and dtypes are
        the engine's checks)."""
        self._layers_changed.flush()  # layers added or removed just now count
        name = self.labels_combo.currentText()
        if not name or name not in self.viewer.layers:
            raise BadInputError(
                "Choose a Labels layer to measure (segment one with “Segment cells” first)."
            )
        layer = self.viewer.layers[name]
        if getattr(layer, "rgb", False):
            raise BadInputError(
                f"Layer “{name}” is an RGB image, not labels: segment it first (Segment cells) "
                "and measure the Labels layer it makes."
            )
        names = {"labels": f"Layer “{name}”"}
        nuclei = None
        nuclei_name = self.nuclei_combo.currentText()
        if nuclei_name and nuclei_name != NO_NUCLEI and nuclei_name in self.viewer.layers:
            nuclei = _plane_data(self.viewer.layers[nuclei_name])
            names["nuclei"] = f"Nuclei layer “{nuclei_name}”"
        channels, markers, layer_of = {}, self.markers(), {}
        for channel in self.selected_channels():
            image_layer = self.viewer.layers[channel]
            if getattr(image_layer, "rgb", False):
                raise BadInputError(
                    f"Channel layer “{channel}” is RGB; split it (right-click > Split RGB) and "
                    "choose single channels."
                )
            key = markers[channel]
            if key in channels:
                raise BadInputError(
                    f"Channel layers “{layer_of[key]}” and “{channel}” both hold the marker "
                    f"“{key}” (their columns' name): untick one, or double-click one and type "
                    "its own marker name under the list."
                )
            channels[key], layer_of[key] = _plane_data(image_layer), channel
            names[key] = f"Channel layer “{channel}”"
        size = self.pixel_size.value() or None
        from_layer = layer_pixel_size(layer)
        source = ("layer" if size is not None and from_layer is not None
                  and abs(size - from_layer) <= 1e-9 * max(size, 1.0) else "user")
        state = dict(labels=_plane_data(layer), channels=channels, nuclei=nuclei,
                     pixel_size_um=size, input_names=names, pixel_size_source=source)
        return layer, state

    # -------------------------------------------------------------------- run
    def run(self):
        """Measure in a worker; the table arrives in :meth:`_on_done`."""
        from napari.utils.notifications import show_warning

        try:
            layer, state = self._input_state()
            # a bad input is reported before any work starts; lazy (dask/zarr) layers are
            # checked in the worker instead: reading them here would freeze the viewer
            lazy = not all(is_in_memory(a) for a in (state["labels"], state["nuclei"],
                                                       *state["channels"].values())
                           if a is not None)
            if not lazy:
                _check_inputs(layer.name, state)
        except MscMorphError as err:
            self.report_error(err)
            return None
        if state["pixel_size_um"] is None:
            show_warning(
                f"No pixel size for “{layer.name}”: the table has pixel units only. "
                "Enter the pixel size (µm) to get µm and µm² columns."
            )
        # set by the Segment dock on the layers it makes (None: border objects were kept)
        excluded = layer.metadata.get("n_border_excluded")
        settings = {"pixel_size_um": state["pixel_size_um"],  # kept with exported tables
                    "pixel_size_source": state["pixel_size_source"],
                    "inputs": dict(state["input_names"]), "n_border_excluded": excluded}
        name = layer.name
        watched = [layer]
        if "nuclei" in state["input_names"]:
            watched.append(self.viewer.layers[self.nuclei_combo.currentText()])
        measured = [(each, _fingerprint(each.data)) for each in watched]  # what the table shows

        def job(progress, cancel):
            if lazy:  # read each lazy layer once, here in the worker
                state.update(labels=np.asarray(state["labels"]),
                             channels={k: np.asarray(v) for k, v in state["channels"].items()},
                             nuclei=None if state["nuclei"] is None else np.asarray(state["nuclei"]))
                _check_inputs(name, state)
            return measure_field(**state, n_border_excluded=excluded, progress=progress,
                                 cancel=cancel)

        return self.start_job(
            job,
            lambda result: self._on_done(layer, result, settings, measured),
            status=f"Measuring “{layer.name}”…",
        )

    def _on_done(self, layer, result, settings, measured):
        """Features, the cell table, then the results table (a generator: see JobDock)."""
        from ._results_values import MEASURE_RUN_KEY
        from .results_table import get_results_table

        table = result.table
        features = table.copy()
        features.insert(0, "index", table["label"].to_numpy())  # napari's label -> row key
        layer.features = features
        layer.metadata[MEASURE_RUN_KEY] = {**settings, "threshold_sources": result.threshold_sources}
        self.last_table = table
        self.last_summary = result.summary
        self.cell_table().set_table(layer, table)
        self._watch(measured)
        yield  # a dock per event-loop turn (see JobDock._finish_ok)
        rows = result.summary_rows()  # a stack: one per plane
        if rows:
            get_results_table(self.viewer).update_layer_rows(layer, rows)
        status = f"{len(table)} objects measured in “{layer.name}”."
        for warning in result.warnings:  # never a per-image Otsu: one threshold per study
            status += f" {warning[:1].upper()}{warning[1:]}"
        self.status.setText(status)
        self.check_edits()  # edited while measuring: say so at once

    # ------------------------------------------------------------ label edits
    def _watch(self, measured) -> None:
        """Follow edits of the measured layers: ``[(layer, fingerprint of its pixels)]``."""
        for layer, _ in self._watched:
            for emitter in _edit_emitters(layer):
                emitter.disconnect(self._on_labels_event)
        # lazy layers (no fingerprint) are not followed: reading them would freeze the viewer
        self._watched = [(layer, print_) for layer, print_ in measured if print_ is not None]
        self._set_edited(False)
        for layer, _ in self._watched:
            for emitter in _edit_emitters(layer):
                emitter.connect(self._on_labels_event)

    def _on_labels_event(self, event=None) -> None:
        self._edit_timer.start()  # restarts: compare once the edits settle

    def check_edits(self) -> bool:
        """Whether the measured labels (or nuclei) changed since they were measured;
        with "Measure again after edits" ticked, measure them again."""
        self._edit_timer.stop()
        self._watched = [(layer, print_) for layer, print_ in self._watched
                         if layer in self.viewer.layers]
        # pixels compared, not strokes counted: an undo back to the start is no edit
        edited = [layer.name for layer, print_ in self._watched
                  if _fingerprint(layer.data) != print_]
        self._set_edited(bool(edited), edited)
        if edited and self.auto_remeasure.isChecked() and not self.busy:
            self.labels_combo.setCurrentText(self._watched[0][0].name)
            nuclei = self._watched[1][0].name if len(self._watched) > 1 else NO_NUCLEI
            self.nuclei_combo.setCurrentText(nuclei)
            self.run()
        return bool(edited)

    def _set_edited(self, edited: bool, names=()) -> None:
        if edited == self.edited:
            return
        self.edited = edited
        self.run_button.setText("Measure again" if edited else "Measure")
        if edited:
            layers = " and ".join(f"“{name}”" for name in names)
            self.status.setText(f"Labels of {layers} edited since they were measured: "
                                "press Measure again to update the tables.")
            if self._cell_table is not None:
                self._cell_table.mark_outdated()

    def cell_table(self):
        """The linked cell-table dock (created and docked on first use)."""
        from ._cell_table import CellTable

        if self._cell_table is None:
            self._cell_table = CellTable(self.viewer)
            window = getattr(self.viewer, "window", None)
            if window is not None:
                window.add_dock_widget(self._cell_table, name=CELL_TABLE_DOCK, area="right")
        return self._cell_table


def _tick(item, on: bool) -> None:
    item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)


def _edit_emitters(layer) -> list:
    # an Image layer has no ``paint``
    return [getattr(layer.events, name) for name in EDIT_EVENTS if hasattr(layer.events, name)]


def _fingerprint(data) -> tuple | None:
    """A checksum of in-memory labels (a few ms per megapixel); ``None`` for lazy data."""
    if not is_in_memory(data):
        return None
    pixels = np.ascontiguousarray(data)
    return pixels.shape, pixels.dtype.str, zlib.crc32(pixels.view(np.uint8).ravel())


def _plane_data(layer):
    """A layer's pixels as they are (a lazy layer stays lazy until the worker)."""
    return layer.data[0] if getattr(layer, "multiscale", False) else layer.data


def _check_inputs(name: str, state: dict) -> None:
    """Raise the error a user should see before measuring (bad arrays, no objects)."""
    check_measure_inputs(**{k: v for k, v in state.items() if k != "pixel_size_source"})
    if not np.any(state["labels"]):
        raise BadInputError(f"Layer “{name}” has no objects (all pixels are 0); segment or "
                         "paint cells first.")
