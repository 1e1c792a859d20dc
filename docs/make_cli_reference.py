"""Write docs/cli.md from the `msc-morph` parsers' own --help text.

    python docs/make_cli_reference.py

A test checks that the committed page equals what this script writes, so the
reference cannot drift from the code.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from napari_msc_morph.cli import build_parser

PAGE = Path(__file__).with_name("cli.md")


def render() -> str:
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal; fix it for the page
    parser = build_parser()
    parser.prog = "msc-morph"
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    parts = [
        "# `msc-morph` command reference\n",
        "Generated from the commands' `--help` by `python docs/make_cli_reference.py`; "
        "every command calls the same engine functions as the napari widgets.\n",
        "```text\n" + parser.format_help().rstrip() + "\n```\n",
    ]
    for name, sub in subparsers.choices.items():
        parts.append(f"## `msc-morph {name}`\n")
        parts.append("```text\n" + sub.format_help().rstrip() + "\n```\n")
    return "\n".join(parts)


def main() -> None:
    PAGE.write_text(render(), encoding="utf-8")
    print(PAGE)


if __name__ == "__main__":
    main()
