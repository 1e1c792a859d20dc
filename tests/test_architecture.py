"""The architecture rules of docs/architecture.md, enforced.

- The engine (every module but ``widgets/`` and ``_sample_data.py``) never
  imports napari, Qt or magicgui, at module level or inside a function.
- No import cycles between the package's modules, nor between its packages
  (counting imports inside functions too: a lazy import hides a cycle, it does
  not remove it).
- No ``_private`` name is used outside its own package.
- No module grows past ~500 lines (one job per module).
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "src" / "napari_msc_morph"
PACKAGE = "napari_msc_morph"
GUI_PACKAGES = ("napari", "qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "magicgui",
                "superqt", "vispy", "npe2")
FACE_ONLY = ("widgets", "_sample_data")
MAX_MODULE_LINES = 520


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def _is_engine(module: str) -> bool:
    inner = module.split(".")[1:2]
    return not inner or inner[0] not in FACE_ONLY


def _from_target(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` statement reads from."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str, path: Path) -> list[tuple[str, int]]:
    """Absolute names of everything ``module`` imports, with line numbers."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _from_target(module, is_package, node)
            found.append((target, node.lineno))
            # `from . import sub` imports a submodule: count it as such
            found += [(f"{target}.{alias.name}", node.lineno) for alias in node.names]
    return found


def test_engine_modules_never_import_napari_qt_or_magicgui():
    offenders = []
    for module, path in _modules().items():
        if not _is_engine(module):
            continue
        for name, line in _imports(module, path):
            if name.split(".")[0] in GUI_PACKAGES:
                offenders.append(f"{path.relative_to(PACKAGE_DIR)}:{line} imports {name}")
    assert not offenders, "engine modules must not import GUI packages:\n" + "\n".join(offenders)


def test_importing_every_engine_module_loads_no_gui_package():
    # __main__ runs the CLI when imported; its imports are checked statically above
    engine = [m for m in _modules() if _is_engine(m) and not m.endswith("__main__")]
    assert f"{PACKAGE}.bioimageio.export" in engine and f"{PACKAGE}.models.bundle" in engine
    script = textwrap.dedent(f"""
        import importlib, sys
        for name in {engine!r}:
            importlib.import_module(name)
        loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({GUI_PACKAGES!r}))
        print("GUI:", ",".join(loaded))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "GUI: \n" in result.stdout or result.stdout.strip() == "GUI:", result.stdout


def _import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for name, _ in _imports(module, path):
            if not name.startswith(PACKAGE):
                continue
            # the longest known module the name refers to (skip attributes)
            parts = name.split(".")
            while parts and ".".join(parts) not in modules:
                parts.pop()
            target = ".".join(parts)
            # a package's own parent inits run anyway; they are not an edge of this module
            if target and target != module and not module.startswith(target + "."):
                graph[module].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, on_stack, stack, result = {}, {}, set(), [], []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in graph:
        if node not in index:
            visit(node)
    return result


def test_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycles_between_package_modules():
    cycles = _cycles(_import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def _unit(module: str) -> str:
    """A module's package: ``napari_msc_morph.X`` (a subpackage or a top-level module)."""
    return ".".join(module.split(".")[:2])


def test_no_import_cycles_between_packages():
    graph: dict[str, set[str]] = {}
    for module, targets in _import_graph().items():
        graph.setdefault(_unit(module), set()).update(
            _unit(t) for t in targets if _unit(t) not in (_unit(module), PACKAGE))
    graph.pop(PACKAGE, None)  # the package's __init__ runs first anyway
    for targets in graph.values():
        targets.discard(PACKAGE)
    cycles = _cycles(graph)
    assert not cycles, "import cycles between packages:\n" + "\n".join(
        " <-> ".join(c) for c in cycles)


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _private_uses(module: str, path: Path) -> set[str]:
    """Dotted names of ``_private`` things ``module`` takes from another package."""
    tree = ast.parse(path.read_text(), filename=str(path))
    bound: dict[str, str] = {}  # local name -> the module or object it is
    used = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bound.update({a.asname: a.name for a in node.names if a.asname})
            bound.update({a.name.split(".")[0]: a.name.split(".")[0]
                          for a in node.names if not a.asname})
            used += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _from_target(module, path.name == "__init__.py", node)
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{target}.{alias.name}"
                used.append(f"{target}.{alias.name}")
    used += [f"{bound[n.value.id]}.{n.attr}" for n in ast.walk(tree)
             if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
             and n.value.id in bound]
    crossings = set()
    for name in used:
        parts = name.split(".")
        if parts[0] != PACKAGE:
            continue
        for i, part in enumerate(parts[1:], start=1):
            owner = ".".join(parts[:i])
            if _is_private(part) and owner != PACKAGE and _unit(owner) != _unit(module):
                crossings.add(".".join(parts[: i + 1]))
                break
    return crossings


def test_private_check_sees_both_forms(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("from ..io import _json_default, atomic_path\nfrom .. import models\n"
                    "from .own import _fine\nx = models._archive\n")
    assert _private_uses(f"{PACKAGE}.table_export_x.m", path) == {
        f"{PACKAGE}.io._json_default", f"{PACKAGE}.models._archive"}


def test_no_private_name_is_used_outside_its_package():
    found = {(str(path.relative_to(PACKAGE_DIR)), name)
             for module, path in _modules().items() for name in _private_uses(module, path)}
    assert not found, "private names used outside their package (make them public or move " \
                      "them):\n" + "\n".join(f"{p}: {n}" for p, n in sorted(found))


def test_no_module_over_the_size_limit():
    long = {str(p.relative_to(PACKAGE_DIR)): n for p in PACKAGE_DIR.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split them by job): {long}"


def _declared_distributions() -> set[str]:
    import re

    import tomllib

    project = tomllib.loads((PACKAGE_DIR.parents[1] / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra, extra_specs in project.get("optional-dependencies", {}).items():
        if extra != "testing":
            specs += extra_specs
    return {re.split(r"[\s<>=!~;\[]", spec, maxsplit=1)[0].lower().replace("_", "-")
            for spec in specs}


def test_every_imported_third_party_package_is_declared():
    from importlib.metadata import packages_distributions

    provided_by = packages_distributions()
    declared = _declared_distributions()
    missing = {}
    for module, path in _modules().items():
        for name, line in _imports(module, path):
            top = name.split(".")[0]
            if not top or top == PACKAGE or top in sys.stdlib_module_names:
                continue
            dists = {d.lower().replace("_", "-") for d in provided_by.get(top, [top])}
            if not dists & declared:
                missing.setdefault(top, f"{path.relative_to(PACKAGE_DIR)}:{line}")
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"
