"""Model bundles: a folder or ``.zip`` of ``model.json`` and ``weights.safetensors``.

Loading never unpickles anything, checks the weights' sha256 and numbers at the
door, and judges a ``.zip`` before unpacking it (:mod:`._archive`); writing is
atomic. The format is described in docs/model-bundle.md.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadInputError
from ._archive import MODEL_JSON, PICKLE_SUFFIXES, WEIGHTS_FILE, bundle_files
from .backbones import classifier_out_features, create_backbone
from .bundle_config import SCHEMA_VERSION, BundleConfig, check_fingerprint, output_fingerprint
from .checks import check_finite_tensors
from .tasks import TaskSpec

__all__ = [
    "BundleConfig",
    "ModelBundle",
    "save_bundle",
    "load_bundle",
    "read_bundle_config",
    "SCHEMA_VERSION",
    "MODEL_JSON",
    "WEIGHTS_FILE",
    "bundle_files",
    "compare_state_shapes",
    "network_from_state",
]


@dataclass
class ModelBundle:
    """A loaded network with its configuration.

    Attributes
    ----------
    model : torch.nn.Module
        In ``eval()`` mode, on the device given to :func:`load_bundle`.
    config : BundleConfig
    path : Path or None
        Where it was loaded from.
    """

    model: object
    config: BundleConfig
    path: Path | None = None

    @property
    def task(self) -> TaskSpec:
        return self.config.task_spec


# --------------------------------------------------------------------------- save
def save_bundle(model, config: BundleConfig, path: str | os.PathLike) -> Path:
    """Write ``model`` and ``config`` as a bundle folder or ``.zip``, atomically.

    Parameters
    ----------
    model : torch.nn.Module
        A network of ``config``'s backbone, classes and channels.
    config : BundleConfig
        Gets its hashes, version, date and ``model_id`` filled in.
    path : path
        ``.zip`` for a single file, else a folder; only a bundle there is replaced.

    Returns
    -------
    Path
    """
    from safetensors.torch import save as save_safetensors

    from .. import __version__
    from ..io import DISK_FULL, atomic_path, disk_full_error

    path = Path(path)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise BadInputError(
            f"{path.name}: bundles are a folder or a .zip (model.json + weights.safetensors), "
            "never a pickle file."
        )
    config.validate()
    _check_model_matches(model, config)
    state = {
        k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()
    }
    weights = save_safetensors(state, metadata={"format": "pt"})
    sha = hashlib.sha256(weights).hexdigest()
    config.weights_sha256 = sha
    config.package_version = __version__
    config.created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    config.output_sha256 = output_fingerprint(config)
    config.model_id = f"{config.task}-{config.backbone}-{config.output_sha256[:8]}"
    text = json.dumps(config.to_dict(), indent=2)

    if path.suffix.lower() == ".zip":

        if path.exists() and not path.is_file():
            raise BadInputError(f"{path} exists and is not a file; choose another bundle path.")
        with atomic_path(path) as tmp:
            with zipfile.ZipFile(tmp, "w") as zf:
                zf.writestr(MODEL_JSON, text, compress_type=zipfile.ZIP_DEFLATED)
                zf.writestr(WEIGHTS_FILE, weights, compress_type=zipfile.ZIP_STORED)
        return path

    if path.exists():
        if not path.is_dir():
            raise BadInputError(f"{path} exists and is not a folder; choose another bundle path.")
        extra = [p.name for p in path.iterdir() if p.name not in (MODEL_JSON, WEIGHTS_FILE)]
        if extra:
            raise BadInputError(
                f"{path} exists and holds other files ({', '.join(sorted(extra)[:3])}); "
                "choose an empty or new folder for the bundle."
            )
    try:
        _write_folder(path, text, weights)
    except OSError as err:
        if err.errno in DISK_FULL:  # "[Errno 28]" alone names no file
            raise disk_full_error(err, path) from err
        raise
    return path


def _write_folder(path: Path, text: str, weights: bytes) -> None:
    """Both files into a hidden folder beside ``path``, then renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    try:
        # mkdtemp's folder is private (0700): give colleagues on a shared drive the umask mode
        umask = os.umask(0)  # reading the umask means setting it
        os.umask(umask)
        os.chmod(tmp_dir, 0o777 & ~umask)
        (tmp_dir / WEIGHTS_FILE).write_bytes(weights)
        (tmp_dir / MODEL_JSON).write_text(text)
        if path.exists():
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.old."))
            os.replace(path, old / "bundle")
            os.replace(tmp_dir, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp_dir, path)
    finally:
        if tmp_dir.exists():
            shutil.rmtree(tmp_dir, ignore_errors=True)


def _check_model_matches(model, config: BundleConfig) -> None:
    out = classifier_out_features(model)
    if out is not None and out != config.num_classes:
        raise BadInputError(
            f"The model's head has {out} outputs but the config lists "
            f"{config.num_classes} classes ({', '.join(config.class_names)})."
        )
    reference = create_backbone(config.backbone, config.num_classes, in_chans=config.in_chans)
    compare_state_shapes(reference.state_dict(), model.state_dict(), config, "the model")


# --------------------------------------------------------------------------- load
def read_bundle_config(path: str | os.PathLike) -> BundleConfig:
    """Read and validate only ``model.json`` of a bundle (no weights, no network)."""
    path = _bundle_path(path)
    with bundle_files(path, want_weights=False) as files:
        config = _parse_config(files.text, path)
    check_fingerprint(config, f"{MODEL_JSON} in {path.name}")
    return config


def load_bundle(
    path: str | os.PathLike, device: str = "cpu", task: str | None = None
) -> ModelBundle:
    """Load a bundle folder or ``.zip`` without unpickling anything.

    Parameters
    ----------
    path : path
        Bundle folder, ``.zip``, or the ``model.json`` inside a folder.
    device : str, default "cpu"
        One of :data:`~napari_msc_morph.models.backbones.DEVICES`.
    task : str, optional
        If given, a bundle for another task is refused.

    Returns
    -------
    ModelBundle
    """
    from safetensors.torch import load_file

    from .backbones import resolve_device

    path = _bundle_path(path)
    with bundle_files(path, want_weights=True) as files:
        config = _parse_config(files.text, path)
        if task is not None and config.task != task:
            raise BadInputError(
                f"{path.name} is a model for the {config.task!r} task, not {task!r}; "
                f"choose a {task} model."
            )
        sha = files.weights_sha256
        if sha != config.weights_sha256:
            raise BadInputError(
                f"{path.name}: the sha256 of {WEIGHTS_FILE} ({sha[:12]}…) does not match "
                f"model.json ({str(config.weights_sha256)[:12]}…); the weights were changed or "
                "corrupted after the bundle was written. Get an intact copy of the bundle."
            )
        try:
            state = load_file(str(files.weights))
        except Exception as err:
            raise BadInputError(
                f"{path.name}: {WEIGHTS_FILE} is not a valid safetensors file ({err})."
            ) from err
        model = network_from_state(config, state, path.name, WEIGHTS_FILE)
        del state  # a zip's weights file is removed when the block ends
    # last: the checks above name a damaged hash or class count more precisely
    check_fingerprint(config, f"{MODEL_JSON} in {path.name}")
    model.eval()
    model.to(resolve_device(device))
    return ModelBundle(model=model, config=config, path=path)


def _bundle_path(path: str | os.PathLike) -> Path:
    """The bundle's folder or ``.zip``; the ``model.json`` inside a folder names the folder."""
    path = Path(path)
    return path.parent if path.name == MODEL_JSON and path.is_file() else path


def _parse_config(text: str, path: Path) -> BundleConfig:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise BadInputError(f"{MODEL_JSON} in {path} is not valid JSON: {err}.") from err
    return BundleConfig.from_dict(data, source=f"{MODEL_JSON} in {path.name}")


def network_from_state(config: BundleConfig, state: dict, name: str, weights: str):
    """``config``'s network holding ``state``, once every tensor is finite and fits;
    ``name`` (the bundle or package) and ``weights`` (its weights) are named in errors."""
    check_finite_tensors(state, f"{name} ({weights})")
    model = create_backbone(config.backbone, config.num_classes, in_chans=config.in_chans)
    compare_state_shapes(model.state_dict(), state, config, f"{name}'s weights")
    model.load_state_dict(state, strict=True)
    return model


def compare_state_shapes(expected: dict, got: dict, config: BundleConfig, what: str) -> None:
    missing = [k for k in expected if k not in got]
    unexpected = [k for k in got if k not in expected]
    wrong = [k for k in expected if k in got and tuple(expected[k].shape) != tuple(got[k].shape)]
    if not (missing or unexpected or wrong):
        return
    # The head is the usual culprit: say it in terms of classes.
    for key in wrong:
        exp_shape, got_shape = tuple(expected[key].shape), tuple(got[key].shape)
        head_like = len(exp_shape) <= 2 and got_shape[1:] == exp_shape[1:]
        if exp_shape[0] == config.num_classes and head_like:
            raise BadInputError(
                f"{what} have a classifier with {got_shape[0]} outputs but model.json lists "
                f"{config.num_classes} classes ({', '.join(config.class_names)}); the class list "
                "does not belong to these weights."
            )
    parts = []
    if missing:
        parts.append(f"missing {len(missing)} tensors (e.g. {missing[0]})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected tensors (e.g. {unexpected[0]})")
    if wrong:
        k = wrong[0]
        parts.append(
            f"{len(wrong)} tensors of the wrong shape (e.g. {k}: "
            f"{tuple(got[k].shape)} vs {tuple(expected[k].shape)})"
        )
    raise BadInputError(
        f"{what} do not fit backbone {config.backbone!r} with {config.num_classes} classes and "
        f"{config.in_chans} input channels: {'; '.join(parts)}."
    )


