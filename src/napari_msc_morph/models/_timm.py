"""Import timm without letting torch load triton (one place, one reason).

``import timm`` imports ``torchvision.ops``, which imports ``torch._dynamo``,
whose start-up asks ``torch.utils._triton.has_triton_package()`` and so
imports triton. Triton bundles its own LLVM; loading it into a process whose
OpenGL already runs on Mesa's llvmpipe (napari under Xvfb, remote desktops,
machines without a GPU driver) crashes the process with a segmentation fault
(reproduced by ``tests/widgets/test_timm_after_viewer.py``).

This package never compiles kernels (no ``torch.compile``), so during the
first import of timm triton is reported absent; ``has_triton_package`` caches
that answer. Nothing else in the process is changed: ``sys.modules`` is
restored right after the import, and a process that loaded triton itself
beforehand keeps it.
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
