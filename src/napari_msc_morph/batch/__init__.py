"""Batch work: one task per field or image, serially or on a Dask cluster.

``dask.distributed`` (the ``[distributed]`` extra) is imported only when a cluster is used.
"""

from .._exports import lazy_exports

#: Public name -> its submodule, imported on first use (a dock pays only for what it uses).
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
