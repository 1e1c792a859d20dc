"""Packages from strangers (issue 25): no network unasked, no Python tags, no swapped classes.

Every case runs with the network cut (a socket that fails the test when used), asserts
exit code 2 (CLI) or the exception (library), that the message names the file, field or
orders at fault, and that nothing was written.
"""

from __future__ import annotations

import socket
import sys
import zipfile
from pathlib import Path

import pytest
from corpus_helpers import digests, stderr_lines

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))
from bioimageio_helpers import rewrite_package, tiny_bundle, without_bundle  # noqa: E402

from napari_msc_morph.bioimageio import export_bioimageio, import_bioimageio  # noqa: E402
from napari_msc_morph.cli import main  # noqa: E402
from napari_msc_morph.errors import BadInputError  # noqa: E402
from napari_msc_morph.models import read_bundle_config  # noqa: E402


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("bioimageio-round2")
    bundle = tiny_bundle(root / "model.zip")
    package = export_bioimageio(bundle, root / "package.zip", authors=["A B"], licence="MIT",
                                run_test=False).path
    return bundle, package


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to resolve a host or open a connection fails the test."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError(f"the import reached for the network: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield attempts
    assert not attempts, attempts


def _cli(capsys, *argv):
    rc = main([str(a) for a in argv])
    return rc, stderr_lines(capsys.readouterr().err)


def _member(package: Path, name: str) -> bytes:
    with zipfile.ZipFile(package) as zf:
        return zf.read(name)


def package_bundle(package: Path, tmp_path: Path) -> Path:
    """The bundle the package carries, unpacked as a folder."""
    folder = tmp_path / "carried"
    folder.mkdir()
    for name in ("model.json", "weights.safetensors"):
        (folder / name).write_bytes(_member(package, name))
    return folder


def _set_attachment(name, url, sha=True):
    def edit(content):
        for item in content["attachments"]:
            if item["source"] == name:
                item["source"] = url
                if not sha:
                    item.pop("sha256", None)
    return edit


# --------------------------------------------------------------------------- URLs
@pytest.mark.parametrize("name, url", [
    ("model.json", "http://evil.invalid/model.json"),
    ("model.json", "https://evil.invalid/model.json"),
    ("weights.safetensors", "https://evil.invalid/weights.safetensors"),
    ("weights.safetensors", "ftp://evil.invalid/weights.safetensors"),
])
def test_a_local_package_naming_a_url_is_refused_without_allow_download(
        made, tmp_path, capsys, no_network, name, url):
    _, package = made
    remote = rewrite_package(package, tmp_path / "remote.zip", _set_attachment(name, url),
                             drop=(name,))
    before = digests(remote)
    rc, lines = _cli(capsys, "import-bioimageio", remote, "--out", tmp_path / "b")
    assert rc == 2, lines
    # (a URL without "//" after the scheme is what the validator makes of ftp://)
    assert url.split("//", 1)[1] in lines[-1] and "--allow-download" in lines[-1]
    assert f"attachment {name}" in lines[-1]
    assert not (tmp_path / "b").exists() and digests(remote) == before


def test_a_state_dict_package_with_remote_weights_is_refused(made, tmp_path, no_network):
    _, package = made
    url = "https://evil.invalid/weights_state_dict.pt"

    def edit(content):
        without_bundle(content)
        content["weights"]["pytorch_state_dict"]["source"] = url

    remote = rewrite_package(package, tmp_path / "sd.zip", edit,
                             drop=("model.json", "weights.safetensors", "weights_state_dict.pt"))
    with pytest.raises(BadInputError, match="pytorch_state_dict.*--allow-download"):
        import_bioimageio(remote, tmp_path / "b", task="osteogenic")
    assert not (tmp_path / "b").exists()


def test_allow_download_still_refuses_plain_http(made, tmp_path, capsys, no_network):
    _, package = made
    remote = rewrite_package(package, tmp_path / "http.zip",
                             _set_attachment("model.json", "http://evil.invalid/model.json"),
                             drop=("model.json",))
    rc, lines = _cli(capsys, "import-bioimageio", remote, "--out", tmp_path / "b",
                     "--allow-download")
    assert rc == 2 and "only over https" in lines[-1] and "http://evil.invalid" in lines[-1]
    assert not (tmp_path / "b").exists()


def test_allow_download_refuses_a_url_without_its_sha256(made, tmp_path, capsys, no_network):
    _, package = made
    remote = rewrite_package(package, tmp_path / "nosha.zip",
                             _set_attachment("model.json", "https://evil.invalid/model.json",
                                             sha=False),
                             drop=("model.json",))
    rc, lines = _cli(capsys, "import-bioimageio", remote, "--out", tmp_path / "b",
                     "--allow-download")
    assert rc == 2 and "without a sha256" in lines[-1] and "model.json" in lines[-1]
    assert not (tmp_path / "b").exists()


def _serve(monkeypatch, files: dict):
    """Stand in for the download: ``files`` maps URLs to the bytes "the server" sends."""
    import bioimageio.spec.utils as spec_utils

    original = spec_utils.get_reader
    fetched = []

    class _Reader:
        def __init__(self, data):
            self.data = data

        def read(self):
            return self.data

    def get_reader(source, *args, **kwargs):
        if str(source) in files:
            fetched.append(str(source))
            return _Reader(files[str(source)])
        return original(source, *args, **kwargs)

    monkeypatch.setattr(spec_utils, "get_reader", get_reader)
    return fetched


def test_allow_download_fetches_https_and_checks_the_hash(made, tmp_path, monkeypatch):
    _, package = made
    url = "https://models.example.org/model.json"
    remote = rewrite_package(package, tmp_path / "https.zip",
                             _set_attachment("model.json", url), drop=("model.json",))
    fetched = _serve(monkeypatch, {url: _member(package, "model.json")})
    with pytest.raises(BadInputError, match="--allow-download"):
        import_bioimageio(remote, tmp_path / "refused")
    assert fetched == [] and not (tmp_path / "refused").exists()
    result = import_bioimageio(remote, tmp_path / "b", allow_download=True)
    assert fetched == [url] and result.class_names == ("control", "induced")
    assert read_bundle_config(tmp_path / "b").model_id == read_bundle_config(package_bundle(
        package, tmp_path)).model_id


def test_a_download_whose_hash_differs_is_refused(made, tmp_path, monkeypatch):
    _, package = made
    url = "https://models.example.org/model.json"
    remote = rewrite_package(package, tmp_path / "https.zip",
                             _set_attachment("model.json", url), drop=("model.json",))
    _serve(monkeypatch, {url: _member(package, "model.json").replace(b"control", b"contrul")})
    with pytest.raises(BadInputError, match="sha256 of attachment model.json.*differs"):
        import_bioimageio(remote, tmp_path / "b", allow_download=True)
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("edit", [
    pytest.param(lambda c: c["documentation"].update(source="https://evil.invalid/README.md"),
                 id="doc"),
    pytest.param(lambda c: c["covers"][0].update(source="https://evil.invalid/cover.png"),
                 id="cover"),
    pytest.param(lambda c: c["cite"][0].update(url="https://evil.invalid/paper"), id="cite"),
    pytest.param(lambda c: c["authors"][0].update(github_user="someone-unknown"),
                 id="github-user"),
    pytest.param(lambda c: c.update(git_repo="https://github.com/evil/repo"), id="git-repo"),
])
def test_urls_the_import_does_not_need_are_never_visited(made, tmp_path, no_network, edit):
    _, package = made
    package2 = rewrite_package(package, tmp_path / "urls.zip", edit, drop=())
    result = import_bioimageio(package2, tmp_path / "b")
    assert result.route == "bundle attachment" and (tmp_path / "b" / "model.json").is_file()


def test_a_path_outside_the_package_is_refused(made, tmp_path, no_network):
    _, package = made
    outside = rewrite_package(package, tmp_path / "dotdot.zip",
                              _set_attachment("model.json", "../model.json"), drop=())
    (tmp_path / "model.json").write_bytes(_member(package, "model.json"))
    with pytest.raises(BadInputError, match="outside the package"):
        import_bioimageio(outside, tmp_path / "b")
    assert not (tmp_path / "b").exists()


def test_a_changed_attachment_is_refused_by_its_hash(made, tmp_path, no_network):
    _, package = made
    text = _member(package, "model.json").replace(b'"six"', b'"grid"')
    changed = rewrite_package(package, tmp_path / "edited.zip", lambda c: None, drop=(),
                              replace={"model.json": text})
    with pytest.raises(BadInputError, match="sha256 of attachment model.json"):
        import_bioimageio(changed, tmp_path / "b")
    assert not (tmp_path / "b").exists()


# --------------------------------------------------------------------------- class order
def _swap_channels(content):
    axis = content["outputs"][0]["axes"][1]
    axis["channel_names"] = list(reversed(axis["channel_names"]))


def test_output_channels_that_disagree_with_model_json_are_refused(made, tmp_path, capsys,
                                                                    no_network):
    _, package = made
    swapped = rewrite_package(package, tmp_path / "swapped.zip", _swap_channels, drop=())
    before = digests(swapped)
    rc, lines = _cli(capsys, "import-bioimageio", swapped, "--out", tmp_path / "b")
    assert rc == 2, lines
    assert "induced, control" in lines[-1] and "control, induced" in lines[-1]
    assert "swapped.zip" in lines[-1]
    assert not (tmp_path / "b").exists() and digests(swapped) == before


def test_output_channels_with_other_names_are_refused(made, tmp_path, no_network):
    _, package = made

    def rename(content):
        content["outputs"][0]["axes"][1]["channel_names"] = ["undifferentiated", "bone"]

    renamed = rewrite_package(package, tmp_path / "renamed.zip", rename, drop=())
    with pytest.raises(BadInputError, match="undifferentiated, bone.*control, induced"):
        import_bioimageio(renamed, tmp_path / "b")


# --------------------------------------------------------------------------- YAML tags
_TAGS = [
    "!!python/object:napari_msc_morph.models.bundle_config.BundleConfig {}",
    "!!python/object/apply:os.system ['touch {marker}']",
    "!!python/name:os.system",
]


@pytest.mark.parametrize("tag", _TAGS)
def test_a_yaml_python_tag_is_refused_naming_the_file(made, tmp_path, capsys, no_network, tag):
    _, package = made
    marker = tmp_path / "code-ran"
    tagged = tmp_path / "tagged.zip"
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(tagged, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "rdf.yaml":
                data += f"\nextra: {tag.replace('{marker}', str(marker))}\n".encode()
            dst.writestr(info.filename, data)
    rc, lines = _cli(capsys, "import-bioimageio", tagged, "--out", tmp_path / "b")
    assert rc == 2, lines
    assert "tagged.zip:rdf.yaml" in lines[-1] and "Python object" in lines[-1]
    assert not marker.exists() and not (tmp_path / "b").exists()


def test_broken_yaml_names_the_file(made, tmp_path, capsys, no_network):
    _, package = made
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(package) as zf:
        zf.extractall(folder)
    (folder / "rdf.yaml").write_text("name: [unclosed\n  : :\n")
    rc, lines = _cli(capsys, "import-bioimageio", folder, "--out", tmp_path / "b")
    assert rc == 2 and "rdf.yaml is not valid YAML" in lines[-1], lines


def test_a_yaml_list_is_not_a_description(tmp_path, capsys, no_network):
    listed = tmp_path / "rdf.yaml"
    listed.write_text("- a\n- b\n")
    rc, lines = _cli(capsys, "import-bioimageio", listed, "--out", tmp_path / "b")
    assert rc == 2 and "rdf.yaml does not hold a YAML mapping" in lines[-1], lines

