"""``msc-morph predict``: predict bright-field images with a model bundle."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..tiling import TILINGS
from . import command_parser
from ._batch import add_batch_arguments, report_field_failures, side_path
from ._inference import add_inference_arguments
from ._outputs import add_overwrite_argument, check_outputs

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = command_parser(subparsers, "predict", (
        "Run a model bundle (folder or .zip with model.json + weights.safetensors) on "
        "images or folders of images and write one row per image (per plane for stacks): "
        "image, task, model_id, tiling, predicted_class, p_<class> for every class, "
        "interval3/5_lo/_hi/_p for ordinal tasks, the task's score (expected_passage, "
        "os_score) and n_tiles. An image that cannot be read or predicted does not stop the "
        "others: it is listed in an errors table beside OUT (predictions.errors.csv for "
        "predictions.csv: image, error) and the exit status is 3. Ctrl-C keeps the finished "
        "rows in predictions.partial.csv, never a half-written OUT. With --workers or "
        "--scheduler every image is one task on a Dask cluster (the model loaded once per "
        "worker); with --manifest the images come from a fields manifest and the table gets "
        "its field and sample_id columns."
    ))
    parser.add_argument("model", type=Path, metavar="MODEL", help="model bundle (folder or .zip)")
    parser.add_argument("images", type=Path, nargs="*", metavar="IMAGE_OR_DIR",
                        help="image files or folders (searched recursively); none with --manifest")
    parser.add_argument("--out", type=Path, required=True, help="output table (CSV or XLSX)")
    parser.add_argument("--tiling", choices=TILINGS.names(), default=None,
                        help="crop scheme (default: the bundle's): "
                        + "; ".join(f"{name}: {TILINGS.help(name)}" for name in TILINGS))
    parser.add_argument("--score-maps", type=Path, default=None, metavar="PATH",
                        help="write the per-tile score maps (grid tiling): a folder gets float32 "
                        "TIFFs, NAME.zarr an OME-Zarr, NAME.tif an OME BigTIFF (maps as "
                        "channels, one image or series per input)")
    add_inference_arguments(parser, "forward pass")
    add_batch_arguments(parser, "image")
    add_overwrite_argument(parser, "an existing table or score-map folder")
    return parser


def run(args) -> int:
    from ..errors import BadInputError, Cancelled
    from ..inference import Predictor, predict_images, predictions_table, unique_notices
    from ..inference.cluster import predict_fields
    from ..inference.score_store import write_score_maps
    from ..io import write_table
    from ..models.bundle import load_bundle
    from ._batch import check_cluster_args, cluster_requested, open_cluster, where
    from ._progress import progress_bar

    check_cluster_args(args)
    fields = _manifest_fields(args)
    images = args.images if fields is None else [Path(f.files["image"]) for f in fields]
    check_outputs([("--out", args.out, "table"), ("--score-maps", args.score_maps, "score_maps")],
                  [("model bundle", args.model), *(("image input", p) for p in images)],
                  overwrite=args.overwrite)
    bundle = load_bundle(args.model)
    tiling = args.tiling or bundle.config.tiling
    if args.score_maps is not None and not TILINGS.entry(tiling).extra.get("maps"):
        raise BadInputError(
            f"--score-maps needs --tiling grid (this run uses {tiling}); per-tile maps only "
            "exist for the sliding-window grid."
        )
    predictor = Predictor(bundle, device=args.device, precision=args.precision,
                          batch_size=args.batch_size)
    bar = progress_bar("predict", quiet=args.quiet)
    try:
        if fields is not None or cluster_requested(args):  # one task per image
            with open_cluster(args) as client, bar as progress:
                predictions = predict_fields(
                    predictor if client is None else args.model, images, tiling=tiling,
                    pixel_sizes=None if fields is None else [f.pixel_size_um for f in fields],
                    overlap=args.overlap, device=args.device, precision=args.precision,
                    batch_size=args.batch_size, pixel_size_um=args.pixel_size_um,
                    client=client, progress=progress)
        else:
            with bar as progress:
                predictions = predict_images(predictor, images, tiling=tiling,
                                             overlap=args.overlap,
                                             pixel_size_um=args.pixel_size_um,
                                             on_error="collect", progress=progress)
    except (Cancelled, KeyboardInterrupt) as stop:
        _keep_partial(getattr(stop, "partial", None), args.out)
        raise
    for notice in unique_notices(predictions):
        print(f"msc-morph predict: note: {notice}", file=sys.stderr)
    extra = None if fields is None else [fields[i].keys() for i in predictions.indices]
    table = predictions_table(predictions, extra)
    write_table(table, args.out, path_columns=("image",))
    ran = (f"{args.device}, {args.precision}, {where(args)}" if cluster_requested(args)
           else f"{predictor.device}, {predictor.precision}")
    print(f"{len(table)} predictions ({bundle.config.task}, {tiling}, {ran}) -> {args.out}")
    if args.score_maps is not None:
        write_score_maps(predictions, args.score_maps)
        print(f"score maps -> {args.score_maps}")
    return report_field_failures("predict", predictions.failures, args.out, "predicted")


def _manifest_fields(args):
    """The fields of --manifest (``None`` without one); IMAGE_OR_DIR and --manifest exclude."""
    from ..batch import read_fields_manifest
    from ..errors import BadInputError

    if args.manifest is None:
        if not args.images:
            raise BadInputError("give the images to predict (files or folders), or the fields "
                                "with --manifest FIELDS.csv.")
        return None
    if args.images:
        raise BadInputError("give the images either as IMAGE_OR_DIR or in --manifest, not both.")
    return read_fields_manifest(args.manifest, required=("image",))


def _keep_partial(batch, out: Path) -> None:
    """On Cancel/Ctrl-C keep the finished rows as ``<out>.partial.csv``; never ``out`` itself."""
    import pandas as pd

    from ..batch import failures_table
    from ..inference import predictions_table
    from ..io import write_table

    if batch is None or (not len(batch) and not batch.failures):
        print("msc-morph predict: no image was finished; nothing written.", file=sys.stderr)
        return
    partial = side_path(out, "partial")
    table = predictions_table(batch)
    if batch.failures:
        errors = failures_table(batch.failures)
        table = pd.concat([table, errors], ignore_index=True) if len(table) else errors
    table.insert(0, "partial", True)
    write_table(table, partial, path_columns=("image",))
    print(f"msc-morph predict: kept the {len(batch)} prediction(s) finished before the stop "
          f"(and {len(batch.failures)} failure(s)) in {partial}; {out} was not written.",
          file=sys.stderr)
