"""`msc-morph segment` and `msc-morph measure` end to end on files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import tifffile

from napari_msc_morph import cli
from napari_msc_morph.io import read_image, write_tiff
from napari_msc_morph.synthetic import if_field

main = cli.main  # imports only the command it runs


def test_commands_are_registered():
    assert {"segment", "measure"} <= set(cli.COMMANDS)


@pytest.fixture(scope="module")
def field_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("field")
    field = if_field(size=(256, 256), n_cells=10, seed=7)
    for name in ("DAPI", "actin", "RUNX2"):
        write_tiff(field.channels[name], folder / f"{name}.tif", pixel_size_um=field.pixel_size_um)
    write_tiff(field.cells, folder / "cells_true.tif", pixel_size_um=field.pixel_size_um)
    write_tiff(field.nuclei, folder / "nuclei_true.tif", pixel_size_um=field.pixel_size_um)
    return field, folder


def test_segment_nuclei_and_cells(field_files, tmp_path, capsys):
    field, folder = field_files
    out, nuc_out = tmp_path / "cells.tif", tmp_path / "nuclei.tif"
    code = main(["segment", "--nuclei", str(folder / "DAPI.tif"), "--cells", str(folder / "actin.tif"),
                 "--diameter", "10", "60", "--keep-border", "--out", str(out),
                 "--nuclei-out", str(nuc_out)])
    assert code == 0
    assert "10 nuclei, 10 cells (border objects kept)" in capsys.readouterr().out
    cells, nuclei = read_image(out), read_image(nuc_out)
    assert cells.pixel_size_um == pytest.approx(field.pixel_size_um)
    assert cells.data.max() == 10 and np.all(cells.data[nuclei.data > 0] == nuclei.data[nuclei.data > 0])
    only = tmp_path / "only_nuclei.tif"
    assert main(["segment", "--nuclei", str(folder / "DAPI.tif"), "--diameter", "10", "60",
                 "--exclude-border", "--out", str(only)]) == 0
    assert read_image(only).data.max() == 10
    assert "10 nuclei, 0 touching the border excluded" in capsys.readouterr().out
    default = tmp_path / "default.tif"        # border exclusion is on by default
    assert main(["segment", "--nuclei", str(folder / "DAPI.tif"), "--cells", str(folder / "actin.tif"),
                 "--diameter", "10", "60", "--out", str(default)]) == 0
    assert "5 nuclei, 5 cells, 5 touching the border excluded" in capsys.readouterr().out
    assert np.unique(read_image(default).data).size - 1 == 5


def test_measure_writes_table_and_summary(field_files, tmp_path, capsys):
    field, folder = field_files
    out, summary = tmp_path / "cells.csv", tmp_path / "image.csv"
    code = main(["measure", str(folder / "cells_true.tif"), "--nuclei", str(folder / "nuclei_true.tif"),
                 "--channel", f"RUNX2={folder / 'RUNX2.tif'}", "--channel", f"DAPI={folder / 'DAPI.tif'}",
                 "--out", str(out), "--summary", str(summary), "--threshold", "RUNX2=1000"])
    assert code == 0
    captured = capsys.readouterr()
    assert "pixel size 0.325 µm from" in captured.err
    table = pd.read_csv(out)
    merged = table.merge(field.truth, on="label", suffixes=("", "_true"))
    assert len(merged) == len(field.truth)
    assert (merged.area_px == merged.area_px_true).all()
    np.testing.assert_allclose(merged.area_um2, merged.area_um2_true, rtol=1e-12)
    assert {"RUNX2_nuc_mean", "DAPI_cyto_mean", "nc_ratio", "feret_max_um"} <= set(table.columns)
    image = pd.read_csv(summary)
    assert image.loc[0, "n_cells"] == 10 and image.loc[0, "RUNX2_threshold"] == 1000
    assert "cell_density_per_mm2" in image


def test_measure_without_pixel_size_warns_and_uses_pixels(tmp_path, capsys):
    labels = np.zeros((40, 40), np.uint16)
    labels[5:15, 5:25] = 3
    tifffile.imwrite(tmp_path / "labels.tif", labels)
    assert main(["measure", str(tmp_path / "labels.tif"), "--out", str(tmp_path / "t.csv")]) == 0
    assert "no pixel size" in capsys.readouterr().err
    table = pd.read_csv(tmp_path / "t.csv")
    assert table.loc[0, "area_px"] == 200 and "area_um2" not in table
    assert main(["measure", str(tmp_path / "labels.tif"), "--pixel-size", "0.5", "--out",
                 str(tmp_path / "u.csv")]) == 0
    assert pd.read_csv(tmp_path / "u.csv").loc[0, "area_um2"] == 50


def test_measure_bad_input_is_one_clear_line(tmp_path, capsys):
    tifffile.imwrite(tmp_path / "float.tif", np.ones((20, 20), np.float32))
    tifffile.imwrite(tmp_path / "small.tif", np.ones((10, 10), np.uint16))
    tifffile.imwrite(tmp_path / "labels.tif", np.ones((20, 20), np.uint16))
    assert main(["measure", str(tmp_path / "float.tif"), "--out", str(tmp_path / "x.csv")]) == 2
    assert "float.tif has dtype float32; labels must be integers" in capsys.readouterr().err
    assert main(["measure", str(tmp_path / "labels.tif"), "--channel", f"OCN={tmp_path / 'small.tif'}",
                 "--pixel-size", "1", "--out", str(tmp_path / "x.csv")]) == 2
    assert "channel 'OCN' has shape (10, 10)" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()
    assert main(["segment", "--nuclei", str(tmp_path / "missing.tif"), "--out", str(tmp_path / "l.tif")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["segment", "--nuclei", str(tmp_path / "labels.tif"), "--nuclei-out", "n.tif",
                 "--out", str(tmp_path / "l.tif")]) == 2
    assert "--nuclei-out is only used with --cells" in capsys.readouterr().err
