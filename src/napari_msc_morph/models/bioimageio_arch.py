"""The network of an exported bioimage.io package, rebuilt from its kwargs.

A bioimage.io package with ``pytorch_state_dict`` weights names a callable that
builds the network (``ArchitectureFromLibraryDescr``: ``from <import_from>
import <callable>``, called with the package's ``kwargs``). Ours is
:func:`build_classifier`; it builds the same timm network as
:func:`~napari_msc_morph.models.backbones.create_backbone`, without pretrained
weights, so the package's state dict (identical keys to the bundle's
``weights.safetensors``) loads into it. The network returns logits; the
package's postprocessing (temperature, softmax) turns them into probabilities.

This module is kept tiny and dependency-light on purpose: bioimage.io tools
import it to run the package.
"""

from __future__ import annotations

__all__ = ["build_classifier", "ARCHITECTURE_CALLABLE", "ARCHITECTURE_MODULE"]

ARCHITECTURE_MODULE = __name__
ARCHITECTURE_CALLABLE = "build_classifier"


def build_classifier(backbone: str, num_classes: int, in_chans: int = 3):
    """The timm classifier ``backbone`` with ``num_classes`` outputs (logits), untrained.

    >>> net = build_classifier("resnet10t", num_classes=2)
    >>> net.num_classes
    2
    """
    from .backbones import create_backbone

    return create_backbone(str(backbone), int(num_classes), in_chans=int(in_chans))
