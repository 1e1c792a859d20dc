"""bioimage.io export/import refuse what they cannot honour, before writing anything.

Each case asserts exit code 2 (CLI) or the exception (library), that the one error
line names the offending option, file or architecture, and that the inputs and any
pre-existing output are byte-identical afterwards.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
import torch
from corpus_helpers import digests, stderr_lines

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))
from bioimageio_helpers import rewrite_package, tiny_bundle, without_bundle  # noqa: E402

from napari_msc_morph.bioimageio import export_bioimageio, import_bioimageio  # noqa: E402
from napari_msc_morph.cli import main  # noqa: E402
from napari_msc_morph.errors import BadInputError  # noqa: E402


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("bioimageio-bad")
    bundle = tiny_bundle(root / "model.zip")
    package = export_bioimageio(bundle, root / "package.zip", authors=["A B"], licence="MIT",
                                run_test=False).path
    return bundle, package


def _cli(capsys, *argv) -> tuple[int, list[str]]:
    rc = main([str(a) for a in argv])
    return rc, stderr_lines(capsys.readouterr().err)


@pytest.mark.parametrize("args, named", [
    ((), "--author"),
    (("--author", "Ada"), "--licence"),
    (("--author", "Ada", "--licence", "CC-BY"), "'CC-BY' is not an SPDX"),
    (("--author", "Ada", "--licence", "MIT", "--cite", "not-a-doi text"), "--cite"),
])
def test_export_without_author_or_licence_fails_before_any_work(made, tmp_path, capsys, args,
                                                                named):
    bundle, _ = made
    before = digests(bundle)
    out = tmp_path / "package.zip"
    rc, lines = _cli(capsys, "export-bioimageio", bundle, "--out", out, *args)
    assert rc == 2 and len(lines) == 1, lines
    assert lines[0].startswith("msc-morph export-bioimageio: error:") and named in lines[0]
    assert not out.exists() and digests(bundle) == before
    assert not list(tmp_path.iterdir())  # no temporary file left behind


def test_export_of_something_that_is_not_a_bundle(tmp_path, capsys):
    fake = tmp_path / "notes.zip"
    fake.write_text("not a zip")
    before = digests(fake)
    rc, lines = _cli(capsys, "export-bioimageio", fake, "--out", tmp_path / "p.zip",
                     "--author", "Ada", "--licence", "MIT")
    assert rc == 2 and "notes.zip" in lines[-1] and "bundle" in lines[-1]
    assert digests(fake) == before and not (tmp_path / "p.zip").exists()


def test_export_out_must_be_a_zip(made, tmp_path):
    bundle, _ = made
    with pytest.raises(BadInputError, match=r"\.zip"):
        export_bioimageio(bundle, tmp_path / "package", authors=["Ada"], licence="MIT")


@pytest.mark.parametrize("command", ["export-bioimageio", "import-bioimageio"])
def test_existing_out_is_kept_without_overwrite(made, tmp_path, capsys, command):
    bundle, package = made
    out = tmp_path / "existing.zip"
    out.write_bytes(b"precious")
    source = bundle if command == "export-bioimageio" else package
    extra = ("--author", "Ada", "--licence", "MIT") if command == "export-bioimageio" else ()
    before = digests(out, source)
    rc, lines = _cli(capsys, command, source, "--out", out, *extra)
    assert rc == 2 and "--overwrite" in lines[-1] and "existing.zip" in lines[-1]
    assert digests(out, source) == before


def test_import_of_a_bundle_or_a_random_file_is_not_a_package(made, tmp_path, capsys):
    bundle, _ = made
    rc, lines = _cli(capsys, "import-bioimageio", bundle, "--out", tmp_path / "b")
    assert rc == 2 and "no bioimageio.yaml" in lines[-1] and "use it directly" in lines[-1]
    text = tmp_path / "model.txt"
    text.write_text("hello")
    rc, lines = _cli(capsys, "import-bioimageio", text, "--out", tmp_path / "c")
    assert rc == 2 and "model.txt is not a bioimage.io package" in lines[-1]
    assert not (tmp_path / "b").exists() and not (tmp_path / "c").exists()


def _other_architecture(content):
    without_bundle(content)
    arch = content["weights"]["pytorch_state_dict"]["architecture"]
    arch.update(callable="UNet2d", import_from="some_lab.unet", kwargs={"depth": 4})


def test_import_of_another_architecture_is_refused(made, tmp_path, capsys):
    _, package = made
    foreign = rewrite_package(package, tmp_path / "unet.zip", _other_architecture)
    before = digests(foreign)
    rc, lines = _cli(capsys, "import-bioimageio", foreign, "--out", tmp_path / "b",
                     "--task", "osteogenic")
    assert rc == 2 and "UNet2d from some_lab.unet" in lines[-1], lines
    assert digests(foreign) == before and not (tmp_path / "b").exists()


def _torchscript_only(content):
    without_bundle(content)
    content["weights"].pop("pytorch_state_dict")
    content["weights"]["torchscript"].pop("parent", None)


def test_import_of_a_torchscript_only_package_says_what_it_holds(made, tmp_path):
    _, package = made
    foreign = rewrite_package(package, tmp_path / "ts.zip", _torchscript_only,
                              drop=("model.json", "weights.safetensors", "weights_state_dict.pt"))
    with pytest.raises(BadInputError, match="no pytorch_state_dict weights.*torchscript"):
        import_bioimageio(foreign, tmp_path / "b", task="osteogenic")


def test_import_of_a_state_dict_package_needs_its_task(made, tmp_path):
    _, package = made
    foreign = rewrite_package(package, tmp_path / "f.zip", without_bundle)
    with pytest.raises(BadInputError, match="--task"):
        import_bioimageio(foreign, tmp_path / "b")
    assert not (tmp_path / "b").exists()


class _Planted:
    """Unpickling this would create a file: the import must never unpickle it."""

    target = ""

    def __reduce__(self):
        return (Path.touch, (Path(self.target),))


def test_import_never_runs_code_planted_in_a_state_dict(made, tmp_path):
    import io

    _, package = made
    planted = _Planted()
    planted.target = str(tmp_path / "code-ran")
    buffer = io.BytesIO()
    torch.save({"conv1.weight": torch.zeros(1), "extra": planted}, buffer, pickle_protocol=2)
    data = buffer.getvalue()

    def edit(content):
        without_bundle(content)
        content["weights"]["pytorch_state_dict"]["sha256"] = hashlib.sha256(data).hexdigest()
        content["weights"].pop("torchscript")

    foreign = rewrite_package(package, tmp_path / "planted.zip", edit,
                              drop=("model.json", "weights.safetensors", "weights_torchscript.pt"),
                              replace={"weights_state_dict.pt": data})
    with pytest.raises(BadInputError, match="weights_only"):
        import_bioimageio(foreign, tmp_path / "b", task="osteogenic")
    assert not (tmp_path / "code-ran").exists() and not (tmp_path / "b").exists()


def test_without_the_bioimageio_extra_the_message_names_it(made, tmp_path, capsys, monkeypatch):
    bundle, package = made
    for name in [m for m in sys.modules if m == "bioimageio" or m.startswith("bioimageio.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "bioimageio", None)
    rc, lines = _cli(capsys, "export-bioimageio", bundle, "--out", tmp_path / "p.zip",
                     "--author", "Ada", "--licence", "MIT")
    assert rc == 2 and 'napari-msc-morph[bioimageio]' in lines[-1], lines
    rc, lines = _cli(capsys, "import-bioimageio", package, "--out", tmp_path / "b")
    assert rc == 2 and 'napari-msc-morph[bioimageio]' in lines[-1], lines
    assert not (tmp_path / "p.zip").exists() and not (tmp_path / "b").exists()
