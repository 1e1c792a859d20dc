"""``msc-morph import-bioimageio``: a bioimage.io model package back into a bundle."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..models.tasks import TASKS
from . import command_parser
from ._outputs import add_overwrite_argument, check_outputs


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = command_parser(subparsers, "import_bioimageio", (
        "Turn PACKAGE back into a model bundle (model.json + weights.safetensors) that "
        "msc-morph predict, the Predict widget and the Python API use. A package written "
        "by export-bioimageio carries its bundle (safetensors, nothing unpickled); other "
        "packages need pytorch_state_dict weights of napari-msc-morph's classifier "
        "architecture, read with PyTorch's restricted loader (weights_only). Needs the "
        "[bioimageio] extra."
    ))
    parser.add_argument("package", type=Path, metavar="PACKAGE",
                        help="bioimage.io package (.zip, its folder or its bioimageio.yaml)")
    parser.add_argument("--out", type=Path, required=True, metavar="BUNDLE",
                        help="the bundle to write (a folder, or a .zip)")
    parser.add_argument("--task", choices=list(TASKS), default=None,
                        help="the model's task, for packages that do not record it")
    parser.add_argument("--allow-download", action="store_true",
                        help="fetch files the package names by URL (https only, checked "
                             "against the sha256 in its description); without it a package "
                             "that names a URL is refused and nothing reaches the network")
    add_overwrite_argument(parser, "an existing bundle")
    return parser


def run(args) -> int:
    from ..bioimageio import import_bioimageio
    from ._progress import progress_bar

    check_outputs([("--out", args.out, "bundle")], [("package", args.package)],
                  overwrite=args.overwrite)
    with progress_bar("import-bioimageio", unit="step") as progress:
        result = import_bioimageio(args.package, args.out, task=args.task,
                                   allow_download=args.allow_download, progress=progress)
    print(f"{result.task} model ({result.backbone}; classes {', '.join(result.class_names)}) "
          f"from the package's {result.route} -> {result.path}")
    return 0
