"""The network an exported bioimage.io package's state dict names (``build_classifier``).

It builds the same timm network as ``create_backbone``; kept tiny and light
because bioimage.io tools import it to run the package.
"""

from __future__ import annotations

__all__ = ["build_classifier", "ARCHITECTURE_CALLABLE", "ARCHITECTURE_MODULE"]

ARCHITECTURE_MODULE = __name__
ARCHITECTURE_CALLABLE = "build_classifier"


def build_classifier(backbone: str, num_classes: int, in_chans: int = 3):
    """The timm classifier ``backbone`` with ``num_classes`` outputs (logits), untrained."""
    from .backbones import create_backbone

    return create_backbone(str(backbone), int(num_classes), in_chans=int(in_chans))
