"""Animated GIF of the main workflows for the README, from a real napari viewer.

    xvfb-run -a -s "-screen 0 1280x800x24" python docs/screenshots/workflow_gif.py

Writes ``docs/images/workflow.gif`` (about 900 px wide, a few captioned frames):

1. *File › Open Sample › MSC Morph › Immunofluorescence field*; the "Segment
   cells" dock finds nuclei and cells; "Measure cells" measures them and the
   cell table colours the labels by cell area (µm²), one cell selected.
2. *Open Sample › Osteogenic time course*; the "Predict" dock writes an OsScore
   map over each day of the induced and control stacks. The bundle is made on
   the fly: resnet10t from scratch (``pretrained=False``), fitted for about a
   minute on synthetic day-21 fields (``prediction.py``'s recipe). The frames
   show the UI flow, not a validated OsScore (the README caption says so). Real
   models are trained with the "Train model" dock or ``msc-morph train``.

The window is a 1280×800 laptop screen; the plugin's docks scroll inside.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from napari_msc_morph.widgets import sample_loading

IMAGES = Path(__file__).resolve().parents[1] / "images"
PLUGIN = "napari-msc-morph"
sample_loading.BACKGROUND = False  # each sample's layers are there when open_sample returns
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


def caption_font(size: int):
    """DejaVu Sans (shipped with matplotlib: has µ and ›), else Pillow's own font."""
    from PIL import ImageFont

    try:
        import matplotlib

        return ImageFont.truetype(
            str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"), size)
    except (ImportError, OSError):
        return ImageFont.load_default()


def close_toasts(viewer) -> None:
    """Close napari's notification pop-ups: they would cover the canvas in every frame."""
    from napari._qt.dialogs.qt_notification import NapariQtNotification

    for toast in viewer.window._qt_window.findChildren(NapariQtNotification):
        toast.close()
    pump(0.1)


class Frames:
    """Screenshots of the whole window, each with a caption bar, downscaled."""

    def __init__(self):
        self.frames: list = []
        self.durations: list[int] = []

    def grab(self, viewer, caption: str, ms: int = 2200) -> None:
        from PIL import Image, ImageDraw

        close_toasts(viewer)
        pump(0.4)
        shot = viewer.screenshot(canvas_only=False, flash=False)[..., :3]
        image = Image.fromarray(np.ascontiguousarray(shot))
        image = image.resize((WIDTH, round(image.height * WIDTH / image.width)), Image.LANCZOS)
        framed = Image.new("RGB", (WIDTH, image.height + CAPTION_H), (24, 26, 33))
        framed.paste(image, (0, CAPTION_H))
        draw = ImageDraw.Draw(framed)
        font = caption_font(17)
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
    frames.grab(viewer, "1  File › Open Sample › MSC Morph › Immunofluorescence field")

    segment = dock(viewer, "Segment cells")
    frames.grab(viewer, "2  Plugins › MSC Morph › Segment cells (DAPI nuclei, actin for cells)")
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
    induced, control = viewer.layers["D02_induced_days"], viewer.layers["D02_control_days"]
    width = induced.extent.world[1][-1] - induced.extent.world[0][-1]
    control.translate = (0, 0, 1.04 * width)  # side by side, not stacked
    # the IF sample's layers carry no units (its scale bar would read "pixel"); these do
    viewer.scale_bar.visible = True
    viewer.reset_view()
    frames.grab(viewer, "6  Open Sample › Osteogenic time course: induced | control, a day axis")

    predict = dock(viewer, "Predict")
    predict.set_selected_layers([layer for layer in viewer.layers if layer.name.endswith("_days")])
    predict.set_bundle_path(bundle)
    predict.device_combo.setCurrentText("cpu")
    pump(0.3)
    frames.grab(viewer, "7  Predict: a model bundle (.zip) on both stacks")
    predict.run()
    wait(predict)
    viewer.reset_view()
    viewer.dims.set_current_step(0, 0)
    frames.grab(viewer, "8  OsScore map per day, day 0 (a 1-minute demo bundle: UI flow only)")
    viewer.dims.set_current_step(0, viewer.dims.nsteps[0] - 1)
    frames.grab(viewer, "9  Day 21: induced (left) scores higher than control (right)", ms=3500)


def make_bundle(path: Path) -> Path:
    """A tiny OsScore bundle: resnet10t from scratch (pretrained=False), 64 px crops,
    fitted for about a minute on synthetic day-21 induced vs control fields
    (``prediction.py``'s recipe). A demo of the UI flow, not a real model."""
    sys.path.insert(0, str(Path(__file__).parent))
    from prediction import train_bundle

    return train_bundle(path)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # the Predict dock remembers recent bundles: keep the user's list untouched
        os.environ["NAPARI_MSC_MORPH_CONFIG_DIR"] = str(Path(tmp) / "config")
        bundle = make_bundle(Path(tmp) / "osscore-demo.zip")

        import napari

        viewer = napari.Viewer(show=True)
        viewer.window._qt_window.resize(1280, 800)
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
