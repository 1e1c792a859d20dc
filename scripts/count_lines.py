"""Where the package's lines are: code, docstring, comment and blank lines per folder.

    python scripts/count_lines.py                 # the working tree's src/
    python scripts/count_lines.py --rev 4aa3588   # the same for a commit
    python scripts/count_lines.py --new-since 4aa3588
                                                  # ... and the files it lacked then

Only files git tracks count, so the total equals ``find src -name '*.py' | xargs cat |
wc -l`` when nothing there is untracked. A line is a docstring when it lies in the first
string statement of a module, class or function, a comment when its first non-blank
character is ``#``, blank when empty, and code otherwise.
Used for issue 21's line budget; not part of the package.
"""

from __future__ import annotations

import argparse
import ast
import collections
import io
import subprocess
import tokenize
from pathlib import PurePosixPath

KINDS = ("code", "docstring", "comment", "blank")


def line_kinds(source: str) -> list[str]:
    """One of :data:`KINDS` for each line of ``source``."""
    lines = source.splitlines()
    kinds = ["code" if line.strip() else "blank" for line in lines]
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT and lines[token.start[0] - 1].lstrip().startswith("#"):
            kinds[token.start[0] - 1] = "comment"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                kinds[first.lineno - 1:first.end_lineno] = ["docstring"] * (
                    first.end_lineno - first.lineno + 1)
    return kinds


def python_files(rev: str | None) -> dict[str, str]:
    """``{path: text}`` of the ``.py`` files under ``src/`` at ``rev`` (None: working tree)."""
    git = ["git", "ls-files"] if rev is None else ["git", "ls-tree", "-r", "--name-only", rev]
    paths = subprocess.run([*git, "src"], capture_output=True, text=True, check=True).stdout
    files = {}
    for path in paths.split():
        if not path.endswith(".py"):
            continue
        if rev is None:
            with open(path, encoding="utf-8") as handle:
                files[path] = handle.read()
        else:
            files[path] = subprocess.run(["git", "show", f"{rev}:{path}"], capture_output=True,
                                         text=True, check=True).stdout
    return files


def folder(path: str) -> str:
    """The package folder a file counts under (``top level`` for the package's own modules)."""
    parts = PurePosixPath(path).parts  # src/napari_msc_morph/<folder>/...
    return parts[2] if len(parts) > 3 else "top level"


def composition(files: dict[str, str]) -> dict[str, collections.Counter]:
    """Line kinds per folder, plus ``total``."""
    table: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for path, text in files.items():
        kinds = collections.Counter(line_kinds(text))
        table[folder(path)].update(kinds)
        table["total"].update(kinds)
    return table


def print_table(table: dict[str, collections.Counter]) -> None:
    print(f"{'folder':<14}" + "".join(f"{kind:>11}" for kind in (*KINDS, "lines")))
    for name in sorted(table, key=lambda n: (n == "total", -sum(table[n].values()))):
        counts = table[name]
        print(f"{name:<14}" + "".join(f"{counts[kind]:>11,}" for kind in KINDS)
              + f"{sum(counts.values()):>11,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", help="count this commit instead of the working tree")
    parser.add_argument("--new-since", metavar="REV",
                        help="also list the files that REV did not have, with their lines")
    args = parser.parse_args()
    files = python_files(args.rev)
    print_table(composition(files))
    if args.new_since:
        before = python_files(args.new_since)
        new = {path: len(text.splitlines()) for path, text in files.items() if path not in before}
        kept = [path for path in files if path in before]
        print(f"\nfiles {args.new_since} had: {len(kept)}, "
              f"{sum(len(files[p].splitlines()) for p in kept):,} lines now, "
              f"{sum(len(before[p].splitlines()) for p in kept):,} lines then")
        print(f"files new since {args.new_since}: {len(new)}, {sum(new.values()):,} lines")
        for path, count in sorted(new.items(), key=lambda item: -item[1]):
            print(f"{count:>7,}  {path}")


if __name__ == "__main__":
    main()
