"""The cellpose backend, run through cellpose's own eval with a small network built here.

Cellpose 4's CellposeModel always builds the ViT-L Cellpose-SAM network (~300 M
parameters) and its weights cannot be downloaded in tests, so the model here is a
real ``cellpose.models.CellposeModel`` whose ``net`` is a tiny, weight-free
``cellpose.vit.BaseModel``: its flows run uphill on the blurred first channel and
its cell probability is that channel's brightness. Normalisation, tiling,
rescaling to the diameter, flow dynamics and mask building are cellpose's own.
"""

from __future__ import annotations

import inspect
import urllib.error

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from cellpose import models as cellpose_models  # the [cellpose] extra, installed by scripts/test
from cellpose import vit
from skimage.draw import disk

from napari_msc_morph.errors import BadInputError
from napari_msc_morph.morphology import segment_cellpose, segment_field
from napari_msc_morph.morphology.segment import segment_nuclei

CENTRES = [(24, 24), (26, 72), (74, 28), (72, 76)]
CELLPOSE_DEFAULT = inspect.signature(cellpose_models.CellposeModel).parameters[
    "pretrained_model"].default


class BlobNet(vit.BaseModel):
    """Flows toward the peaks of the blurred first channel; probability from brightness."""

    def __init__(self, sigma: float = 4.0):
        super().__init__()
        r = int(3 * sigma)
        kernel = torch.exp(-torch.arange(-r, r + 1.0) ** 2 / (2 * sigma ** 2))
        self.kernel = torch.nn.Parameter(kernel / kernel.sum(), requires_grad=False)

    def forward(self, x):
        image = x[:, :1]
        r = self.kernel.numel() // 2
        blur = image
        for _ in range(2):
            blur = F.conv2d(F.pad(blur, (r, r, 0, 0), mode="replicate"), self.kernel.view(1, 1, 1, -1))
            blur = F.conv2d(F.pad(blur, (0, 0, r, r), mode="replicate"), self.kernel.view(1, 1, -1, 1))
        dy, dx = torch.zeros_like(blur), torch.zeros_like(blur)
        dy[..., 1:-1, :] = blur[..., 2:, :] - blur[..., :-2, :]
        dx[..., :, 1:-1] = blur[..., :, 2:] - blur[..., :, :-2]
        norm = torch.sqrt(dy ** 2 + dx ** 2) + 1e-6
        flows = torch.cat([5 * dy / norm, 5 * dx / norm, (image - 0.5) * 20], 1)
        return flows, torch.zeros((x.shape[0], 256))


class TinyCellpose(cellpose_models.CellposeModel):
    """cellpose's model class with :class:`BlobNet` instead of downloaded weights;
    records how it was built and called."""

    built: list = []
    calls: list = []

    def __init__(self, gpu=False, pretrained_model=CELLPOSE_DEFAULT, model_type=None,
                 diam_mean=None, device=None, nchan=None, use_bfloat16=True):
        TinyCellpose.built.append({"gpu": gpu, "device": device,
                                   "pretrained_model": pretrained_model}
                                  | ({"model_type": model_type} if model_type else {}))
        self.device, self.gpu, self.backbone = torch.device("cpu"), False, "sam_vitl"
        self.pretrained_model = pretrained_model
        self.net = BlobNet()

    def eval(self, x, **options):
        masks, flows, styles = super().eval(x, **options)
        TinyCellpose.calls.append((np.shape(x), options, int(masks.max())))
        return masks, flows, styles


@pytest.fixture
def tiny(monkeypatch):
    TinyCellpose.built, TinyCellpose.calls = [], []
    monkeypatch.setattr(cellpose_models, "CellposeModel", TinyCellpose)
    segment_cellpose.cellpose_model.cache_clear()
    yield TinyCellpose
    segment_cellpose.cellpose_model.cache_clear()


def _field(radius: int) -> np.ndarray:
    image = np.full((100, 100), 100, np.uint16)
    for centre in CENTRES:
        image[disk(centre, radius)] = 1000
    return image


def test_nuclei_run_on_the_registry_device_at_the_estimated_diameter(tiny):
    result = segment_field(_field(7), backend="cellpose", exclude_border=False)
    assert result.counts == {"nuclei": 4}
    assert tiny.built == [{"gpu": False, "device": torch.device("cpu"),
                           "pretrained_model": CELLPOSE_DEFAULT}]
    (shape, options, _), = tiny.calls
    assert shape == (100, 100) and "channel_axis" not in options
    assert options["diameter"] == pytest.approx(result.scale.typical)
    assert 12 <= options["diameter"] <= 16  # discs of radius 7
    areas = np.bincount(result.nuclei.ravel())[1:]
    assert np.all(np.abs(areas - np.pi * 7 ** 2) < 0.2 * np.pi * 7 ** 2)


def test_the_diameter_filter_applies_to_cellpose_nuclei(tiny):
    """A speck cellpose finds is dropped by the range, as with the classic backend."""
    image = _field(7)
    image[disk((50, 50), 3)] = 1000
    labels = segment_nuclei(image, (10, 30), backend="cellpose")
    assert tiny.calls[0][2] == 5  # cellpose found the speck too
    assert labels.max() == 4 and labels[50, 50] == 0
    assert tiny.calls[0][1]["diameter"] == pytest.approx(14, abs=2)


def test_gpu_from_the_device_registry(tiny, monkeypatch):
    from napari_msc_morph.models import backbones

    monkeypatch.setattr(backbones, "resolve_device", lambda device: "cuda:1")
    segment_cellpose.cellpose_model("nuclei")
    assert tiny.built == [{"gpu": True, "device": torch.device("cuda:1"),
                           "pretrained_model": CELLPOSE_DEFAULT}]


def test_the_model_is_loaded_once_for_many_fields(tiny):
    for _ in range(2):
        segment_nuclei(_field(7), backend="cellpose")
    assert len(tiny.built) == 1 and len(tiny.calls) == 2


def test_cells_from_cytoplasm_with_nuclei_as_second_channel(tiny):
    result = segment_field(_field(6), _field(14), backend="cellpose", exclude_border=False)
    assert result.counts == {"nuclei": 4, "cells": 4}
    (_, nuclei_call, _), (cells_shape, cells_call, _) = tiny.calls
    assert cells_shape == (100, 100, 2) and cells_call["channel_axis"] == -1
    # 4 cells share the stained area: a disc of about 28 px
    assert 24 <= cells_call["diameter"] <= 32
    for k in range(1, 5):
        nucleus, cell = result.nuclei == k, result.cells == k
        assert nucleus.any() and np.all(cell[nucleus])  # nucleus k inside cell k
        assert 0.8 < cell.sum() / (np.pi * 14 ** 2) < 1.2


def test_cellpose_3_uses_its_nuclei_and_cyto3_models_and_channels(tiny, monkeypatch):
    monkeypatch.setattr(segment_cellpose, "cellpose_version", lambda: 3)
    result = segment_field(_field(6), _field(14), backend="cellpose", exclude_border=False)
    assert result.counts == {"nuclei": 4, "cells": 4}
    assert [built["model_type"] for built in tiny.built] == ["nuclei", "cyto3"]
    (_, nuclei_call, _), (_, cells_call, _) = tiny.calls
    assert nuclei_call["channels"] == [0, 0]  # grey
    assert cells_call["channels"] == [1, 2] and cells_call["channel_axis"] == -1


def test_cells_take_the_number_of_their_nucleus():
    nuclei = np.zeros((20, 40), np.int32)
    nuclei[5:10, 5:10], nuclei[5:10, 25:30] = 1, 2
    cells = np.zeros_like(nuclei)
    cells[2:15, 2:14] = 7          # holds nucleus 1
    cells[2:15, 22:29] = 3         # holds most of nucleus 2 (it sticks out at column 29)
    cells[16:19, 30:38] = 5        # no nucleus: dropped
    matched = segment_cellpose.match_cells_to_nuclei(cells, nuclei)
    assert set(np.unique(matched)) == {0, 1, 2}
    assert np.all(matched[cells == 7] == 1)
    assert np.all(matched[nuclei == 2] == 2)  # the protruding column joined its cell
    assert not matched[16:19, 30:38].any()


def test_cli_writes_cellpose_cells(tiny, tmp_path):
    from napari_msc_morph.cli import main
    from napari_msc_morph.io import read_image, write_tiff

    write_tiff(_field(6), tmp_path / "dapi.tif")
    write_tiff(_field(14), tmp_path / "actin.tif")
    out = tmp_path / "cells.tif"
    assert main(["segment", "--nuclei", str(tmp_path / "dapi.tif"), "--cells",
                 str(tmp_path / "actin.tif"), "--backend", "cellpose", "--keep-border",
                 "--out", str(out), "--nuclei-out", str(tmp_path / "nuclei.tif")]) == 0
    cells = np.asarray(read_image(out).data)
    nuclei = np.asarray(read_image(tmp_path / "nuclei.tif").data)
    assert cells.max() == 4 and nuclei.max() == 4
    assert np.all(cells[nuclei > 0] == nuclei[nuclei > 0])


def test_offline_without_weights_says_where_to_put_them(monkeypatch, tmp_path):
    from cellpose import utils

    def offline(url, dst, progress=True):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(cellpose_models, "MODEL_DIR", tmp_path)
    monkeypatch.setattr(utils, "download_url_to_file", offline)
    segment_cellpose.cellpose_model.cache_clear()
    try:
        with pytest.raises(BadInputError) as err:
            segment_nuclei(_field(7), backend="cellpose")
    finally:
        segment_cellpose.cellpose_model.cache_clear()
    message = str(err.value)
    assert str(tmp_path) in message and CELLPOSE_DEFAULT in message
    assert "CELLPOSE_LOCAL_MODELS_PATH" in message and "classic" in message


def test_segment_dock_runs_cellpose_for_nuclei_and_cells(tiny, make_napari_viewer, qtbot):
    from napari_msc_morph.widgets.segment_widget import SegmentWidget

    viewer = make_napari_viewer()
    viewer.add_image(_field(6), name="DAPI")
    viewer.add_image(_field(14), name="actin")
    widget = SegmentWidget(viewer)
    widget.cyto_combo.setCurrentText("actin")
    widget.backend.setCurrentText("cellpose")
    widget.exclude_border.setChecked(False)
    assert widget.run() is not None, widget.status.text()
    qtbot.waitUntil(lambda: not widget.busy and not widget.cancel_button.isEnabled(),
                    timeout=20000)
    nuclei, cells = viewer.layers["DAPI nuclei"].data, viewer.layers["DAPI cells"].data
    assert "4 nuclei, 4 cells" in widget.status.text()
    assert ["channel_axis" in options for _, options, _ in tiny.calls] == [False, True]
    assert np.all(cells[nuclei > 0] == nuclei[nuclei > 0])


@pytest.fixture
def only_cpu(monkeypatch):
    """A machine without CUDA or Apple MPS."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def _write_pair(folder, nuclei_radius=6, cell_radius=14):
    from napari_msc_morph.io import write_tiff

    write_tiff(_field(nuclei_radius), folder / "dapi.tif")
    write_tiff(_field(cell_radius), folder / "actin.tif")
    return ["--nuclei", str(folder / "dapi.tif"), "--cells", str(folder / "actin.tif")]


def test_cli_device_reaches_cellpose_for_nuclei_and_cells(tiny, monkeypatch, tmp_path):
    from napari_msc_morph.cli import main

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a CUDA machine
    inputs = _write_pair(tmp_path)
    assert main(["segment", *inputs, "--backend", "cellpose", "--device", "cuda",
                 "--out", str(tmp_path / "gpu.tif")]) == 0
    assert [(b["gpu"], b["device"]) for b in tiny.built] == [(True, torch.device("cuda"))] * 2
    tiny.built.clear()
    segment_cellpose.cellpose_model.cache_clear()
    # the CPU asked for on a GPU machine (e.g. the GPU is busy training)
    assert main(["segment", *inputs, "--backend", "cellpose", "--device", "cpu",
                 "--out", str(tmp_path / "cpu.tif")]) == 0
    assert [(b["gpu"], b["device"]) for b in tiny.built] == [(False, torch.device("cpu"))] * 2


def test_an_unavailable_device_names_the_available_ones(tiny, only_cpu, tmp_path, capsys):
    from napari_msc_morph.cli import main

    inputs = _write_pair(tmp_path)
    assert main(["segment", *inputs, "--backend", "cellpose", "--device", "cuda",
                 "--out", str(tmp_path / "cells.tif")]) == 2
    err = capsys.readouterr().err
    assert "'cuda' is not available" in err and "available here: auto, cpu" in err
    assert not tiny.built and not (tmp_path / "cells.tif").exists()  # checked before any work
    with pytest.raises(BadInputError, match="'mps' is not available"):
        segment_field(_field(7), backend="cellpose", device="mps")
    # many fields: one message up front, not one failure per field
    from napari_msc_morph.batch import Field, segment_fields

    with pytest.raises(BadInputError, match="available here: auto, cpu"):
        segment_fields([Field("a", {"nuclei": str(tmp_path / "dapi.tif")})], tmp_path / "out",
                       backend="cellpose", device="cuda")
    assert not tiny.built


def test_the_classic_backend_ignores_the_device_and_says_so(only_cpu, tmp_path, capsys):
    from napari_msc_morph.cli import main

    inputs = _write_pair(tmp_path)
    assert main(["segment", *inputs, "--device", "cuda", "--out", str(tmp_path / "c.tif")]) == 0
    assert "classic backend runs on the CPU" in capsys.readouterr().err
    assert segment_field(_field(7), device="cuda").counts == {"nuclei": 4}


def test_a_nucleus_cellpose_gave_no_cell_is_not_a_border_exclusion(tiny):
    """Four nuclei away from the border, cytoplasm around three: one nucleus has no cell."""
    cytoplasm = np.full((100, 100), 100, np.uint16)
    for centre in CENTRES[:3]:
        cytoplasm[disk(centre, 14)] = 1000
    result = segment_field(_field(6), cytoplasm, backend="cellpose", exclude_border=True)
    assert result.counts == {"nuclei": 3, "cells": 3}
    assert result.n_border_excluded == 0          # was 1: the cell-less nucleus counted here
    assert result.n_nuclei_without_cell == 1
    assert "1 nuclei without a cell dropped" in result.summary()
    assert result.nuclei[CENTRES[3]] == 0
    # a cell touching the border still counts as a border exclusion, apart from the cell-less one
    cytoplasm[disk((50, 8), 14)] = 1000
    nuclei_image = _field(6)
    nuclei_image[disk((50, 8), 6)] = 1000
    result = segment_field(nuclei_image, cytoplasm, backend="cellpose", exclude_border=True)
    assert (result.n_border_excluded, result.n_nuclei_without_cell) == (1, 1)
    assert result.counts == {"nuclei": 3, "cells": 3}


def test_segment_dock_offers_the_device_for_cellpose(tiny, make_napari_viewer, qtbot,
                                                     monkeypatch):
    from napari_msc_morph.widgets.segment_widget import SegmentWidget

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a CUDA machine
    viewer = make_napari_viewer()
    viewer.add_image(_field(7), name="DAPI")
    widget = SegmentWidget(viewer)
    widget.backend.setCurrentText("classic")
    assert widget.device.isHidden()  # classic runs on the CPU: nothing to choose
    widget.backend.setCurrentText("cellpose")
    assert not widget.device.isHidden()
    assert [widget.device.itemText(k) for k in range(widget.device.count())] == \
        ["auto", "cpu", "cuda", "mps"]
    widget.device.setCurrentText("cpu")  # keep the GPU free, say, for training
    assert widget.run() is not None, widget.status.text()
    qtbot.waitUntil(lambda: not widget.busy and not widget.cancel_button.isEnabled(),
                    timeout=20000)
    assert "4 nuclei" in widget.status.text()
    assert [(b["gpu"], b["device"]) for b in tiny.built] == [(False, torch.device("cpu"))]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    widget.device.setCurrentText("cuda")
    assert widget.run() is None
    assert "'cuda' is not available" in widget.status.text()


def test_study_runs_cellpose_on_the_chosen_device(tiny, monkeypatch, tmp_path, capsys):
    from napari_msc_morph.cli import main
    from napari_msc_morph.io import write_tiff

    folder = tmp_path / "images"
    folder.mkdir()
    for name in ("ctrl_1", "osteo_1"):
        write_tiff(_field(7), folder / f"{name}.tif")
    run = ["study", str(folder), "--pattern", "{condition}_{field}.tif", "--backend", "cellpose",
           "--out", str(tmp_path / "study")]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main([*run, "--device", "cuda"]) == 2
    assert "available here: auto, cpu" in capsys.readouterr().err
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert main([*run, "--device", "cuda", "--group-by", "condition"]) == 0
    assert tiny.built == [{"gpu": True, "device": torch.device("cuda"),
                           "pretrained_model": CELLPOSE_DEFAULT}]
    fields = pd.read_csv(tmp_path / "study" / "fields.csv")
    assert fields["n_nuclei"].tolist() == [4, 4]
    # cellpose has no threshold to vary: no robustness table, and the user is told why
    assert "backend 'cellpose' has none" in capsys.readouterr().err
    assert not (tmp_path / "study" / "threshold_robustness.csv").exists()


def test_study_dock_runs_cellpose_on_the_chosen_device(tiny, make_napari_viewer, qtbot,
                                                       monkeypatch, tmp_path):
    from napari_msc_morph.io import write_tiff
    from napari_msc_morph.widgets.study_widget import StudyWidget

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a CUDA machine
    folder = tmp_path / "images"
    folder.mkdir()
    for name in ("ctrl_1", "osteo_1"):
        write_tiff(_field(7), folder / f"{name}.tif")
    widget = StudyWidget(make_napari_viewer())
    widget.folder.setText(str(folder))
    widget.pattern.setText("{condition}_{field}.tif")
    assert widget.device.isHidden()  # classic: nothing to choose
    widget.backend.setCurrentText("cellpose")
    assert not widget.device.isHidden()
    widget.device.setCurrentText("cpu")
    assert widget.run() is not None
    qtbot.waitUntil(lambda: not widget.busy and not widget.cancel_button.isEnabled(),
                    timeout=30000)
    assert widget.study is not None, widget.status.text()
    assert widget.study.fields["n_nuclei"].tolist() == [4, 4]
    assert [(b["gpu"], b["device"]) for b in tiny.built] == [(False, torch.device("cpu"))]
