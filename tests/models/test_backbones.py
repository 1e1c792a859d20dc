import pytest
import torch
from safetensors.torch import save_file

from napari_msc_morph.errors import BadInputError
from napari_msc_morph.models import create_backbone, resolve_device
from napari_msc_morph.models.backbones import pretrained_source, resolve_weights_file


def test_create_backbone_heads_and_channels():
    net = create_backbone("resnet10t", num_classes=5, in_chans=1)
    with torch.no_grad():
        assert net.eval()(torch.rand(1, 1, 64, 64)).shape == (1, 5)


def test_unknown_backbone_suggests_names():
    with pytest.raises(ValueError, match=r"Unknown timm backbone 'resnet10'.*resnet10t"):
        create_backbone("resnet10", num_classes=2)


def test_pretrained_weights_from_a_local_safetensors_file(tmp_path):
    torch.manual_seed(3)
    source = create_backbone("resnet10t", num_classes=1000)
    path = tmp_path / "imagenet.safetensors"
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, path)
    net = create_backbone("resnet10t", num_classes=3, pretrained_file=path)
    # body weights come from the file, the 3-class head is new
    assert torch.equal(net.conv1[0].weight, source.conv1[0].weight)
    assert net.fc.weight.shape == (3, source.fc.in_features)


def test_pretrained_file_must_be_safetensors(tmp_path):
    bad = tmp_path / "weights.pth"
    torch.save({}, bad)
    with pytest.raises(ValueError, match="must be a .safetensors file"):
        create_backbone("resnet10t", num_classes=2, pretrained_file=bad)
    with pytest.raises(BadInputError, match="missing.safetensors does not exist.*--no-pretrained"):
        create_backbone("resnet10t", num_classes=2, pretrained_file=tmp_path / "missing.safetensors")


def test_pretrained_source_never_downloads(tmp_path, monkeypatch):
    # the suite runs with HF_HUB_OFFLINE=1 and an empty cache folder
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert pretrained_source("test_resnet", pretrained=False) == "none (trained from scratch)"
    with pytest.raises(BadInputError, match=r"'test_resnet'.*offline.*--weights.*--no-pretrained"):
        pretrained_source("test_resnet", pretrained=True)
    # a download that fails when building (no network) says the same
    with pytest.raises(BadInputError, match=r"'test_resnet'.*offline.*--weights.*--no-pretrained"):
        create_backbone("test_resnet", num_classes=2, pretrained=True)
    path = tmp_path / "w.safetensors"
    save_file({"x": torch.zeros(1)}, path)
    assert pretrained_source("test_resnet", True, weights=path) == f"file {path}"
    # a folder holding one model.safetensors (a Hugging Face snapshot) names it
    snapshot = tmp_path / "snap" / "abc"
    snapshot.mkdir(parents=True)
    save_file({"x": torch.zeros(1)}, snapshot / "model.safetensors")
    assert resolve_weights_file(tmp_path / "snap") == snapshot / "model.safetensors"


def test_resolve_device():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in ("cpu", "cuda", "mps")
    with pytest.raises(ValueError, match="Unknown device"):
        resolve_device("tpu")


def test_devices_registry():
    from napari_msc_morph.errors import BadInputError
    from napari_msc_morph.models import DEVICES

    assert DEVICES.names()[:2] == ["auto", "cpu"] and {"cuda", "mps"} <= set(DEVICES.names())
    assert resolve_device("auto") in DEVICES
    with pytest.raises(BadInputError, match="use one of auto, cpu"):
        resolve_device("tpu")
    with pytest.raises(BadInputError, match="Unknown device 'auto:1'"):
        resolve_device("auto:1")
    assert DEVICES.entry("cpu").extra["distributed"] == "gloo"
    assert DEVICES.entry("cuda").extra["distributed"] == "nccl"
    assert "distributed" not in DEVICES.entry("mps").extra  # torchrun refuses it
    if not torch.cuda.is_available():
        with pytest.raises(BadInputError, match="not available"):
            resolve_device("cuda:1")


def test_normalization_comes_from_timm_data_config():
    import timm.data

    from napari_msc_morph.models import BundleConfig, normalization

    net = create_backbone("test_resnet", num_classes=2)
    expected = timm.data.resolve_model_data_config(net)
    assert normalization(net) == (tuple(expected["mean"]), tuple(expected["std"]))
    assert normalization("test_resnet") == normalization(net)  # by name, nothing built
    mean, std = normalization("resnet10t", in_chans=1)
    assert mean == pytest.approx((0.449,), abs=1e-3) and len(std) == 1
    # a bundle without mean/std gets its backbone's; stored numbers always win
    assert BundleConfig(task="osteogenic", backbone="test_resnet", input_size=64).mean == (
        pytest.approx(tuple(expected["mean"])))
    stored = BundleConfig(task="osteogenic", backbone="test_resnet", input_size=64,
                          mean=(0.1, 0.2, 0.3), std=(1, 1, 1))
    assert stored.mean == (0.1, 0.2, 0.3)


def test_pretrained_source_finds_timm_weights_in_the_hub_cache(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))  # read once at import
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    repo = tmp_path / "models--timm--test_resnet.r160_in1k"
    snapshot = repo / "snapshots" / "abc"
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc")  # as huggingface_hub (and timm's lookup) need
    save_file({"x": torch.zeros(1)}, snapshot / "model.safetensors")
    assert pretrained_source("test_resnet", True) == f"timm cache {snapshot / 'model.safetensors'}"
