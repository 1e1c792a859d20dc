"""Batch work over many fields: one task per field, serially or on a Dask cluster.

- :mod:`.fields`: what a field is, the fields manifest, folders and globs;
- :mod:`.run`: :func:`batch_client` (serial, ``--workers N``, ``--scheduler ADDRESS``)
  and :func:`run_fields`, the one per-item loop of all batch work, fields and images
  (progress, failures, partial results, input order), with :mod:`.prefetch` reading ahead;
- :mod:`.morphology`: :func:`segment_fields`, :func:`measure_fields`;

Batch prediction is this loop with a predict task: ``inference.cluster.predict_fields``
(inference uses batch, never the other way round).

``dask.distributed`` (the ``[distributed]`` extra) is imported only when a
cluster is used.
"""

from .fields import (
    CHANNEL_PREFIX,
    MANIFEST_COLUMNS,
    Field,
    FieldsManifestError,
    expand_spec,
    fields_from_specs,
    is_many,
    read_fields_manifest,
)
from .morphology import MeasureBatch, SegmentBatch, measure_fields, segment_fields
from .run import (
    CONNECT_TIMEOUT_S,
    ON_ERROR,
    FieldFailure,
    FieldResults,
    batch_client,
    check_cluster_options,
    error_text,
    failures_table,
    nothing_done,
    run_fields,
)

__all__ = [
    "CHANNEL_PREFIX",
    "CONNECT_TIMEOUT_S",
    "MANIFEST_COLUMNS",
    "ON_ERROR",
    "Field",
    "FieldFailure",
    "FieldResults",
    "FieldsManifestError",
    "MeasureBatch",
    "SegmentBatch",
    "batch_client",
    "check_cluster_options",
    "error_text",
    "expand_spec",
    "fields_from_specs",
    "is_many",
    "failures_table",
    "measure_fields",
    "nothing_done",
    "read_fields_manifest",
    "run_fields",
    "segment_fields",
]
