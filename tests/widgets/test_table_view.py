"""The table pieces shared by the Correlation and Compare docks."""

import numpy as np
import pandas as pd
from qtpy.QtWidgets import QTableWidget

from napari_msc_morph.widgets._results_values import cell_text, key_text
from napari_msc_morph.widgets._table_view import fill_table_widget


def test_sample_keys_match_whole_numbers_however_written():
    assert key_text(7) == key_text(7.0) == key_text("7.0") == key_text(np.float64(7)) == "7"
    assert key_text(" D1 ") == "D1" and key_text(0.5) == "0.5"


def test_a_frame_fills_the_table_widget_with_readable_cells(qtbot):
    table = QTableWidget()
    qtbot.addWidget(table)
    frame = pd.DataFrame({"marker": ["RUNX2", "OCN"], "r": [0.912345, np.nan], "n": [8, 8]})
    fill_table_widget(table, frame)
    assert (table.rowCount(), table.columnCount()) == (2, 3)
    assert [table.horizontalHeaderItem(c).text() for c in range(3)] == ["marker", "r", "n"]
    assert [table.item(r, 1).text() for r in range(2)] == ["0.912", ""]
    assert table.item(1, 0).text() == "OCN" and table.item(0, 2).text() == "8"
    assert cell_text(None) == ""
    assert (cell_text(np.inf), cell_text(-np.inf), cell_text(np.float32("nan"))) == ("inf", "-inf", "")
