"""The files a bioimage.io package names, read without reaching the network unasked.

Every file an import reads goes through :func:`read_source`; the rules (URLs only
with ``allow_download``, https and a sha256; nothing outside the package) are in
docs/sharing-models.md.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

from ..errors import BadInputError

__all__ = ["YAML_NAMES", "read_rdf_yaml", "read_source"]

#: What a package calls its description (newest name first).
YAML_NAMES = ("bioimageio.yaml", "rdf.yaml")


def _yaml_text(path: Path) -> tuple[str, str]:
    """``(where, text)`` of the package's description (zip member, folder file or the file)."""
    if path.is_dir():
        found = next(path / n for n in YAML_NAMES if (path / n).is_file())
        return str(found), found.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() in (".yaml", ".yml"):
        return str(path), path.read_text(encoding="utf-8", errors="replace")
    with zipfile.ZipFile(path) as zf:
        members = [n for n in zf.namelist() if PurePosixPath(n).name in YAML_NAMES]
        member = min(members, key=lambda n: (n.count("/"), YAML_NAMES.index(PurePosixPath(n).name)))
        return f"{path.name}:{member}", zf.read(member).decode("utf-8", errors="replace")


def read_rdf_yaml(path: Path) -> dict:
    """The package's description as plain data, parsed with a safe loader, so a
    ``!!python/...`` tag is refused naming the file."""
    from bioimageio.spec.utils import read_yaml  # its safe loader (ruyaml, typ="safe")

    where, text = _yaml_text(path)
    try:
        data = read_yaml(text)
    except Exception as err:  # ruyaml's errors; ruyaml is bioimageio.spec's, not ours
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if type(err).__name__ == "ConstructorError":
            raise BadInputError(
                f"{where} holds a YAML tag that would build a Python object ({first}); a "
                "package description may hold only plain data, so it is refused unread. Ask "
                "its author for a package without '!!python/...' tags."
            ) from err
        raise BadInputError(f"{where} is not valid YAML ({first}); the package is damaged.") \
            from err
    if not isinstance(data, dict):
        raise BadInputError(f"{where} does not hold a YAML mapping; it is not a package "
                            "description.")
    return data


def _remote(source) -> str | None:
    text = str(source)
    return text if urlparse(text).scheme.lower() in ("http", "https", "ftp", "ftps") else None


def read_source(descr, field: str, package: str, *, allow_download: bool = False) -> bytes:
    """The bytes of one file the description names (``descr.source``, ``descr.sha256``).

    Parameters
    ----------
    descr : FileDescr-like
    field, package : str
        Where the description names it and the package's file name, for messages.
    allow_download : bool, default False
        Whether a URL may be fetched (https only, with its sha256 declared).
    """
    from bioimageio.spec.utils import get_reader

    source, declared = descr.source, getattr(descr, "sha256", None)
    declared = str(declared).lower() if declared is not None else None
    url = _remote(source)
    if url is not None:
        if not allow_download:
            raise BadInputError(
                f"{package}: {field} is a URL ({url}), not a file inside the package. Importing "
                "a local package never downloads anything; pass --allow-download to fetch it "
                "(https only, checked against the sha256 in the description), or get a package "
                "that holds the file."
            )
        if urlparse(url).scheme.lower() != "https":
            raise BadInputError(
                f"{package}: {field} is {url}; downloads are made only over https (an "
                "unencrypted download can be changed on the way). Ask for an https address."
            )
        if not declared:
            raise BadInputError(
                f"{package}: {field} is {url} without a sha256 in the description, so what "
                "arrives could not be checked; it is not downloaded."
            )
    else:
        rel = getattr(source, "path", None)
        parts = PurePosixPath(str(rel if rel is not None else source).replace("\\", "/")).parts
        if rel is None or ".." in parts:
            raise BadInputError(
                f"{package}: {field} points outside the package ({source}); a package may only "
                "name files inside itself."
            )
    data = get_reader(source).read()
    actual = hashlib.sha256(data).hexdigest()
    if declared and actual != declared:
        raise BadInputError(
            f"{package}: the sha256 of {field} ({actual[:12]}…) differs from the description "
            f"({declared[:12]}…); the file was changed or damaged. Get an intact package."
        )
    return data
