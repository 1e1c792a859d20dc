"""Opening a model widget after the viewer exists must not crash the process.

timm -> torchvision.ops -> torch._dynamo -> triton: triton's LLVM crashes a
process whose OpenGL runs on Mesa's llvmpipe (as under Xvfb). The one timm import
(models/_timm.py) hides triton for that import only; this runs the real sequence
in a fresh process, because a crash would take pytest down with it.
"""

import subprocess
import sys
import textwrap


def test_timm_imported_after_a_viewer_and_a_widget_does_not_crash():
    script = textwrap.dedent("""
        import numpy as np
        import napari
        from qtpy.QtWidgets import QApplication
        viewer = napari.Viewer()
        viewer.add_image(np.zeros((16, 16)))
        QApplication.processEvents()
        viewer.window.add_plugin_dock_widget("napari-msc-morph", "Predict")
        QApplication.processEvents()
        from napari_msc_morph.models import create_backbone
        model = create_backbone("resnet10t", num_classes=2)
        print("ok", sum(p.numel() for p in model.parameters()) > 0)
        viewer.close()
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ok True" in result.stdout


def test_the_guard_is_local_to_the_timm_import():
    # Importing the widgets package changes nothing; importing timm through the
    # package leaves no marker in sys.modules (a later `import triton` works).
    script = textwrap.dedent("""
        import sys
        import napari_msc_morph.widgets
        print("after widgets:", "triton" in sys.modules)
        from napari_msc_morph.models._timm import import_timm
        timm = import_timm()
        print("timm:", timm.__name__, "marker:", sys.modules.get("triton", "absent"))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "after widgets: False" in result.stdout
    assert "timm: timm marker: absent" in result.stdout
