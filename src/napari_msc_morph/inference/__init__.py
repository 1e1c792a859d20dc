"""Inference: tiling, tiled prediction with model bundles, ordinal post-processing.

The one entry point is :func:`predict_images` (paths, arrays or stacks in,
:class:`~napari_msc_morph.inference.predict.Prediction` objects out; with
``explain=True`` each with its Grad-CAM map), and :func:`predictions_table`
turns its results into the results table; the ``Predict`` widget,
``msc-morph predict`` and the demo all call these two. :func:`explain_images`
gives Grad-CAM heat maps aligned with the images (``msc-morph explain``).
Both run the package's one per-item loop,
:func:`napari_msc_morph.batch.run_fields`.
"""

from ..tiling import TILINGS, center_box, grid_boxes, grid_layout, six_region_boxes, tile_boxes
from .explain import (
    PREDICTED_TARGET,
    Explainer,
    Explanation,
    explain_images,
    explainer_for,
    gradcam_layer,
    resolve_target,
)
from .images import (
    predict_images,
    prediction_rows,
    predictions_table,
    stack_planes,
    unique_notices,
)
from .inputs import ImageInput, expand_inputs, image_input, load_image
from .ordinal import (
    expected_value,
    interval_probabilities,
    ordinal_class_values,
    predicted_interval,
    score_limits,
    task_score,
)
from .overlay import heatmap_overlay
from .predict import DEVICES, PRECISIONS, Prediction, Predictor, predict_image

__all__ = [
    "Explainer",
    "Explanation",
    "PREDICTED_TARGET",
    "explain_images",
    "explainer_for",
    "gradcam_layer",
    "heatmap_overlay",
    "resolve_target",
    "DEVICES",
    "ImageInput",
    "PRECISIONS",
    "Prediction",
    "Predictor",
    "TILINGS",
    "center_box",
    "expand_inputs",
    "expected_value",
    "grid_boxes",
    "grid_layout",
    "image_input",
    "interval_probabilities",
    "load_image",
    "ordinal_class_values",
    "predict_image",
    "predict_images",
    "predicted_interval",
    "prediction_rows",
    "predictions_table",
    "score_limits",
    "six_region_boxes",
    "stack_planes",
    "task_score",
    "tile_boxes",
    "unique_notices",
]
