"""Inference: tiled prediction and Grad-CAM with model bundles, ordinal post-processing.

Every face calls :func:`predict_images` (``explain=True`` adds Grad-CAM) and
:func:`predictions_table`; ``msc-morph explain`` calls :func:`explain_images`.
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
