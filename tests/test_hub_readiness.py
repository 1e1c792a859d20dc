"""Ready for PyPI and the napari hub: metadata, changelog, a docs page per widget, npe2.

The hub lists a plugin from its PyPI metadata (classifiers with ``Framework :: napari``,
project URLs), its README and its npe2 manifest; `.napari-hub/` files are deprecated.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import tomllib
import yaml

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
MANIFEST = REPO / "src" / "napari_msc_morph" / "napari.yaml"
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]

#: napari.yaml widget command -> its docs page.
WIDGET_PAGES = {
    "napari-msc-morph.study": "widgets/study.md",
    "napari-msc-morph.segment_cells": "widgets/segment.md",
    "napari-msc-morph.measure_cells": "widgets/measure.md",
    "napari-msc-morph.fix_labels": "widgets/fix-labels.md",
    "napari-msc-morph.predict": "widgets/predict.md",
    "napari-msc-morph.train_model": "widgets/train.md",
    "napari-msc-morph.results_table": "widgets/results-table.md",
    "napari-msc-morph.correlation": "widgets/correlation.md",
}


def test_classifiers_say_napari_audience_topic_status_and_python_versions():
    classifiers = set(PROJECT["classifiers"])
    for needed in ("Framework :: napari", "Intended Audience :: Science/Research",
                   "Operating System :: OS Independent",
                   "Topic :: Scientific/Engineering :: Image Processing",
                   "Topic :: Scientific/Engineering :: Bio-Informatics"):
        assert needed in classifiers, needed
    assert sum(c.startswith("Development Status ::") for c in classifiers) == 1
    # the Python versions listed start at requires-python
    lowest = PROJECT["requires-python"].removeprefix(">=")
    versions = sorted((c.rsplit(" ", 1)[-1] for c in classifiers
                       if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)),
                      key=lambda v: int(v.split(".")[1]))
    assert versions and versions[0] == lowest
    # PEP 639: an SPDX expression, and no License classifier beside it (setuptools refuses both)
    assert PROJECT["license"] == "BSD-3-Clause"
    assert not any(c.startswith("License ::") for c in classifiers)


def test_project_urls_for_the_hub():
    urls = PROJECT["urls"]
    for key in ("Source Code", "Bug Tracker", "Documentation", "User Support"):
        assert urls[key].startswith("https://"), key


def test_changelog_keeps_a_changelog_and_matches_the_version():
    text = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## \[([^\]]+)\]", text, flags=re.MULTILINE)
    assert headings[0] == "Unreleased"
    assert headings[1] == PROJECT["version"]  # the latest release is the version in pyproject
    assert headings[-1] == "0.1.0"
    assert "keepachangelog.com" in text and "### Added" in text
    assert "bioimage.io" in text.split("## [0.1.0]")[0]


def test_every_widget_has_a_docs_page_linked_from_the_index_with_its_images():
    manifest = yaml.safe_load(MANIFEST.read_text())
    widgets = {w["command"] for w in manifest["contributions"]["widgets"]}
    assert widgets == set(WIDGET_PAGES), "a widget without a docs page (or a stale entry)"
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for page in WIDGET_PAGES.values():
        path = DOCS / page
        text = path.read_text(encoding="utf-8")
        assert f"({page})" in index, f"docs/index.md does not link {page}"
        images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
        assert images, f"{page} shows no screenshot"
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
            if not target.startswith("http"):
                assert (path.parent / target).resolve().is_file(), f"{page}: {target}"


def test_sharing_models_page_is_linked_from_index_and_model_bundle_page():
    for page in ("index.md", "model-bundle.md"):
        assert "(sharing-models.md)" in (DOCS / page).read_text(encoding="utf-8"), page


def test_npe2_validates_this_checkouts_manifest_file():
    # `npe2 validate napari-msc-morph` checks the installed distribution; this checks the
    # file in this source tree
    npe2 = Path(sys.executable).with_name("npe2")
    done = subprocess.run([str(npe2), "validate", str(MANIFEST)], capture_output=True,
                          text=True, cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "valid" in done.stdout
