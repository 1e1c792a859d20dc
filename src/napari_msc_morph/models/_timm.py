"""Import timm without letting torch load triton.

``import timm`` reaches ``torch._dynamo``, which imports triton; triton's own LLVM
crashes a process whose OpenGL runs on Mesa's llvmpipe (napari under Xvfb, remote
desktops; ``tests/widgets/test_timm_after_viewer.py``). The package never compiles
kernels, so triton is hidden during timm's first import and ``sys.modules`` restored.
"""

from __future__ import annotations

import sys


def import_timm():
    """Return the ``timm`` module, imported with triton hidden from torch."""
    if "timm" in sys.modules or "triton" in sys.modules:
        import timm

        return timm
    sys.modules["triton"] = None  # makes `import triton` raise ImportError
    try:
        import timm
    finally:
        if sys.modules.get("triton", 0) is None:
            del sys.modules["triton"]
    return timm
