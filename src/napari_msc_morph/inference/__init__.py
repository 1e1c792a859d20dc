"""Inference: tiling, tiled prediction with model bundles, ordinal post-processing.

The engine takes numpy (or array-like) images and returns
:class:`~napari_msc_morph.inference.predict.Prediction` objects and pandas
tables; the ``Predict`` widget and ``msc-morph predict`` both call it.
"""

from .ordinal import (
    expected_value,
    interval_probabilities,
    ordinal_class_values,
    predicted_interval,
    task_score,
)
from .predict import Prediction, PredictionCancelled, Predictor, predict_image, predictions_table
from .tiling import center_box, grid_boxes, grid_layout, six_region_boxes, tile_boxes

__all__ = [
    "Prediction",
    "PredictionCancelled",
    "Predictor",
    "center_box",
    "expected_value",
    "grid_boxes",
    "grid_layout",
    "interval_probabilities",
    "ordinal_class_values",
    "predict_image",
    "predicted_interval",
    "predictions_table",
    "six_region_boxes",
    "task_score",
    "tile_boxes",
]
