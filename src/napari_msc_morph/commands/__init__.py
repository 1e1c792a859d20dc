"""One module per ``msc-morph`` sub-command; :data:`COMMANDS` names them with their help line,
so ``msc-morph --help`` lists every command without importing any."""

# Order is the order shown by `msc-morph --help`.
COMMANDS = {
    "demo": "run the whole study end to end on synthetic data and write report.html",
    "synth": "write a synthetic dataset with known ground truth",
    "segment": "segment nuclei (and whole cells) into label images",
    "measure": "measure cell size, shape and marker intensities into a table",
    "study": "a folder of fields -> tidy per-cell, per-field and per-sample tables",
    "predict": "predict passage / source / OsScore / fate for images with a model bundle",
    "explain": "Grad-CAM heat maps: where in each image a model bundle found its evidence",
    "train": "train a passage/source/osteogenic/neural-fate model on your own images",
    "recipes": "list the studies' training setups for `msc-morph train --recipe`",
    "evaluate": "evaluate a model bundle on a manifest split (metrics.json, predictions.csv, plots)",
    "correlate": "correlate image scores with molecular readouts (qPCR, western, IF)",
    "compare": "compare a value between groups (e.g. OsScore by day, cell area by condition)",
    "export_bioimageio": "write a model bundle as a bioimage.io model package (.zip, spec 0.5)",
    "import_bioimageio": "turn a bioimage.io model package into a model bundle",
}


def command_parser(subparsers, name: str, description: str):
    """The sub-parser of command ``name`` (a :data:`COMMANDS` key), with its one-line help."""
    return subparsers.add_parser(name.replace("_", "-"), help=COMMANDS[name],
                                 description=description)
