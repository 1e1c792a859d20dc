"""Issue 24.7: opening a dock never freezes napari for a heavy first import.

Opening the Correlation dock cost 1.5 s of a frozen viewer (scipy.stats and
matplotlib imported on the GUI thread), the Study, Segment, Measure and Fix labels
docks paid scipy.ndimage / scikit-image. Each dock of the manifest is opened here
as napari's Plugins menu does it, in a fresh interpreter, and none may import them;
``benchmarks/bench_dock_open.py`` gives the seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

#: Libraries whose first import costs 0.2-3 s; a dock imports them when it computes.
#: (napari itself imports scikit-image's top level, not these submodules.)
HEAVY = ("scipy.stats", "scipy.ndimage", "skimage.morphology", "skimage.segmentation",
         "skimage.filters", "matplotlib", "statsmodels", "pingouin", "sklearn", "torch")

OPEN_EVERY_DOCK = textwrap.dedent("""
    import json, sys
    import napari, yaml
    import napari_msc_morph
    from pathlib import Path

    heavy = {heavy!r}
    viewer = napari.Viewer(show=False)
    manifest = yaml.safe_load((Path(napari_msc_morph.__file__).parent / "napari.yaml").read_text())
    loaded = {{}}
    for widget in manifest["contributions"]["widgets"]:
        before = set(sys.modules)
        # as the Plugins menu does; no event-loop turn, so nothing runs in the background yet
        viewer.window.add_plugin_dock_widget("napari-msc-morph", widget["display_name"])
        new = set(sys.modules) - before
        loaded[widget["display_name"]] = sorted(
            name for name in heavy if any(m == name or m.startswith(name + ".") for m in new))
    print(json.dumps({{"already": sorted(n for n in heavy if n in sys.modules and
                                         not any(n in v for v in loaded.values())),
                      "loaded": loaded}}))
    viewer.close()
""")


def test_opening_every_dock_imports_no_heavy_library(tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_MSC_MORPH_CONFIG_DIR", str(tmp_path))  # no recent bundle
    result = subprocess.run([sys.executable, "-c", OPEN_EVERY_DOCK.format(heavy=HEAVY)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(report["loaded"]) == 8, report  # every dock of the manifest was opened
    assert not report["already"], f"napari itself loaded {report['already']}: test is moot"
    assert not any(report["loaded"].values()), report["loaded"]


def test_correlation_dock_builds_its_plots_once_imported(make_napari_viewer, qtbot):
    from napari_msc_morph.widgets._figure_canvas import BackgroundCanvas
    from napari_msc_morph.widgets.compare_panel import ComparePanel
    from napari_msc_morph.widgets.correlation_widget import CorrelationWidget

    viewer = make_napari_viewer()
    widget = CorrelationWidget(viewer)
    # already imported in this process: built at once; otherwise after the background import
    qtbot.waitUntil(lambda: isinstance(widget.tabs.widget(0), BackgroundCanvas), timeout=20000)
    titles = [widget.tabs.tabText(i) for i in range(widget.tabs.count())]
    assert titles == ["Scatter", "Heatmap", "Time course", "Table", "Compare groups"]
    assert widget.scatter_canvas is widget.tabs.widget(0)
    # the Compare groups panel is built when its tab is first shown
    assert not isinstance(widget.tabs.widget(4), ComparePanel)
    widget.tabs.setCurrentIndex(4)
    assert isinstance(widget.tabs.widget(4), ComparePanel)
    assert widget.compare_panel is widget.tabs.widget(4)
    assert widget.tabs.currentIndex() == 4


@pytest.mark.parametrize("package", ["analysis", "morphology", "batch"])
def test_packages_export_every_public_name_on_demand(package):
    import importlib

    module = importlib.import_module(f"napari_msc_morph.{package}")
    for name in module.__all__:
        assert getattr(module, name) is not None, name
        assert name in dir(module)
    with pytest.raises(AttributeError, match="no_such_name"):
        module.no_such_name  # noqa: B018


def test_a_name_shared_with_its_submodule_stays_the_function():
    import napari_msc_morph.analysis as analysis
    import napari_msc_morph.analysis.correlate  # noqa: F401  (the submodule, imported)

    assert callable(analysis.correlate) and analysis.correlate.__name__ == "correlate"


def test_lazy_module_imports_at_first_use():
    script = ("import sys; from napari_msc_morph._exports import lazy_module; "
              "m = lazy_module('xml.dom.minidom'); before = 'xml.dom.minidom' in sys.modules; "
              "m.parseString; print(before, 'xml.dom.minidom' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.split() == ["False", "True"], out.stderr


OPEN_PREDICT_WITH_A_RECENT_BUNDLE = textwrap.dedent("""
    import json, sys, time
    import napari
    from qtpy.QtWidgets import QApplication

    viewer = napari.Viewer(show=False)
    _, widget = viewer.window.add_plugin_dock_widget("napari-msc-morph", "Predict")
    on_open = sorted(n for n in ("timm", "torch") if n in sys.modules)
    shown = widget.bundle_info.text()
    deadline = time.monotonic() + 120
    while "osteogenic" not in widget.bundle_info.text() and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.05)
    print(json.dumps({"on_open": on_open, "shown": shown, "later": widget.bundle_info.text()}))
    viewer.close()
""")


def test_predict_with_a_recent_bundle_opens_without_importing_torch(tmp_path, monkeypatch):
    # a returning user's Predict dock describes the last bundle: its timm backbone check
    # imported timm and torch on the GUI thread (3-6 s frozen); now that happens aside
    from napari_msc_morph.models import BundleConfig, create_backbone, save_bundle

    config = BundleConfig(task="osteogenic", backbone="resnet10t", input_size=64)
    bundle = save_bundle(create_backbone("resnet10t", num_classes=2), config, tmp_path / "osteo")
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "recent_bundles.json").write_text(json.dumps([str(bundle)]))
    monkeypatch.setenv("NAPARI_MSC_MORPH_CONFIG_DIR", str(folder))
    result = subprocess.run([sys.executable, "-c", OPEN_PREDICT_WITH_A_RECENT_BUNDLE],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["on_open"] == [], report
    assert report["shown"] == "Reading the model…"
    assert "osteogenic" in report["later"] and "resnet10t" in report["later"], report
