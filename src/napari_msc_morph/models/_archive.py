"""Reading a bundle's two files from a folder or a ``.zip``, safely.

A ``.zip`` is judged from its central directory before a byte is decompressed
(the limits below, no ``..`` names, no pickles); the weights are streamed into a
temporary file, hashed on the way, never held whole in memory.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import io
import logging
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import BadInputError

logger = logging.getLogger(__name__)

MODEL_JSON = "model.json"
WEIGHTS_FILE = "weights.safetensors"

#: Most members a bundle ``.zip`` may list.
MAX_MEMBERS = 64
#: Largest uncompressed member (the weights of the biggest usual backbones are < 1.5 GiB).
MAX_MEMBER_BYTES = 4 * 1024**3
#: Largest ``model.json``.
MAX_CONFIG_BYTES = 4 * 1024**2
#: Highest uncompressed/compressed ratio of a member over :data:`RATIO_MIN_BYTES`
#: (network weights barely compress; JSON about 5-10 times).
MAX_COMPRESSION_RATIO = 100
RATIO_MIN_BYTES = 1024**2
CHUNK_BYTES = 1024**2

# Files that are (or usually are) Python pickles: loading them could run code.
PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".bin", ".tar", ".joblib")


@dataclass
class BundleFiles:
    """``model.json``'s text and where the weights can be read (a local file)."""

    text: str
    weights: Path | None
    weights_sha256: str = ""
    ignored: list = field(default_factory=list)


def pickle_refusal(path: Path, inner: str | None = None) -> BadInputError:
    what = f"{path.name} (member {inner})" if inner else path.name
    return BadInputError(
        f"{what} is a pickled PyTorch/Python file. It is not loaded because unpickling "
        "can execute arbitrary code hidden in the file. Use a model bundle (a folder or "
        ".zip with model.json and weights.safetensors): load the state_dict where you "
        "trust it and write it with napari_msc_morph.models.save_bundle."
    )


_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


def config_text(data: bytes, where: str) -> str:
    """``model.json``'s text: UTF-8, or UTF-8/16/32 with a byte-order mark (Notepad's
    "Unicode")."""
    encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), "utf-8")
    if encoding == "utf-8" and len(data) > 1 and b"\x00" in data[:2]:
        encoding = "utf-16-le" if data[1:2] == b"\x00" else "utf-16-be"  # UTF-16 without BOM
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        raise BadInputError(
            f"{where} is not UTF-8 (or UTF-16/32 with a byte-order mark) text: byte "
            f"{err.start} cannot be read as {encoding}. Re-save it as UTF-8 or use an intact "
            "copy of the bundle."
        ) from err


def _refuse_pickled_head(path: Path, head: bytes) -> None:
    # A pickle (or torch.save zip) renamed to .safetensors: refuse before anything parses it.
    if head[:1] == b"\x80" or head[:4] == b"PK\x03\x04":
        raise pickle_refusal(path)


@contextlib.contextmanager
def bundle_files(path: Path, want_weights: bool) -> Iterator[BundleFiles]:
    """The bundle's files; a zip's weights live in a temporary file until the block ends."""
    if not path.exists():
        raise FileNotFoundError(f"Model bundle {path} does not exist.")
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise pickle_refusal(path)
    if path.is_dir():
        yield _folder_files(path, want_weights)
        return
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head[:1] == b"\x80":
        raise pickle_refusal(path)
    if not zipfile.is_zipfile(path):
        raise BadInputError(
            f"{path.name} is neither a bundle folder nor a .zip bundle "
            f"({MODEL_JSON} + {WEIGHTS_FILE})."
        )
    tmp = Path(tempfile.mkdtemp(prefix="msc-morph-bundle-")) if want_weights else None
    try:
        yield _zip_files(path, want_weights, tmp)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _found(path: Path, text: str, ignored: list[str]) -> BundleFiles:
    """``model.json``'s text, with a warning naming the files that are not the bundle's."""
    if ignored:
        shown = ", ".join(sorted(ignored)[:5]) + (" ..." if len(ignored) > 5 else "")
        logger.warning("%s: ignored %d file(s) that are not part of a model bundle: %s",
                       path.name, len(ignored), shown)
    return BundleFiles(text, None, ignored=ignored)


def _folder_files(path: Path, want_weights: bool) -> BundleFiles:
    json_path = path / MODEL_JSON
    weights_path = path / WEIGHTS_FILE
    if not json_path.is_file():
        pickles = [p.name for p in path.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES]
        if pickles:
            raise pickle_refusal(path / pickles[0])
        raise FileNotFoundError(
            f"{path} is not a model bundle: it has no {MODEL_JSON} (a bundle holds "
            f"{MODEL_JSON} and {WEIGHTS_FILE})."
        )
    if json_path.stat().st_size > MAX_CONFIG_BYTES:
        raise BadInputError(f"{json_path} is larger than {MAX_CONFIG_BYTES // 1024**2} MiB; "
                            "it is not a bundle's model.json.")
    files = _found(path, config_text(json_path.read_bytes(), str(json_path)),
                   [p.name for p in path.iterdir() if p.name not in (MODEL_JSON, WEIGHTS_FILE)])
    if want_weights:
        if not weights_path.is_file():
            raise FileNotFoundError(f"Model bundle {path} has no {WEIGHTS_FILE}.")
        digest = hashlib.sha256()
        with open(weights_path, "rb") as fh:
            _refuse_pickled_head(weights_path, fh.read(4))
            fh.seek(0)
            for chunk in iter(lambda: fh.read(CHUNK_BYTES), b""):
                digest.update(chunk)
        files.weights, files.weights_sha256 = weights_path, digest.hexdigest()
    return files


def _check_members(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    """Judge a zip from its central directory, before anything is decompressed."""
    if len(infos) > MAX_MEMBERS:
        raise BadInputError(
            f"{path.name} holds {len(infos)} members, more than the {MAX_MEMBERS} a model bundle "
            f"may have ({MODEL_JSON} + {WEIGHTS_FILE}); it is not a bundle. Zip only the "
            "bundle's two files."
        )
    for info in infos:
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
            raise BadInputError(
                f"{path.name}: member {name!r} points outside the archive (absolute path or "
                "'..'); the bundle is refused. Re-create the zip from the bundle folder."
            )
        if Path(name).suffix.lower() in PICKLE_SUFFIXES or name.endswith("data.pkl"):
            raise pickle_refusal(path, name)
        limit = MAX_CONFIG_BYTES if PurePosixPath(name).name == MODEL_JSON else MAX_MEMBER_BYTES
        if info.file_size > limit:
            raise BadInputError(
                f"{path.name}: member {name!r} unpacks to {info.file_size:,} bytes, more than "
                f"the {limit:,} allowed; the bundle is refused unopened."
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_MIN_BYTES and ratio > MAX_COMPRESSION_RATIO:
            raise BadInputError(
                f"{path.name}: member {name!r} is compressed {ratio:,.0f} times (a zip bomb: "
                f"at most {MAX_COMPRESSION_RATIO} is allowed); the bundle is refused unopened."
            )


def _stream(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, sink, limit: int) -> str:
    """Copy one member into ``sink`` in chunks, at most ``limit`` bytes; return its sha256."""
    digest = hashlib.sha256()
    written, cap = 0, min(limit, info.file_size)
    with zf.open(info) as member:
        for chunk in iter(lambda: member.read(CHUNK_BYTES), b""):
            written += len(chunk)
            if written > cap:
                raise BadInputError(
                    f"{path.name}: member {info.filename!r} unpacks past {cap:,} bytes (its "
                    "declared size, or the limit); the archive is damaged or crafted."
                )
            digest.update(chunk)
            sink.write(chunk)
    return digest.hexdigest()


def _zip_files(path: Path, want_weights: bool, tmp: Path | None) -> BundleFiles:
    with zipfile.ZipFile(path) as zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        _check_members(path, infos)
        json_infos = [i for i in infos if PurePosixPath(i.filename).name == MODEL_JSON]
        if len(json_infos) != 1:
            raise FileNotFoundError(
                f"{path.name} is not a model bundle: expected one {MODEL_JSON}, "
                f"found {len(json_infos)}."
            )
        prefix = json_infos[0].filename[: -len(MODEL_JSON)]
        wanted = (prefix + MODEL_JSON, prefix + WEIGHTS_FILE)
        buffer = io.BytesIO()
        _stream(zf, json_infos[0], path, buffer, MAX_CONFIG_BYTES)
        files = _found(path, config_text(buffer.getvalue(), f"{MODEL_JSON} in {path.name}"),
                       [i.filename for i in infos if i.filename not in wanted])
        if want_weights:
            try:
                info = zf.getinfo(wanted[1])
            except KeyError:
                raise FileNotFoundError(f"Model bundle {path.name} has no {WEIGHTS_FILE}.") from None
            target = tmp / WEIGHTS_FILE
            with open(target, "wb") as sink:
                files.weights_sha256 = _stream(zf, info, path, sink, MAX_MEMBER_BYTES)
            with open(target, "rb") as fh:
                _refuse_pickled_head(path, fh.read(4))
            files.weights = target
    return files
