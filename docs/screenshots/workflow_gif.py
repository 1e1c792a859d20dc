"""Animated GIF of the main workflows for the README, from a real napari viewer.

    xvfb-run -a -s "-screen 0 1280x800x24" python docs/screenshots/workflow_gif.py

Writes ``docs/images/workflow.gif`` (about 900 px wide, a few captioned frames):

1. *File › Open Sample › MSC Morph › Immunofluorescence field*; the "Segment
   cells" dock finds nuclei and cells; "Measure cells" measures them and the
   cell table colours the labels by cell area (µm²), one cell selected.
2. *Open Sample › Osteogenic time course*; the "Predict" dock writes an OsScore
   map over each day of the induced and control stacks. The bundle is made on
   the fly with untrained weights (resnet10t, ``pretrained=False``): the frames
   show the UI flow, not a real OsScore (the caption says so). Real models are
   trained with the "Train model" dock or ``msc-morph train``.

The window is a 1280×800 laptop screen; the plugin's docks scroll inside.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

IMAGES = Path(__file__).resolve().parents[1] / "images"
PLUGIN = "napari-msc-morph"
WIDTH = 900  # GIF width in px
CAPTION_H = 30


def pump(seconds: float = 0.3) -> None:
    from qtpy.QtWidgets import QApplication

    end = time.time() + seconds
    while True:
        QApplication.processEvents()
        if time.time() >= end:
            break
        time.sleep(0.02)


def wait(widget, timeout: float = 600) -> None:
    """Until the dock's worker has finished (JobDock.busy), keeping Qt alive."""
    pump(0.2)
    start = time.time()
    while widget.busy:
        pump(0.05)
        if time.time() - start > timeout:
            raise TimeoutError(f"{type(widget).__name__} did not finish in {timeout} s")
    pump(0.5)


def dock(viewer, name: str):
    """Plugins › MSC Morph › NAME, as a user opens it."""
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, name)
    pump(0.3)
    return widget


class Frames:
    """Screenshots of the whole window, each with a caption bar, downscaled."""

    def __init__(self):
        self.frames: list = []
        self.durations: list[int] = []

    def grab(self, viewer, caption: str, ms: int = 2200) -> None:
        from PIL import Image, ImageDraw, ImageFont

        pump(0.4)
        shot = viewer.screenshot(canvas_only=False, flash=False)[..., :3]
        image = Image.fromarray(np.ascontiguousarray(shot))
        image = image.resize((WIDTH, round(image.height * WIDTH / image.width)), Image.LANCZOS)
        framed = Image.new("RGB", (WIDTH, image.height + CAPTION_H), (24, 26, 33))
        framed.paste(image, (0, CAPTION_H))
        draw = ImageDraw.Draw(framed)
        try:
            font = ImageFont.load_default(size=17)
        except TypeError:  # Pillow < 10.1
            font = ImageFont.load_default()
        draw.text((10, 6), caption, fill=(240, 240, 240), font=font)
        self.frames.append(framed)
        self.durations.append(ms)
        print(f"frame {len(self.frames)}: {caption}")

    def save(self, path: Path) -> Path:
        from PIL import Image

        # one shared palette keeps the GIF small and the colours steady between frames
        height = max(f.height for f in self.frames)
        frames = [f if f.height == height else f.resize((WIDTH, height)) for f in self.frames]
        strip = Image.new("RGB", (WIDTH, height * len(frames)))
        for k, frame in enumerate(frames):
            strip.paste(frame, (0, k * height))
        palette = strip.quantize(colors=128, method=Image.Quantize.MEDIANCUT)
        quantized = [f.quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
        path.parent.mkdir(parents=True, exist_ok=True)
        quantized[0].save(path, save_all=True, append_images=quantized[1:],
                          duration=self.durations, loop=0, optimize=True, disposal=1)
        print(f"wrote {path} ({path.stat().st_size // 1024} KB, {len(frames)} frames)")
        return path


def if_workflow(viewer, frames: Frames) -> None:
    viewer.open_sample(PLUGIN, "if_field")
    # the sample ships its true labels; this run makes its own
    for name in ("cells", "nuclei"):
        viewer.layers.remove(name)
    viewer.reset_view()
    frames.grab(viewer, "1  File > Open Sample > MSC Morph > Immunofluorescence field")

    segment = dock(viewer, "Segment cells")
    frames.grab(viewer, "2  Plugins > MSC Morph > Segment cells (DAPI nuclei, actin for cells)")
    segment.run()
    wait(segment)
    frames.grab(viewer, "3  Nuclei and cells segmented: new label layers")

    measure = dock(viewer, "Measure cells")
    frames.grab(viewer, "4  Measure cells: cell labels, nuclei as compartment, marker channels")
    measure.run()
    wait(measure)
    table = measure.cell_table()
    table.colour_by_feature("area_um2", "viridis")
    biggest = int(table.table["area_um2"].idxmax())
    table.select_row(biggest)
    for name, layer in ((layer.name, layer) for layer in viewer.layers):
        if layer._type_string == "labels" and "nuclei" in name:
            layer.visible = False
    viewer.window.remove_dock_widget(segment)
    pump(0.3)
    frames.grab(viewer, "5  Per-cell table (µm²); labels coloured by cell area, largest cell selected",
                ms=3500)


def osteo_workflow(viewer, frames: Frames, bundle: Path) -> None:
    viewer.layers.clear()
    for name in list(viewer.window.dock_widgets):
        viewer.window.remove_dock_widget(viewer.window.dock_widgets[name])
    pump(0.3)
    viewer.open_sample(PLUGIN, "osteo_time_course")
    pump(0.5)
    viewer.reset_view()
    frames.grab(viewer, "6  Open Sample > Osteogenic time course: induced and control, a day axis")

    predict = dock(viewer, "Predict")
    predict.set_selected_layers([layer for layer in viewer.layers if layer.name.endswith("_days")])
    predict.set_bundle_path(bundle)
    predict.device_combo.setCurrentText("cpu")
    pump(0.3)
    frames.grab(viewer, "7  Predict: a model bundle (.zip) on both stacks")
    predict.run()
    wait(predict)
    viewer.dims.set_current_step(0, viewer.dims.nsteps[0] - 1)
    viewer.reset_view()
    frames.grab(viewer, "8  OsScore maps per day (untrained demo bundle: UI flow only)", ms=3500)


def make_bundle(path: Path) -> Path:
    """A tiny untrained OsScore bundle: resnet10t, pretrained=False, 64 px crops."""
    import torch

    from napari_msc_morph.models import BundleConfig, create_backbone, save_bundle

    torch.manual_seed(0)
    config = BundleConfig(task="osteogenic", backbone="resnet10t", input_size=64, in_chans=1,
                          pixel_size_um=2.6, tiling="grid", grid_overlap=0.5, intensity="dtype",
                          description="README GIF demo: untrained weights, UI flow only")
    net = create_backbone("resnet10t", num_classes=2, in_chans=1)
    net.eval()
    return save_bundle(net, config, path)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # the Predict dock remembers recent bundles: keep the user's list untouched
        os.environ["NAPARI_MSC_MORPH_CONFIG_DIR"] = str(Path(tmp) / "config")
        bundle = make_bundle(Path(tmp) / "osscore-demo.zip")

        import napari

        viewer = napari.Viewer(show=True)
        viewer.window._qt_window.resize(1280, 800)
        viewer.scale_bar.visible = True
        pump(0.5)
        frames = Frames()
        if_workflow(viewer, frames)
        osteo_workflow(viewer, frames, bundle)
        path = frames.save(IMAGES / "workflow.gif")
        viewer.close()
    if path.stat().st_size > 3_000_000:
        sys.exit(f"{path} is {path.stat().st_size // 1024} KB: over the README's 3 MB budget")


if __name__ == "__main__":
    main()
