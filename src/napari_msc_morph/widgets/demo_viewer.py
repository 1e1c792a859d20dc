"""Open a finished ``msc-morph demo`` folder in napari (docs/demo.md).

The held-out bright-field images stand in a row with their OsScore maps (Predict dock),
the IF field with its labels below them (Measure dock); the docks run their usual workers.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import BadInputError
from ..io import read_image

#: Which held-out samples to show: the induced series and the day-21 control.
SHOWN = (("induced", 0), ("induced", 7), ("induced", 21), ("control", 21))
#: Space between arranged images, as a fraction of the larger image side.
GAP_FRACTION = 0.05


def _extent_um(layer) -> tuple[float, float]:
    """(height, width) of a 2-D layer in world units (µm)."""
    shape = layer.data.shape[-3:-1] if getattr(layer, "rgb", False) else layer.data.shape[-2:]
    return tuple(float(n * s) for n, s in zip(shape, layer.scale[-2:]))


def arrange_by_experiment(bright_field: list, if_layers: list) -> None:
    """Place bright-field images in a row and the IF field's layers below it (``translate``
    in µm)."""
    sizes = [_extent_um(layer) for layer in bright_field + if_layers[:1]]
    gap = GAP_FRACTION * max((max(size) for size in sizes), default=0.0)
    x = 0.0
    for layer in bright_field:
        layer.translate = (0.0, x)
        x += _extent_um(layer)[1] + gap
    row_height = max((_extent_um(layer)[0] for layer in bright_field), default=0.0)
    y = row_height + gap if bright_field else 0.0
    for layer in if_layers:
        layer.translate = (y, 0.0)


def _add_image(viewer, path: Path, name: str, metadata: dict):
    loaded = read_image(path)
    px = loaded.pixel_size_um
    if px is None:
        raise BadInputError(f"{path} has no pixel size in its metadata; the demo writes one, "
                         "so the folder may be damaged: run `msc-morph demo` again.")
    return viewer.add_image(loaded.data, name=name, scale=(px, px), colormap="gray",
                            metadata={"pixel_size_um": px, **metadata})


def open_demo(folder, viewer=None, block: bool = False, run_widgets: bool = True):
    """Show a demo folder in ``viewer`` (a new one by default) and return the viewer.

    Parameters
    ----------
    folder : path
        The ``--out`` folder of a finished ``msc-morph demo`` run.
    viewer : napari.Viewer, optional
    block : bool
        Start the Qt event loop (``napari.run()``) before returning.
    run_widgets : bool
        Run prediction and measurement in the docked widgets (their workers
        finish in the background); False only loads the layers.
    """
    import napari

    folder = Path(folder)
    scores_csv = folder / "osteogenic" / "held_out_os_scores.csv"
    if not scores_csv.exists():
        raise FileNotFoundError(
            f"{folder} is not a finished demo folder ({scores_csv.name} is missing); "
            f"run `msc-morph demo --out {folder}` first."
        )
    viewer = viewer or napari.Viewer(title="napari-msc-morph demo")
    scores = pd.read_csv(scores_csv)
    donor = sorted(scores["donor"].unique())[-1]
    image_layers = []
    for condition, day in SHOWN:
        rows = scores[(scores["donor"] == donor) & (scores["condition"] == condition)
                      & (scores["day"] == day)]
        if rows.empty:
            continue
        row = rows.iloc[0]
        layer = _add_image(viewer, Path(row["path"]), row["sample_id"], {
            "sample_id": row["sample_id"], "donor": row["donor"], "day": int(row["day"]),
            "condition": row["condition"],
        })
        image_layers.append(layer)

    if_fields = sorted((folder / "morphometry").glob("*_if.tif"))
    labels_layer = None
    if_layers = []
    if if_fields:
        stem = str(if_fields[0])[: -len("_if.tif")]
        loaded = read_image(if_fields[0])
        px = loaded.pixel_size_um
        names = loaded.metadata.get("Labels") or [f"channel {i}" for i in range(loaded.data.shape[0])]
        from ..synthetic import IF_COLORMAPS

        for name, plane in zip(names, loaded.data):
            if_layers.append(viewer.add_image(plane, name=name, scale=(px, px), blending="additive",
                             colormap=IF_COLORMAPS.get(name, "gray"),
                             visible=name in ("DAPI", "actin", "RUNX2"),
                             metadata={"pixel_size_um": px, "channel": name}))
        nuclei = read_image(f"{stem}_nuclei.tif").data
        cells = read_image(f"{stem}_cells.tif").data
        if_layers.append(viewer.add_labels(nuclei, name="nuclei", scale=(px, px), visible=False))
        labels_layer = viewer.add_labels(cells, name="cells", scale=(px, px), opacity=0.5)
        if_layers.append(labels_layer)
    arrange_by_experiment(image_layers, if_layers)

    from .results_table import get_results_table

    get_results_table(viewer)
    if run_widgets:
        _run_prediction(viewer, folder / "models" / "osteogenic.zip", image_layers)
        if labels_layer is not None:
            _run_measurement(viewer, labels_layer)
    if image_layers:
        viewer.layers.selection.active = image_layers[0]
    viewer.reset_view()
    if block:
        napari.run()
    return viewer


def _run_prediction(viewer, bundle: Path, layers):
    from .predict_widget import PredictWidget

    widget = PredictWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Predict", area="right", tabify=True)
    widget.set_bundle_path(bundle)
    widget.set_selected_layers(layers)
    widget.tiling_combo.setCurrentText("grid")
    widget.run()


def _run_measurement(viewer, labels_layer):
    from .measure_widget import MeasureWidget

    widget = MeasureWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Measure cells", area="right",
                                  tabify=True)
    widget.labels_combo.setCurrentText(labels_layer.name)
    widget.nuclei_combo.setCurrentText("nuclei")
    widget.set_channels(["RUNX2", "OSX", "OCN"])
    widget.run()
