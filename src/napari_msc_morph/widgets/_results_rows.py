"""The rows of the results table, without Qt: one per image layer, one per plane of a stack.

:class:`~._results_widget.ResultsTable` shows them (it provides ``_refresh``, ``_watch``
and ``_name_pattern``).
"""

from __future__ import annotations

import pandas as pd

from ._results_values import (
    METADATA_COLUMNS,
    NUMERIC_METADATA,
    _is_missing,
    _layer_file_name,
    _parse_metadata_value,
    _Row,
    plane_axis_values,
    plane_key,
    same_layer,
)


class ResultRows:
    """Rows keyed by (layer, plane), their columns, and the table they make."""

    def __init__(self) -> None:
        self._rows: list[_Row] = []
        self._value_columns: list[str] = []
        self._metadata_columns: list[str] = list(METADATA_COLUMNS)

    # ----------------------------------------------------------------- rows
    def row_index(self, layer) -> int | None:
        """Index of the row of ``layer`` (the same layer object), or None: also for a
        stack shown plane by plane, whose rows each hold one plane's values and day."""
        for index, row in enumerate(self._rows):
            if same_layer(row.layer, layer) and row.plane is None:
                return index
        return None

    def _rows_of(self, layer) -> list[_Row]:
        return [row for row in self._rows if same_layer(row.layer, layer)]

    def layer_at(self, index: int):
        """The layer of row ``index`` (None for a row imported without its layer)."""
        return self._rows[index].layer

    def update_layer_row(self, layer, values: dict) -> None:
        """Insert or update the row of ``layer`` with ``values``.

        New keys become columns; metadata keys (``donor``, ``day`` …) set the sample
        metadata. A ``plane`` key updates that plane's row of a stack; without one,
        values of a stack shown plane by plane go to every plane.

        Parameters
        ----------
        layer : napari.layers.Layer
            The row key.
        values : dict
            Column name -> value (numbers, text; lists are shown comma-joined).
        """
        values = dict(values)
        plane = plane_key(values.get("plane"))
        rows = [self._row_for(layer, plane)] if plane is not None else (
            self._rows_of(layer) or [self._row_for(layer)])
        for row in rows:
            self._set_values(row, values)
        self._refresh()

    def update_layer_rows(self, layer, rows: list[dict]) -> None:
        """The results of ``layer``: one dict for an image, one per plane (with ``plane``)
        for a stack, whose other rows of ``layer`` go."""
        rows = [dict(values) for values in rows]
        planes = [plane_key(values.get("plane")) for values in rows]
        if not rows or None in planes:
            for values in rows:
                self.update_layer_row(layer, values)
            return
        old = self._rows_of(layer)
        at = self._rows.index(old[0]) if old else len(self._rows)
        for row in old:
            if row.plane not in planes:
                self._rows.remove(row)
        for offset, (plane, values) in enumerate(zip(planes, rows)):
            row = self._row_for(layer, plane)
            self._rows.remove(row)  # a new row was added at the end: placed with its siblings
            self._rows.insert(min(at + offset, len(self._rows)), row)
            self._set_values(row, values)
        self._refresh()

    def _set_values(self, row: _Row, values: dict, also_metadata=()) -> None:
        """Values of ``row``; keys of metadata columns (or in ``also_metadata``) are metadata."""
        for key, value in values.items():
            key = str(key)
            if key in ("layer", "plane"):
                continue
            if key in self._metadata_columns or key in also_metadata:
                self._set_metadata(row, key, value)
                continue
            if key not in self._value_columns:
                self._value_columns.append(key)
            row.values[key] = value

    def _row_for(self, layer, plane: str | None = None) -> _Row:
        for row in self._rows:
            if same_layer(row.layer, layer) and row.plane == plane:
                return row
        # an imported row without a layer is adopted by the layer of that name
        for row in self._rows:
            if row.layer is None and row.name == str(layer.name) and row.plane == plane:
                row.layer = layer
                self._set_plane_axes(row)
                self._watch(layer)
                return row
        row = _Row(layer, str(layer.name), plane)
        self._rows.append(row)
        self._watch(layer)
        layer_metadata = getattr(layer, "metadata", None) or {}
        for key in self._metadata_columns:
            if layer_metadata.get(key) is not None:
                row.metadata[key] = _parse_metadata_value(key, layer_metadata[key])
        self._set_plane_axes(row)
        pattern = self._name_pattern()
        if pattern:
            self._apply_pattern(row, pattern, overwrite=False)
        return row

    def _set_plane_axes(self, row: _Row) -> None:
        """A plane's axis values (``day`` 14) in its row, fixed."""
        if row.plane is None or row.layer is None:
            return
        for key, value in plane_axis_values(row.layer, row.plane).items():
            if key in NUMERIC_METADATA or key in self._metadata_columns:  # sample columns among them
                if key not in self._metadata_columns:
                    self._metadata_columns.append(key)
                row.metadata[key] = _parse_metadata_value(key, value)
            else:
                if key not in self._value_columns:
                    self._value_columns.append(key)
                row.values[key] = value
            row.fixed.add(key)

    def _set_metadata(self, row: _Row, key: str, value) -> None:
        """Set sample metadata on ``row``, the other planes of its stack, and its layer."""
        if key in row.fixed:  # a plane's own day: not the stack's
            return
        if key not in self._metadata_columns:
            self._metadata_columns.append(key)
        value = _parse_metadata_value(key, value)
        for each in [row] if row.layer is None else self._rows_of(row.layer):
            if key not in each.fixed:
                each.metadata[key] = value
        if row.layer is not None and isinstance(getattr(row.layer, "metadata", None), dict):
            if value is None:
                row.layer.metadata.pop(key, None)
            else:
                row.layer.metadata[key] = value

    def _apply_pattern(self, row: _Row, pattern: str, overwrite: bool) -> bool:
        # imported here: the analysis package loads scipy.stats (~0.7 s), which froze the
        # viewer when the Results table dock was opened
        from ..analysis.aggregate import metadata_from_name

        name = _layer_file_name(row.layer) if row.layer is not None else row.name
        parsed = metadata_from_name(name, pattern)
        if not parsed and row.layer is not None and name != str(row.layer.name):
            parsed = metadata_from_name(str(row.layer.name), pattern)
        for key, value in parsed.items():
            if overwrite or row.metadata.get(key) is None:
                self._set_metadata(row, key, value)
        return bool(parsed)

    # ------------------------------------------------------------ dataframe
    def _prune_columns(self) -> None:
        """Forget columns no row fills (the four sample columns stay)."""
        filled = {key for row in self._rows for key in row.values}
        self._value_columns = [c for c in self._value_columns if c in filled]
        if "plane" in filled and "plane" not in self._value_columns:  # first: it names the row
            self._value_columns.insert(0, "plane")
        named = {key for row in self._rows for key, value in row.metadata.items()
                 if not _is_missing(value)}
        self._metadata_columns = [c for c in self._metadata_columns
                                  if c in METADATA_COLUMNS or c in named]

    def columns(self) -> list[str]:
        """Column names in display order: ``layer``, values, metadata."""
        self._prune_columns()
        return ["layer", *self._value_columns, *self._metadata_columns]

    def to_dataframe(self) -> pd.DataFrame:
        """The table as a DataFrame: ``layer``, the result values, then the metadata."""
        columns = self.columns()
        records = [[row.name, *map(row.values.get, self._value_columns),
                    *map(row.metadata.get, self._metadata_columns)] for row in self._rows]
        frame = pd.DataFrame.from_records(records, columns=columns)
        for column in self._value_columns:  # numbers stay numbers (None -> NaN)
            if column == "plane":
                continue
            converted = pd.to_numeric(frame[column], errors="coerce")
            if converted.notna().sum() == frame[column].notna().sum():
                frame[column] = converted
        if "plane" in frame:  # a whole index (3, not 3.0) beside the images that have none
            frame["plane"] = pd.Series([None if row.plane is None else int(row.plane)
                                        if row.plane.isdigit() else row.plane
                                        for row in self._rows], index=frame.index, dtype=object)
        return frame
