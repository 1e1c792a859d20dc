"""The npe2 manifest: valid, shipped in the wheel, and every command runs."""

from __future__ import annotations

import importlib
import inspect
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from npe2 import PluginManifest

REPO = Path(__file__).resolve().parents[1]
# The manifest lives inside the package as a real file (a symlink breaks on
# Windows checkouts and is copied as a link by some wheel builders).
MANIFEST = REPO / "src" / "napari_msc_morph" / "napari.yaml"


def _manifest() -> PluginManifest:
    return PluginManifest.from_distribution("napari-msc-morph")


def _resolve(python_name: str):
    module_name, attr = python_name.split(":")
    return getattr(importlib.import_module(module_name), attr)


def test_manifest_is_found_by_npe2_and_matches_the_source_file():
    manifest = _manifest()
    assert manifest.name == "napari-msc-morph"
    source = PluginManifest.from_file(MANIFEST)
    installed_ids = [c.id for c in manifest.contributions.commands]
    assert [c.id for c in source.contributions.commands] == installed_ids


def test_manifest_is_a_real_file_not_a_symlink():
    assert MANIFEST.is_file() and not MANIFEST.is_symlink()
    links = [p for p in (REPO / "src").rglob("*") if p.is_symlink()]
    assert not links, f"symlinks in the package break wheels and Windows: {links}"


def test_npe2_validate_cli_passes():
    npe2_cli = Path(sys.executable).with_name("npe2")
    result = subprocess.run(
        [str(npe2_cli), "validate", "napari-msc-morph"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid" in (result.stdout + result.stderr).lower()


def test_every_command_imports_to_a_callable():
    commands = _manifest().contributions.commands
    assert commands, "the manifest names no commands"
    for command in commands:
        assert callable(_resolve(command.python_name)), command.id


def test_every_sample_command_returns_layer_data():
    manifest = _manifest()
    sample_commands = {s.command for s in manifest.contributions.sample_data}
    for command in manifest.contributions.commands:
        if command.id not in sample_commands:
            continue
        func = _resolve(command.python_name)
        kwargs = {}
        if "size" in inspect.signature(func).parameters:
            kwargs["size"] = (192, 256)  # keep the test fast; shapes are checked in the viewer test
        layers = func(**kwargs)
        assert layers, command.id
        for data, meta, kind in layers:
            assert kind in ("image", "labels"), command.id
            assert meta["name"], command.id
            assert len(meta["scale"]) == data.ndim - (1 if meta.get("rgb") else 0)


def test_every_widget_opens_in_a_real_viewer(make_napari_viewer):
    viewer = make_napari_viewer()
    widgets = _manifest().contributions.widgets or []
    for widget in widgets:
        dock, _ = viewer.window.add_plugin_dock_widget("napari-msc-morph", widget.display_name)
        assert dock is not None, widget.display_name


@pytest.mark.slow
def test_built_wheel_ships_the_manifest(tmp_path):
    # Build from a copy so the test never writes build/ or egg-info into the checkout.
    source = tmp_path / "src-copy"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "src", source / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(source)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    wheel = next(tmp_path.glob("napari_msc_morph-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        shipped = zf.read("napari_msc_morph/napari.yaml").decode()
        entry_points = next(n for n in zf.namelist() if n.endswith("entry_points.txt"))
        assert "napari_msc_morph:napari.yaml" in zf.read(entry_points).decode()
        assert "msc-morph = napari_msc_morph.cli:main" in zf.read(entry_points).decode()
    assert shipped == MANIFEST.read_text()
