"""`segment`/`measure` on a multichannel stack, picking channels with FILE:CHANNEL."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_msc_morph.cli import main
from napari_msc_morph.io import read_image, write_tiff
from napari_msc_morph.morphology import measure_field, segment_field
from napari_msc_morph.synthetic import if_field


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    field = if_field(size=(160, 160), n_cells=8, seed=3)
    names = ["DAPI", "actin", "RUNX2"]
    path = tmp_path_factory.mktemp("stack") / "field.tif"
    write_tiff(np.stack([field.channels[n] for n in names]), path,
               pixel_size_um=field.pixel_size_um, axes="CYX", channel_names=names)
    return path, field


def test_segment_and_measure_pick_channels_from_one_stack(stack, tmp_path, capsys):
    path, field = stack
    cells_out, nuclei_out = tmp_path / "cells.tif", tmp_path / "nuclei.tif"
    assert main(["segment", "--nuclei", f"{path}:0", "--cells", f"{path}:actin",
                 "--out", str(cells_out), "--nuclei-out", str(nuclei_out)]) == 0
    assert "channel 'DAPI'" in capsys.readouterr().err
    direct = segment_field(field.channels["DAPI"], field.channels["actin"])
    np.testing.assert_array_equal(read_image(cells_out).data, direct.cells)
    assert read_image(cells_out).pixel_size_um == pytest.approx(field.pixel_size_um)

    table_out = tmp_path / "cells.csv"
    assert main(["measure", str(cells_out), "--nuclei", str(nuclei_out),
                 "--channel", f"RUNX2={path}:RUNX2", "--out", str(table_out)]) == 0
    table = pd.read_csv(table_out)
    expected = measure_field(direct.cells, {"RUNX2": field.channels["RUNX2"]}, direct.nuclei,
                             field.pixel_size_um).table
    np.testing.assert_allclose(table["RUNX2_mean"], expected["RUNX2_mean"], rtol=1e-9)
    np.testing.assert_allclose(table["area_um2"], expected["area_um2"], rtol=1e-9)


def test_a_stack_without_a_channel_is_one_clear_error(stack, tmp_path, capsys):
    path, _ = stack
    code = main(["segment", "--nuclei", str(path), "--out", str(tmp_path / "x.tif")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "3 channels (DAPI, actin, RUNX2)" in err
    assert "field.tif:CHANNEL" in err
    assert not (tmp_path / "x.tif").exists()
