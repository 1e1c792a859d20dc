import pytest
import torch
from safetensors.torch import save_file

from napari_msc_morph.models import create_backbone, resolve_device


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
    with pytest.raises(FileNotFoundError):
        create_backbone("resnet10t", num_classes=2, pretrained_file=tmp_path / "missing.safetensors")


def test_resolve_device():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in ("cpu", "cuda", "mps")
    with pytest.raises(ValueError, match="Unknown device"):
        resolve_device("tpu")
