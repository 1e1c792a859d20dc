"""napari widgets: translate layers <-> arrays and call the engine.

Only this package and ``_sample_data.py`` import napari or Qt.
"""

import sys

# timm imports torchvision.ops -> torch._dynamo -> triton. Loading triton's LLVM
# into a process whose OpenGL context runs on Mesa's llvmpipe (Xvfb, remote
# desktops, machines without a GPU driver) crashes it with a segmentation fault.
# The widgets never compile kernels, so unless triton is already loaded it is
# marked absent for this napari session (torch then skips it). Every widget
# module imports this package first, so one guard covers them all.
if "triton" not in sys.modules:
    sys.modules["triton"] = None
