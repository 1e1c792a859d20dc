"""Write the registry tables into docs/architecture.md from the registries themselves.

    python docs/make_registry_tables.py

Every module-level :class:`napari_msc_morph.registry.Registry` in the engine is
found by importing the engine modules, so a new registry appears here without
editing this script. A test checks the committed page equals what this writes.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import napari_msc_morph
from napari_msc_morph.registry import Registry

PAGE = Path(__file__).with_name("architecture.md")
START, END = "<!-- registries:start -->", "<!-- registries:end -->"
FACES = ("napari_msc_morph.widgets", "napari_msc_morph._sample_data", "napari_msc_morph.__main__")


def _assigned_names(module) -> set[str]:
    """Names ``module`` assigns at its top level (not the ones it imports)."""
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, ast.AnnAssign) else [])
        names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def engine_registries() -> list[tuple[str, str, Registry]]:
    """(module, attribute, registry) for every engine registry, where it is defined."""
    found = {}
    for info in pkgutil.walk_packages(napari_msc_morph.__path__, "napari_msc_morph."):
        if info.name.startswith(FACES):
            continue
        module = importlib.import_module(info.name)
        defined = _assigned_names(module)
        for attr, value in vars(module).items():
            # listed once, in the module that defines it (not where it is re-exported)
            if isinstance(value, Registry) and attr in defined:
                found[id(value)] = (info.name, attr, value)
    return sorted(found.values(), key=lambda item: (item[0], item[1]))


#: Registries documented in full on their own page (a pointer here instead).
ELSEWHERE = {"COLUMNS": "morphometry.md"}


def render_tables() -> str:
    parts = []
    for module, attr, registry in engine_registries():
        if attr in ELSEWHERE:
            path = module.replace(".", "/").replace("napari_msc_morph/", "")
            parts.append(f"**{registry.kind}** — `{attr}` in `{path}.py`: {len(registry)} "
                         f"entries, listed in [{ELSEWHERE[attr]}]({ELSEWHERE[attr]}).\n")
            continue
        path = module.replace(".", "/").replace("napari_msc_morph/", "")
        parts.append(f"**{registry.kind}** — `{attr}` in `{path}.py`\n")
        rows = ["| name | what it is |", "|---|---|"]
        for name in registry.names():
            text = " ".join(registry.help(name).split()).replace("|", "\\|")
            rows.append(f"| `{name}` | {text} |")
        parts.append("\n".join(rows) + "\n")
    return "\n".join(parts)


def render() -> str:
    page = PAGE.read_text(encoding="utf-8")
    body = f"{START}\n\n{render_tables()}\n{END}"
    return re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: body, page,
                  flags=re.S)


def main() -> None:
    PAGE.write_text(render(), encoding="utf-8")
    print(PAGE)


if __name__ == "__main__":
    main()
