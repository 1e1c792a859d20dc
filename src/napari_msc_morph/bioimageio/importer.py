"""A bioimage.io package back into a model bundle (``msc-morph import-bioimageio``).

Two routes, in this order: the bundle our export attaches (safetensors), else a
``pytorch_state_dict`` of our architecture rebuilt from the description. Both,
and why a local package never reaches the network, are in docs/sharing-models.md.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadInputError
from ..jobs import report
from ..models.bioimageio_arch import ARCHITECTURE_CALLABLE, ARCHITECTURE_MODULE
from ..models.bundle import (
    MODEL_JSON,
    WEIGHTS_FILE,
    ModelBundle,
    load_bundle,
    network_from_state,
    save_bundle,
)
from ..models.bundle_config import BundleConfig
from .deps import bioimageio_spec, summary_messages
from .sources import YAML_NAMES, read_rdf_yaml, read_source

__all__ = ["BioimageioImport", "import_bioimageio"]


@dataclass
class BioimageioImport:
    """What :func:`import_package` wrote: the bundle, and which route it took."""

    path: Path
    route: str
    task: str
    backbone: str
    class_names: tuple


def _check_is_package(path: Path) -> None:
    import zipfile

    if not path.exists():
        raise FileNotFoundError(f"bioimage.io package {path} does not exist.")
    if path.is_dir():
        if not any((path / n).is_file() for n in YAML_NAMES):
            raise BadInputError(
                f"{path} holds no bioimageio.yaml; it is not a bioimage.io package. Give the "
                "package .zip (or its unpacked folder)."
            )
        return
    if path.suffix.lower() in (".yaml", ".yml"):
        return
    if not zipfile.is_zipfile(path):
        raise BadInputError(
            f"{path.name} is not a bioimage.io package (a .zip holding bioimageio.yaml); "
            "export one with msc-morph export-bioimageio, or download the model's package."
        )
    with zipfile.ZipFile(path) as zf:
        names = {n.rsplit("/", 1)[-1] for n in zf.namelist()}
    if not names.intersection(YAML_NAMES):
        hint = (" It looks like a napari-msc-morph model bundle: use it directly (no import "
                "needed).") if MODEL_JSON in names else ""
        raise BadInputError(
            f"{path.name} holds no bioimageio.yaml, so it is not a bioimage.io package.{hint}"
        )


def _load_description(path: Path):
    spec, v0_5 = bioimageio_spec()
    read_rdf_yaml(path)  # a Python tag is refused here, naming the file
    # No I/O checks: they would send a request for every URL the description names
    # (citations, GitHub users, remote files); the files used are checked on reading.
    descr = spec.load_description(path, format_version="latest", perform_io_checks=False)
    if not isinstance(descr, v0_5.ModelDescr):
        errors = summary_messages(descr.validation_summary)
        kind = getattr(descr, "type", None)
        what = f"a {kind} description, not a model" if kind not in (None, "model") else (
            f"not a valid model description ({errors[0] if errors else 'invalid'})")
        raise BadInputError(f"{path.name} is {what}; only model packages can be imported.")
    return descr, v0_5


def import_bioimageio(package, out, *, task: str | None = None, allow_download: bool = False,
                      progress=None) -> BioimageioImport:
    """Write the model of bioimage.io ``package`` as a bundle at ``out`` (folder or ``.zip``).

    Parameters
    ----------
    package : path
        The package ``.zip`` (or its folder / ``bioimageio.yaml``).
    out : path
        The bundle to write.
    task : str, optional
        For packages that do not say it; checked otherwise.
    allow_download : bool, default False
        Fetch files named by URL (https only, sha256 checked); else a URL is refused.
    progress : callable, optional
        ``progress(done, total, message)``.
    """
    package = Path(package)
    _check_is_package(package)
    report(progress, 0, 3, "read package")
    descr, v0_5 = _load_description(package)
    report(progress, 1, 3, "weights")
    with tempfile.TemporaryDirectory(prefix="msc-morph-import-") as tmp:
        def read(entry, field):
            return read_source(entry, field, package.name, allow_download=allow_download)

        found = _attached_bundle(descr, Path(tmp), read)
        if found is not None:
            route, bundle = "bundle attachment", found
            _check_output_order(descr, v0_5, bundle.config, package.name)
        else:
            route, bundle = "pytorch_state_dict", _bundle_from_state_dict(descr, v0_5, task,
                                                                            package.name, read)
        if task is not None and bundle.config.task != task:
            raise BadInputError(
                f"{package.name} holds a model for the {bundle.config.task!r} task, not {task!r}."
            )
        report(progress, 2, 3, "write bundle")
        path = save_bundle(bundle.model, bundle.config, out)
    return BioimageioImport(Path(path), route, bundle.config.task, bundle.config.backbone,
                            tuple(bundle.config.class_names))


def _attached_bundle(descr, tmp: Path, read):
    """The bundle from the package's attachments, loaded and checked; None if not there."""
    by_name = {str(getattr(a.source, "path", a.source)).rsplit("/", 1)[-1]: a
               for a in descr.attachments}
    if MODEL_JSON not in by_name or WEIGHTS_FILE not in by_name:
        return None
    folder = tmp / "bundle"
    folder.mkdir()
    for name in (MODEL_JSON, WEIGHTS_FILE):
        (folder / name).write_bytes(read(by_name[name], f"attachment {name}"))
    return load_bundle(folder, device="cpu")


def _check_output_order(descr, v0_5, config, name: str) -> None:
    """Refuse output channel names that differ from the carried model.json's classes."""
    channels = [a for outp in descr.outputs for a in outp.axes
                if isinstance(a, v0_5.ChannelAxis)]
    if not channels:
        return
    described = [str(c) for c in channels[0].channel_names]
    carried = [str(c) for c in config.class_names]
    if described != carried:
        raise BadInputError(
            f"{name}: its description names the output channels {', '.join(described)} but the "
            f"model.json it carries lists the classes {', '.join(carried)}; one of them was "
            "edited, and the classes would come out mislabelled. Re-export the package from "
            "the original bundle."
        )


def _our_architecture(descr, name: str):
    weights = descr.weights
    entry = weights.pytorch_state_dict
    held = [f for f in ("pytorch_state_dict", "torchscript", "onnx", "keras_hdf5", "keras_v3",
                        "tensorflow_saved_model_bundle", "tensorflow_js")
            if getattr(weights, f, None) is not None]
    if entry is None:
        raise BadInputError(
            f"{name} has no pytorch_state_dict weights (it holds {', '.join(held)}) and no "
            "napari-msc-morph bundle inside, so its network cannot be rebuilt as a timm "
            "classifier. Only packages exported by msc-morph export-bioimageio, or with "
            f"pytorch_state_dict weights of {ARCHITECTURE_MODULE}.{ARCHITECTURE_CALLABLE}, "
            "can be imported."
        )
    arch = entry.architecture
    where = getattr(arch, "import_from", None) or str(getattr(arch, "source", "a file"))
    if where != ARCHITECTURE_MODULE or str(arch.callable) != ARCHITECTURE_CALLABLE:
        raise BadInputError(
            f"{name}'s network is {arch.callable} from {where}, not a napari-msc-morph "
            f"classifier ({ARCHITECTURE_MODULE}.{ARCHITECTURE_CALLABLE}); it cannot be "
            "imported as a bundle. Use the package with bioimage.io tools instead."
        )
    return entry


def _bundle_from_state_dict(descr, v0_5, task, name, read):
    """Route 2: rebuild config and network from the description and the ``.pt`` state dict."""
    entry = _our_architecture(descr, name)
    kwargs = dict(entry.architecture.kwargs)
    section = (descr.config.model_extra or {}).get("napari_msc_morph") or {}
    task = task or section.get("task")
    if not task:
        raise BadInputError(
            f"{name} does not say which task its model is for; give it with --task "
            "(passage, source, osteogenic or nsc_fate)."
        )
    values = _description_values(descr, v0_5, name)
    values.update(task=task, backbone=str(kwargs.get("backbone", "")),
                  in_chans=int(kwargs.get("in_chans", 3)),
                  description=f"Imported from bioimage.io package {name}: {descr.name}")
    for key in ("mean", "std"):  # one value for all channels
        if len(values[key]) == 1 and values["in_chans"] > 1:
            values[key] = values[key] * values["in_chans"]
    if int(kwargs.get("num_classes", len(values["class_names"]))) != len(values["class_names"]):
        raise BadInputError(
            f"{name}: the architecture has {kwargs.get('num_classes')} outputs but the output "
            f"tensor names {len(values['class_names'])} classes."
        )
    temperature = values.pop("temperature", None)
    if temperature is not None:  # prediction divides logits by T
        values["calibration"] = {"temperature": temperature,
                                 "fitted_on": f"bioimage.io package {name}"}
    try:
        config = BundleConfig(**values)
    except (TypeError, ValueError) as err:
        raise BadInputError(f"{name}: {err}") from err
    state = _load_state_dict(read(entry, "weights: pytorch_state_dict"), name)
    net = network_from_state(config, state, name, "pytorch_state_dict")
    return ModelBundle(model=net.eval(), config=config, path=None)


def _load_state_dict(data: bytes, name: str) -> dict:
    import io

    import torch

    try:
        # weights_only: PyTorch's restricted unpickler (tensors and plain containers only)
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as err:
        raise BadInputError(
            f"{name}: its pytorch_state_dict weights are not a plain state dict PyTorch can "
            f"load safely (weights_only=True): {str(err).splitlines()[0]}"
        ) from err
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise BadInputError(f"{name}: its pytorch_state_dict weights are not a dict of tensors.")
    return dict(state)


def _description_values(descr, v0_5, name: str) -> dict:
    """Class names, crop, pixel size, mean/std, intensity and temperature from the description."""
    inp, outp = descr.inputs[0], descr.outputs[0]
    channels = [a for a in outp.axes if isinstance(a, v0_5.ChannelAxis)]
    if len(descr.inputs) != 1 or len(descr.outputs) != 1 or not channels:
        raise BadInputError(
            f"{name} is not a single-input classifier with class names on its output's channel "
            "axis; it cannot be imported as a bundle."
        )
    values = {"class_names": [str(c) for c in channels[0].channel_names]}
    space = [a for a in inp.axes if isinstance(a, v0_5.SpaceInputAxis)]
    sizes = {int(a.size) for a in space if isinstance(a.size, int)}
    if len(space) != 2 or len(sizes) != 1:
        raise BadInputError(f"{name}: its input is not a fixed square 2D crop (y, x).")
    values["input_size"] = sizes.pop()
    if space[0].unit == "micrometer" and space[0].scale:
        values["pixel_size_um"] = float(space[0].scale)
    zmuv = [p for p in inp.preprocessing if isinstance(p, v0_5.FixedZeroMeanUnitVarianceDescr)]
    if not zmuv:
        raise BadInputError(
            f"{name}: its preprocessing has no fixed_zero_mean_unit_variance step, so the "
            "normalisation the network expects is unknown."
        )
    kw = zmuv[0].kwargs
    mean = kw.mean if isinstance(kw.mean, list) else [kw.mean]
    std = kw.std if isinstance(kw.std, list) else [kw.std]
    values["mean"], values["std"] = [float(m) for m in mean], [float(s) for s in std]
    ranged = any(isinstance(p, v0_5.ScaleRangeDescr) for p in inp.preprocessing)
    values["intensity"] = "percentile" if ranged else "dtype"
    scales = [p for p in outp.postprocessing if isinstance(p, v0_5.ScaleLinearDescr)]
    if scales and isinstance(scales[0].kwargs.gain, float) and scales[0].kwargs.gain > 0:
        values["temperature"] = 1.0 / scales[0].kwargs.gain
    return values

