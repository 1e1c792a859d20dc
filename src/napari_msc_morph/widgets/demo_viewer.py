"""Open a finished ``msc-morph demo`` folder in napari.

Loads what the demo produced the way a user would see their own data: held-out
bright-field images with the OsScore maps and results-table rows made by the
Predict widget, and an IF field with its labels measured by the Measure widget
(features in the Labels layer, the cell table docked). The widgets run their
usual thread workers, so the viewer stays responsive while they finish.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..io import read_image

#: Which held-out samples to show: the induced series and the day-21 control.
SHOWN = (("induced", 0), ("induced", 7), ("induced", 21), ("control", 21))


def _add_image(viewer, path: Path, name: str, metadata: dict):
    loaded = read_image(path)
    px = loaded.pixel_size_um
    if px is None:
        raise ValueError(f"{path} has no pixel size in its metadata; the demo writes one, "
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
    if if_fields:
        stem = str(if_fields[0])[: -len("_if.tif")]
        loaded = read_image(if_fields[0])
        px = loaded.pixel_size_um
        names = loaded.metadata.get("Labels") or [f"channel {i}" for i in range(loaded.data.shape[0])]
        from ..synthetic import IF_COLORMAPS

        for name, plane in zip(names, loaded.data):
            viewer.add_image(plane, name=name, scale=(px, px), blending="additive",
                             colormap=IF_COLORMAPS.get(name, "gray"),
                             visible=name in ("DAPI", "actin", "RUNX2"),
                             metadata={"pixel_size_um": px, "channel": name})
        nuclei = read_image(f"{stem}_nuclei.tif").data
        cells = read_image(f"{stem}_cells.tif").data
        viewer.add_labels(nuclei, name="nuclei", scale=(px, px), visible=False)
        labels_layer = viewer.add_labels(cells, name="cells", scale=(px, px), opacity=0.5)

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
    viewer.window.add_dock_widget(widget, name="Predict", area="right")
    widget.set_bundle_path(bundle)
    widget.set_selected_layers(layers)
    widget.tiling_combo.setCurrentText("grid")
    return widget.run()


def _run_measurement(viewer, labels_layer):
    from .measure_widget import MeasureWidget

    widget = MeasureWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Measure cells", area="right")
    widget.labels_combo.setCurrentText(labels_layer.name)
    widget.nuclei_combo.setCurrentText("nuclei")
    widget.set_channels(["RUNX2", "OSX", "OCN"])
    widget.run()
    return widget
