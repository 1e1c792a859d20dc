"""``msc-morph export-bioimageio``: a model bundle as a bioimage.io model package."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import command_parser
from ._outputs import add_overwrite_argument, check_outputs

_WEIGHTS = ("both", "torchscript", "state-dict")


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = command_parser(subparsers, "export_bioimageio", (
        "Write MODEL (a bundle folder or .zip) as a bioimage.io model package that "
        "bioimage.io tools (the bioimageio CLI, bioimageio.core, deepImageJ, the "
        "bioimage.io website) can validate and run: TorchScript and/or PyTorch state-dict "
        "weights, the bundle's intensity scaling and mean/std as preprocessing, softmax "
        "over the class names, a test crop with the probabilities napari-msc-morph "
        "predicts for it, a cover image, a README and citations. The package is validated "
        "with bioimageio.spec and its test run with bioimageio.core before it is written. "
        "Needs the [bioimageio] extra."
    ))
    parser.add_argument("model", type=Path, metavar="MODEL", help="model bundle (folder or .zip)")
    parser.add_argument("--out", type=Path, required=True, metavar="PACKAGE.zip",
                        help="the package to write (.zip)")
    parser.add_argument("--author", action="append", default=[], metavar="NAME",
                        help="author of the model (required; repeat for several people)")
    parser.add_argument("--licence", "--license", dest="licence", default=None, metavar="SPDX",
                        help="SPDX licence of the weights (required), e.g. CC-BY-4.0, MIT")
    parser.add_argument("--weights", choices=_WEIGHTS, default="both",
                        help="weight formats: both (default), torchscript (runs without this "
                             "package) or state-dict (needs napari-msc-morph installed)")
    parser.add_argument("--test-image", type=Path, default=None, metavar="IMAGE",
                        help="image whose centre crop becomes the package's test input "
                             "(default: a synthetic bright-field field)")
    parser.add_argument("--cite", action="append", default=[], metavar="\"DOI TEXT\"",
                        help="an extra reference: a DOI, a space, the reference text (repeatable)")
    parser.add_argument("--name", default=None,
                        help="the package's display name (default from task and backbone)")
    parser.add_argument("--no-test", dest="run_test", action="store_false",
                        help="skip running the package's test with bioimageio.core (faster)")
    add_overwrite_argument(parser, "an existing package")
    return parser


def run(args) -> int:
    from ..bioimageio import check_authors, check_licence, export_bioimageio
    from ._progress import progress_bar

    check_authors(args.author)  # before any work: the two fields a package must have
    check_licence(args.licence)
    check_outputs([("--out", args.out, "bioimageio")],
                  [("model bundle", args.model), ("--test-image", args.test_image)],
                  overwrite=args.overwrite)
    with progress_bar("export-bioimageio", unit="step") as progress:
        result = export_bioimageio(
            args.model, args.out, authors=args.author, licence=args.licence,
            weights=args.weights, test_image=args.test_image, cite=args.cite, name=args.name,
            run_test=args.run_test, progress=progress,
        )
    probs = ", ".join(f"{p:.3f}" for p in result.probabilities)
    print(f"test crop: predicted {result.predicted_class} ({probs})")
    print(f"bioimageio.spec: {result.validation}; bioimageio.core test: {result.test}")
    for warning in result.warnings[:5]:
        print(f"  note: {warning}")
    print(f"{', '.join(result.weight_formats)} -> {args.out}")
    return 0
