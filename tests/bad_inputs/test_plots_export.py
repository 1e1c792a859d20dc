"""Bad inputs of the plot export, the Compare tab's row filter and the report-plots dock:
a BadInputError naming the offending thing, and files on disk left as they were."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure

from napari_msc_morph.errors import BadInputError
from napari_msc_morph.widgets._figure_export import export_figure
from napari_msc_morph.widgets.compare_panel import rows_where
from napari_msc_morph.widgets.report_plots import report_pngs

sys.path.insert(0, str(Path(__file__).parent))
from corpus_helpers import snapshot  # noqa: E402


def _figure():
    fig = Figure()
    fig.add_subplot(1, 1, 1).plot([0, 1], [1, 0])
    return fig


def test_unsupported_format_names_it_and_writes_nothing(tmp_path):
    (tmp_path / "plot.pdf").write_bytes(b"old")
    before = snapshot(tmp_path)
    with pytest.raises(BadInputError, match=r"'pdf'.*png, svg"):
        export_figure(_figure(), tmp_path / "plot.pdf")
    assert snapshot(tmp_path) == before


def test_a_failing_save_keeps_the_old_file(tmp_path):
    target = tmp_path / "plot.png"
    export_figure(_figure(), target)
    before = snapshot(tmp_path)

    class Broken(Figure):
        def savefig(self, *args, **kwargs):
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        export_figure(Broken(), target)
    assert snapshot(tmp_path) == before  # the old plot, and no temporary file left


@pytest.mark.parametrize("where, named", [
    ("condition", "COLUMN=VALUE"),
    ("conditon=induced", "'conditon'"),
    ("condition=inducd", "'condition=inducd'"),
])
def test_only_rows_filter_names_the_problem(where, named):
    table = pd.DataFrame({"condition": ["control", "induced"], "area": [1.0, 2.0]})
    copy = table.copy()
    with pytest.raises(BadInputError) as info:
        rows_where(table, where)
    assert named in str(info.value)
    pd.testing.assert_frame_equal(table, copy)


def test_report_folder_without_plots(tmp_path):
    (tmp_path / "metrics.json").write_text("{}")
    before = snapshot(tmp_path)
    with pytest.raises(BadInputError, match=str(tmp_path)):
        report_pngs(tmp_path)
    assert snapshot(tmp_path) == before
