"""Networks and bundles whose Grad-CAM we can predict (a unique module name: no test packages)."""

import torch

from napari_msc_morph.models import BundleConfig, ModelBundle, create_backbone, save_bundle


class BrightSpotNet(torch.nn.Module):
    """A hand-set CNN whose "induced" logit is the mean of a bright-pixel detector.

    ``features`` (a 4x4 stride-4 averaging convolution and a 1x1 one, with ReLU)
    fires where the input is bright, so Grad-CAM for "induced" must be high
    exactly there; non-overlapping blocks keep the network mirror-symmetric.
    """

    def __init__(self, num_classes=2):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 4, 4, stride=4), torch.nn.ReLU(),
            torch.nn.Conv2d(4, 4, 1), torch.nn.ReLU(),
        )
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.head = torch.nn.Linear(4, num_classes)
        with torch.no_grad():
            first, second = self.features[0], self.features[2]
            first.weight.fill_(1.0 / 48)
            first.bias.fill_(-1.0)  # normalised dark pixels (< ~1 sd above the mean) stay 0
            second.weight.fill_(1.0 / 4)
            second.bias.zero_()
            self.head.weight.zero_()
            self.head.weight[1] = 1.0
            self.head.weight[0] = -1.0
            self.head.bias.zero_()

    def forward(self, x):
        return self.head(self.pool(self.features(x)).flatten(1))


def bright_spot_bundle(pixel_size_um=None) -> ModelBundle:
    config = BundleConfig(task="osteogenic", backbone="resnet10t", input_size=64, tiling="grid",
                          pixel_size_um=pixel_size_um)
    return ModelBundle(BrightSpotNet().eval(), config)


def responsive_bundle(path, task="osteogenic", backbone="resnet10t", tiling="six", **kw):
    """A saved timm bundle whose head is set so its last positive class has positive evidence.

    A randomly initialised head gives negative logits, and Grad-CAM (ReLU of the
    class-weighted activations) is then 0 everywhere; these weights make the
    last class's logit the mean of the (non-negative) last-stage activations.
    """
    config = BundleConfig(task=task, backbone=backbone, input_size=64, tiling=tiling, **kw)
    torch.manual_seed(0)
    model = create_backbone(backbone, num_classes=config.num_classes)
    head = model.get_classifier()
    with torch.no_grad():
        head.weight.fill_(-0.01)
        head.weight[-1] = 0.01
        head.bias.zero_()
    return save_bundle(model, config, path)
