"""The docs stay true: the CLI reference matches --help, and pages show real screenshots."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_cli_reference_is_generated_from_current_help():
    render = runpy.run_path(str(DOCS / "make_cli_reference.py"))["render"]
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == render(), (
        "docs/cli.md is stale: run `python docs/make_cli_reference.py`"
    )


def test_every_image_a_page_shows_exists_and_is_a_png():
    pages = sorted(DOCS.glob("*.md"))
    assert pages
    shown = 0
    for page in pages:
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page.read_text(encoding="utf-8")):
            path = (page.parent / target).resolve()
            assert path.exists(), f"{page.name} shows missing {target}"
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", target
            shown += 1
    assert shown >= 5


def test_every_page_is_linked_from_the_index():
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for page in DOCS.glob("*.md"):
        if page.name != "index.md":
            assert f"({page.name})" in index, f"docs/index.md does not link {page.name}"


def test_architecture_registry_tables_are_generated_from_the_registries():
    module = runpy.run_path(str(DOCS / "make_registry_tables.py"))
    assert module["engine_registries"](), "no engine registry found"
    assert (DOCS / "architecture.md").read_text(encoding="utf-8") == module["render"](), (
        "docs/architecture.md is stale: run `python docs/make_registry_tables.py`"
    )
