"""The "Fix labels" dock: merge, split and cut labels where napari has no tool.

Clicks are points of a Points layer; the edit (:mod:`napari_msc_morph.morphology.edit`)
goes back through ``Labels.data_setitem`` as one history step, so Ctrl+Z undoes it and the
Measure dock sees the edit (docs/editing-labels.md).
"""

from __future__ import annotations

import re

import numpy as np
from qtpy.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget

from ..errors import BadInputError, MscMorphError
from ..morphology.edit import cut_label, labels_at, merge_labels, split_label
from ._layers import current_plane, is_in_memory
from ._panel import button, hbox, show_failure, watch_layer_list
from ._table_view import combo, line_edit

CLICKS_LAYER = "label edit clicks"
SHAPE_ONLY = "(object shape only)"


class LabelToolsWidget(QWidget):
    """Merge, split or cut objects of a Labels layer at clicked points."""

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.labels_combo = combo(self, tip="The label image to fix (e.g. the nuclei or cells "
                                  "made by Segment cells)")
        self.image_combo = combo(
            self, tip="Split follows the dim gap between two bright objects in this image (e.g. "
            "DAPI); with “object shape only” it cuts at the object's narrowest waist")
        self.ids = line_edit(self, "e.g. 12, 15 (or click cells)",
                             "Label numbers to merge, separated by commas; when empty, "
                             "the cells under the clicks are merged")
        self.click_button = button(
            self, "Click cells…", f"Adds the points layer “{CLICKS_LAYER}” in point mode: "
            "click the cells to merge, or two or more spots inside one cell to split it",
            self.start_clicking)
        self.merge_button = button(self, "Merge", "Join the clicked (or listed) cells into one "
                                   "object, numbered with the smallest label",
                                   lambda: self._safely(self.merge))
        self.split_button = button(self, "Split", "Split the cell under the clicks into one "
                                   "object per click (a watershed grown from each click)",
                                   lambda: self._safely(self.split))
        self.cut_button = button(self, "Cut", "Cut the cell along the straight line through the "
                                 "two clicks", lambda: self._safely(self.cut))
        self.status = QLabel("Paint, erase and fill with napari's label tools; merge, "
                             "split or cut here. Ctrl+Z undoes an edit.")
        self.status.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Labels", self.labels_combo)
        form.addRow("Split on image", self.image_combo)
        form.addRow("Merge labels", self.ids)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.click_button)
        layout.addLayout(hbox(self.merge_button, self.split_button, self.cut_button))
        layout.addWidget(self.status)
        layout.addStretch(1)

        self._layers_changed = watch_layer_list(self.viewer, self, self.refresh_layers)
        self.refresh_layers()

    # ---------------------------------------------------------------- layers
    def refresh_layers(self) -> None:
        """Re-list the Labels and Image layers, keeping the choices."""
        from napari.layers import Image, Labels

        for box, cls, first in ((self.labels_combo, Labels, []),
                                (self.image_combo, Image, [SHAPE_ONLY])):
            current = box.currentText()
            names = [*first, *(layer.name for layer in self.viewer.layers
                               if isinstance(layer, cls) and not getattr(layer, "rgb", False))]
            box.blockSignals(True)
            box.clear()
            box.addItems(names)
            if current in names:
                box.setCurrentText(current)
            elif cls is Labels and names:  # the newest labels: what was just segmented
                box.setCurrentText(names[-1])
            box.blockSignals(False)

    def _labels_plane(self):
        """The chosen Labels layer and its plane on screen."""
        self._layers_changed.flush()  # layers added or removed just now count
        name = self.labels_combo.currentText()
        if not name or name not in self.viewer.layers:
            raise BadInputError("Choose a Labels layer to fix (segment one with "
                                "“Segment cells” first).")
        layer = self.viewer.layers[name]
        if getattr(layer, "multiscale", False) or not is_in_memory(layer.data):
            raise BadInputError(f"Layer “{name}” is read lazily from disk; edit a copy in "
                                "memory (File > Save, then open it as labels).")
        return layer, np.asarray(current_plane(self.viewer, layer))

    def start_clicking(self):
        """Show (or add) the clicks layer, selected and in point-adding mode."""
        self._layers_changed.flush()
        if CLICKS_LAYER in self.viewer.layers:
            points = self.viewer.layers[CLICKS_LAYER]
        else:
            # points are sized in world units: a few pixels of the labels being fixed
            labels = self.viewer.layers[self.labels_combo.currentText()] \
                if self.labels_combo.currentText() in self.viewer.layers else None
            pixel = float(labels.scale[-1]) if labels is not None else 1.0
            points = self.viewer.add_points(name=CLICKS_LAYER, ndim=self.viewer.dims.ndim,
                                            size=5 * pixel, face_color="yellow",
                                            border_color="black")
        self.viewer.layers.selection.active = points
        points.mode = "add"
        return points

    def clicks(self, layer) -> np.ndarray:
        """The clicks on the plane on screen, as (row, column) pixels of ``layer``."""
        if CLICKS_LAYER not in self.viewer.layers:
            return np.zeros((0, 2))
        points = self.viewer.layers[CLICKS_LAYER]
        if points.ndim < layer.ndim:
            raise BadInputError(f"The layer “{CLICKS_LAYER}” has fewer axes than "
                                f"“{layer.name}”; delete it and click the cells again.")
        data = np.array([layer.world_to_data(points.data_to_world(p)[-layer.ndim:])
                         for p in points.data], dtype=float).reshape(-1, layer.ndim)
        lead = self._lead(layer)  # only the clicks on the plane on screen count
        on_plane = np.all(np.round(data[:, : len(lead)]) == lead, axis=1)
        return data[on_plane, -2:]

    def _lead(self, layer) -> tuple[int, ...]:
        """The index of the plane on screen on ``layer``'s leading axes."""
        lead = layer.data.ndim - 2
        step = self.viewer.dims.current_step[-layer.data.ndim:][:lead]
        return tuple(min(int(s), n - 1) for s, n in zip(step, layer.data.shape))

    # ----------------------------------------------------------------- edits
    def _safely(self, edit) -> None:
        try:
            edit()
        except MscMorphError as err:
            self.status.setText(show_failure(err, "Fix labels"))

    def merge(self) -> str:
        layer, plane = self._labels_plane()
        typed = [int(t) for t in re.findall(r"\d+", self.ids.text())]
        ids = typed or labels_at(plane, self.clicks(layer))
        edited = merge_labels(plane, ids)
        keep = min(i for i in ids if i)
        return self._apply(layer, plane, edited, f"Merged labels {sorted(set(ids))} into {keep}.",
                           selected=keep)

    def split(self) -> str:
        layer, plane = self._labels_plane()
        seeds = self.clicks(layer)
        ids = labels_at(plane, seeds)
        if len(ids) != 1:
            raise BadInputError(
                f"Split needs two or more clicks inside one cell (the clicks are on labels "
                f"{ids or 'none'}); clear “{CLICKS_LAYER}” and click again."
            )
        image = None
        if self.image_combo.currentText() not in ("", SHAPE_ONLY):
            image_layer = self.viewer.layers[self.image_combo.currentText()]
            image = np.asarray(current_plane(self.viewer, image_layer))
        edited = split_label(plane, ids[0], seeds, image=image)
        pieces = len(np.unique(edited[plane == ids[0]]))
        return self._apply(layer, plane, edited, f"Split label {ids[0]} into {pieces} objects.",
                           selected=ids[0])

    def cut(self) -> str:
        layer, plane = self._labels_plane()
        line = self.clicks(layer)
        if len(line) != 2:
            raise BadInputError(f"Cut needs exactly two clicks (the line's ends), got "
                                f"{len(line)}; clear “{CLICKS_LAYER}” and click twice.")
        ids = labels_at(plane, _line_pixels(line[0], line[1], plane.shape))
        if len(ids) != 1:
            raise BadInputError(f"The line crosses labels {ids or 'none'}; draw it across "
                                "one cell only.")
        edited = cut_label(plane, ids[0], line[0], line[1])
        return self._apply(layer, plane, edited, f"Cut label {ids[0]} in two.",
                           selected=ids[0])

    def _apply(self, layer, plane, edited, message: str, selected: int) -> str:
        """Write the changed pixels as one undoable step; clear the clicks."""
        rows, cols = np.nonzero(edited != plane)
        lead = self._lead(layer)
        indices = (*(np.full(rows.shape, i) for i in lead), rows, cols)
        with layer.block_history():  # one Ctrl+Z takes the whole edit back
            layer.data_setitem(indices, edited[rows, cols])
        layer.selected_label = selected
        if CLICKS_LAYER in self.viewer.layers:
            clicks = self.viewer.layers[CLICKS_LAYER]
            clicks.data = np.zeros((0, clicks.ndim))
        self.viewer.layers.selection.active = layer
        self.status.setText(f"{message} Ctrl+Z (with “{layer.name}” selected) undoes it.")
        return message


def _line_pixels(start, end, shape) -> np.ndarray:
    """Pixels on the segment from ``start`` to ``end`` (inside ``shape``)."""
    from skimage.draw import line

    r0, c0 = np.clip(np.round(start).astype(int), 0, np.asarray(shape) - 1)
    r1, c1 = np.clip(np.round(end).astype(int), 0, np.asarray(shape) - 1)
    return np.column_stack(line(r0, c0, r1, c1))
