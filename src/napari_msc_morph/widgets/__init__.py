"""napari widgets: translate layers <-> arrays and call the engine.

Only this package and ``_sample_data.py`` import napari or Qt.
"""
