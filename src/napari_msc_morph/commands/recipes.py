"""``msc-morph recipes``: the published training setups ``train --recipe`` starts from."""

from __future__ import annotations

import argparse

from ..training.recipes import RECIPES
from . import command_parser

#: Columns of the listing: header -> how a recipe shows it.
_COLUMNS = {
    "recipe": lambda name, r: name,
    "task": lambda name, r: r.task + (f" ({'/'.join(r.class_names)})" if r.class_names else ""),
    "backbone": lambda name, r: r.backbone + (" (ImageNet)" if r.pretrained else " (scratch)"),
    "size": lambda name, r: f"{r.input_size} px {r.crop}",
    "optimizer/lr": lambda name, r: (f"{r.optimizer} {r.lr:g}"
                                     + (f" m{r.momentum:g}" if r.momentum is not None else "")),
    "batch": lambda name, r: str(r.batch_size),
    "scheduler": lambda name, r: (f"{r.scheduler} on {r.monitor}"
                                  + (f" (patience {r.plateau_patience})"
                                     if r.scheduler == "plateau" else "")
                                  + f", <= {r.epochs} epochs"
                                  + (f", stop after {r.early_stopping}" if r.early_stopping
                                     else ", no early stop")),
}


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = command_parser(subparsers, "recipes", (
        "List the published training setups (task, backbone, crop size, optimiser and "
        "learning rate, batch, schedule) with their source, and for every value whether the "
        "paper states it ('stated', with the section), does not ('Assumed': what was chosen "
        "and why) or does not define it ('defined by this tool'). `msc-morph train --recipe "
        "NAME` starts from one; options given explicitly override its values."
    ))
    parser.add_argument("--name", choices=RECIPES.names(), default=None,
                        help="show one recipe only")
    return parser


def recipes_table(names=None) -> str:
    """The listing: one aligned row per recipe, then each recipe's source."""
    names = list(names or RECIPES.names())
    rows = [list(_COLUMNS)] + [[show(n, RECIPES.get(n)) for show in _COLUMNS.values()]
                               for n in names]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    for n in names:
        recipe = RECIPES.get(n)
        values = recipe.config_values()
        lines += ["", f"{n}: {recipe.source}"]
        for key, origin in recipe.provenance:
            value = (getattr(values["augment"], key.split(".", 1)[1]) if key.startswith("augment.")
                     else "defaults" if key == "augment" else values[key])
            lines.append(f"  {origin.status:<20} {key} = {_show(value)}: {origin.note}")
    return "\n".join(lines)


def _show(value) -> str:
    if isinstance(value, tuple):
        return "/".join(value)
    return "none" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def run(args) -> int:
    print(recipes_table([args.name] if args.name else None))
    return 0
