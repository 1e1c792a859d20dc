"""Helpers shared by the inference tests (a unique module name: tests have no packages)."""

import torch

from napari_msc_morph.models import BundleConfig, create_backbone, save_bundle


def make_bundle(path, task="osteogenic", class_names=None, in_chans=3, tiling="six", seed=0, **kw):
    config = BundleConfig(
        task=task, backbone="resnet10t", input_size=64, class_names=class_names,
        in_chans=in_chans, tiling=tiling, **kw,
    )
    torch.manual_seed(seed)
    model = create_backbone("resnet10t", num_classes=config.num_classes, in_chans=in_chans)
    return save_bundle(model, config, path)


class MeanIntensityNet(torch.nn.Module):
    """Logits from a crop's mean input value: a model whose answer we can predict."""

    def __init__(self, num_classes=2):
        super().__init__()
        self.num_classes = num_classes

    def forward(self, x):
        m = x.float().mean(dim=(1, 2, 3))
        steps = torch.arange(self.num_classes, dtype=torch.float32)
        return 8.0 * m[:, None] * (steps[None, :] - (self.num_classes - 1) / 2)
