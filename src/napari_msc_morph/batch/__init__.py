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

from .._exports import lazy_exports

#: Public name -> the submodule defining it, imported when the name is first used
#: (a dock importing one submodule does not pay for the others).
_EXPORTS = {
    "CHANNEL_PREFIX": ".fields",
    "CONNECT_TIMEOUT_S": ".run",
    "MANIFEST_COLUMNS": ".fields",
    "ON_ERROR": ".run",
    "Field": ".fields",
    "FieldFailure": ".run",
    "FieldResults": ".run",
    "FieldsManifestError": ".fields",
    "MeasureBatch": ".morphology",
    "SegmentBatch": ".morphology",
    "batch_client": ".run",
    "check_cluster_options": ".run",
    "error_text": ".run",
    "expand_spec": ".fields",
    "fields_from_specs": ".fields",
    "is_many": ".fields",
    "failures_table": ".run",
    "measure_fields": ".morphology",
    "nothing_done": ".run",
    "read_fields_manifest": ".fields",
    "run_fields": ".run",
    "segment_fields": ".morphology",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
