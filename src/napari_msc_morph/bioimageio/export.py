"""A model bundle written as a bioimage.io model package (spec 0.5).

The package's contents are listed in docs/sharing-models.md; it is validated
and its test run before it is moved into place, so a package that would not
pass is never written.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BadInputError
from ..io import atomic_path
from ..jobs import report
from ..models.bioimageio_arch import ARCHITECTURE_CALLABLE, ARCHITECTURE_MODULE
from ..models.bundle import (
    MODEL_JSON,
    WEIGHTS_FILE,
    ModelBundle,
    bundle_files,
    load_bundle,
    save_bundle,
)
from ..models.calibration import bundle_temperature
from ..models.intensity import PERCENTILES
from .deps import bioimageio_core, bioimageio_spec, summary_messages
from .parts import (
    check_authors,
    check_licence,
    citations_for,
    cover_image,
    make_test_tensors,
    package_readme,
    parse_citation,
)

__all__ = [
    "BioimageioExport",
    "WEIGHT_FORMATS",
    "check_package",
    "export_bioimageio",
]

logger = logging.getLogger(__name__)

#: ``--weights`` choices -> the bioimage.io weight formats written.
WEIGHT_FORMATS = {
    "both": ("torchscript", "pytorch_state_dict"),
    "torchscript": ("torchscript",),
    "state-dict": ("pytorch_state_dict",),
}
#: The key of our section in the package's ``config``.
CONFIG_KEY = "napari_msc_morph"
_TAGS = ("transmission-light-microscopy", "2d", "cells", "pytorch", "image-classification",
         "mesenchymal-stem-cells", "bright-field", "phase-contrast", "napari-msc-morph")


@dataclass
class BioimageioExport:
    """What :func:`export_bioimageio` wrote.

    Attributes
    ----------
    predicted_class, probabilities : str, list of float
        Our prediction for the test crop (the package's test output).
    validation, test : str
        ``bioimageio.spec``'s and ``bioimageio.core.test_model``'s status.
    warnings : list of str
        Validation warnings worth showing.
    """

    path: Path
    weight_formats: tuple
    predicted_class: str
    probabilities: list
    validation: str = ""
    test: str = ""
    warnings: list = field(default_factory=list)


# --------------------------------------------------------------------------- export
def export_bioimageio(
    model,
    out,
    *,
    authors,
    licence: str,
    weights: str = "both",
    test_image=None,
    cite=(),
    name: str | None = None,
    run_test: bool = True,
    progress=None,
) -> BioimageioExport:
    """Write a model bundle as a bioimage.io model package (``.zip``, spec 0.5).

    Parameters
    ----------
    model : path or ModelBundle
    out : path
        The ``.zip`` to write, replaced atomically.
    authors : list of str
        Names of the people who made the model.
    licence : str
        SPDX identifier of the weights' licence, e.g. ``"CC-BY-4.0"``.
    weights : {"both", "torchscript", "state-dict"}
    test_image : path or array, optional
        The test crop is its centre; default a synthetic field.
    cite : list of str
        Extra references, each ``"DOI text"``.
    name : str, optional
        Display name (default from task and backbone).
    run_test : bool, default True
        Run ``bioimageio.core.test_model`` before the package is kept.
    progress : callable, optional
        ``progress(done, total, message)``.

    Returns
    -------
    BioimageioExport
    """
    spec, v0_5 = bioimageio_spec()
    out = Path(out)
    if out.suffix.lower() != ".zip":
        raise BadInputError(f"--out {out.name}: a bioimage.io package is a .zip file.")
    if weights not in WEIGHT_FORMATS:
        raise BadInputError(f"--weights must be one of {', '.join(WEIGHT_FORMATS)}, got {weights!r}.")
    names = check_authors(authors)
    licence = check_licence(licence)
    extra_cites = [parse_citation(c) for c in (cite or ())]
    steps, total = itertools.count(), 5 if run_test else 4

    def step(message: str) -> None:
        report(progress, next(steps), total, message)

    bundle = model if isinstance(model, ModelBundle) else load_bundle(model, device="cpu")
    image, pixel_size, image_name = _read_test_image(test_image)
    step("test tensors")
    tensors = make_test_tensors(bundle, image, pixel_size, image_name)
    work = Path(tempfile.mkdtemp(prefix="msc-morph-bioimageio-"))
    try:
        step("weights")
        files = _write_files(bundle, tensors, work, WEIGHT_FORMATS[weights])
        descr = _describe(bundle, tensors, files, v0_5, names, licence,
                          citations_for(bundle.config.task, bundle.config.backbone, extra_cites),
                          name)
        step("package")
        with atomic_path(out) as tmp:
            spec.save_bioimageio_package(descr, output_path=tmp)
            step("validate")
            result = check_package(tmp, run_test=run_test, progress=step if run_test else None)
        result.weight_formats = WEIGHT_FORMATS[weights]
        result.predicted_class = tensors.predicted_class
        result.probabilities = [float(p) for p in tensors.output[0]]
        result.path = out
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def _read_test_image(test_image):
    if test_image is None:
        return None, None, "test image"
    if isinstance(test_image, (str, os.PathLike)):
        from ..io import read_image

        loaded = read_image(test_image)
        return loaded.data, loaded.pixel_size_um, Path(test_image).name
    return test_image, None, "test image"


def _write_files(bundle, tensors, work: Path, formats) -> dict:
    """The package's files in ``work``: tensors, cover, weights, the bundle itself."""
    import numpy as np
    import torch

    files = {"test_input": work / "test_input.npy", "test_output": work / "test_output.npy",
             "cover": work / "cover.png", "bundle_json": work / MODEL_JSON,
             "bundle_weights": work / WEIGHTS_FILE}
    np.save(files["test_input"], tensors.input)
    np.save(files["test_output"], tensors.output)
    cover_image(tensors, bundle.config.class_names, files["cover"])
    if bundle.path is not None:
        with bundle_files(Path(bundle.path), want_weights=True) as found:
            files["bundle_json"].write_text(found.text, encoding="utf-8")
            shutil.copyfile(found.weights, files["bundle_weights"])
    else:  # a bundle built in memory: write it first
        save_bundle(bundle.model, bundle.config, work / "bundle")
        for key in ("bundle_json", "bundle_weights"):
            os.replace(work / "bundle" / files[key].name, files[key])
    net = bundle.model.to("cpu").eval().to(memory_format=torch.contiguous_format)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    if "pytorch_state_dict" in formats:
        files["pytorch_state_dict"] = work / "weights_state_dict.pt"
        torch.save(state, files["pytorch_state_dict"])
    if "torchscript" in formats:
        files["torchscript"] = work / "weights_torchscript.pt"
        example = torch.from_numpy(np.zeros(tensors.input.shape, dtype=np.float32))
        with torch.no_grad(), warnings.catch_warnings():
            # deprecated in favour of torch.export, but TorchScript is the format
            # bioimage.io consumers (deepImageJ, bioimageio.core) run
            warnings.simplefilter("ignore", FutureWarning)
            traced = torch.jit.trace(net, example, check_trace=False)
        traced.save(str(files["torchscript"]))
    return files


def _describe(bundle, tensors, files, v0_5, authors, licence, citations, name):
    """The package's ``ModelDescr`` (spec 0.5) for the files in ``files``."""
    import torch

    from .. import __version__

    config = bundle.config
    spec = config.task_spec
    temperature = bundle_temperature(config)
    readme = files["cover"].parent / "README.md"
    readme.write_text(package_readme(config, tensors, citations, temperature), encoding="utf-8")
    size = config.input_size
    n_chans = config.in_chans
    channel_names = ["gray"] if n_chans == 1 else ["red", "green", "blue"][:n_chans]
    unit = "micrometer" if config.pixel_size_um else None
    input_axes = [
        v0_5.BatchAxis(),
        v0_5.ChannelAxis(channel_names=[v0_5.Identifier(c) for c in channel_names]),
        *(v0_5.SpaceInputAxis(id=v0_5.AxisId(a), size=size, unit=unit,
                              scale=config.pixel_size_um or 1.0) for a in "yx"),
    ]
    kind, lo, hi = tensors.scheme
    channel = v0_5.AxisId("channel")
    if kind == "percentile":
        scaling = v0_5.ScaleRangeDescr(kwargs=v0_5.ScaleRangeKwargs(
            axes=[channel, v0_5.AxisId("y"), v0_5.AxisId("x")],
            min_percentile=PERCENTILES[0], max_percentile=PERCENTILES[1]))
    else:
        scaling = v0_5.ScaleLinearDescr(kwargs=v0_5.ScaleLinearKwargs(
            gain=1.0 / (hi - lo), offset=-lo / (hi - lo)))
    as_float32 = v0_5.EnsureDtypeDescr(kwargs=v0_5.EnsureDtypeKwargs(dtype="float32"))
    pre = [
        as_float32, scaling, v0_5.ClipDescr(kwargs=v0_5.ClipKwargs(min=0.0, max=1.0)),
        v0_5.FixedZeroMeanUnitVarianceDescr(kwargs=v0_5.FixedZeroMeanUnitVarianceAlongAxisKwargs(
            mean=list(config.mean), std=list(config.std), axis=channel)),
        as_float32,  # else the spec appends a cast back to the input's dtype
    ]
    post = []
    if temperature != 1.0:
        post.append(v0_5.ScaleLinearDescr(kwargs=v0_5.ScaleLinearKwargs(gain=1.0 / temperature)))
    post.append(v0_5.SoftmaxDescr(kwargs=v0_5.SoftmaxKwargs(axis=channel)))
    inputs = [v0_5.InputTensorDescr(
        id=v0_5.TensorId("raw"),
        description=f"bright-field crop, {size}x{size} px, raw intensities",
        axes=input_axes,
        test_tensor=v0_5.FileDescr(source=files["test_input"]),
        data=v0_5.IntervalOrRatioDataDescr(type=str(tensors.input.dtype)),
        preprocessing=pre,
    )]
    outputs = [v0_5.OutputTensorDescr(
        id=v0_5.TensorId("probabilities"),
        description=f"class probabilities ({', '.join(config.class_names)})",
        axes=[v0_5.BatchAxis(), v0_5.ChannelAxis(channel_names=list(config.class_names))],
        test_tensor=v0_5.FileDescr(source=files["test_output"]),
        data=v0_5.IntervalOrRatioDataDescr(type="float32", range=(0.0, 1.0)),
        postprocessing=post,
    )]
    torch_version = v0_5.Version(torch.__version__.split("+")[0])
    weights = {}
    if "torchscript" in files:
        weights["torchscript"] = v0_5.TorchscriptWeightsDescr(
            source=files["torchscript"], pytorch_version=torch_version,
            parent="pytorch_state_dict" if "pytorch_state_dict" in files else None,
            comment="traced with torch.jit.trace from the state dict")
    if "pytorch_state_dict" in files:
        weights["pytorch_state_dict"] = v0_5.PytorchStateDictWeightsDescr(
            source=files["pytorch_state_dict"], pytorch_version=torch_version,
            architecture=v0_5.ArchitectureFromLibraryDescr(
                callable=v0_5.Identifier(ARCHITECTURE_CALLABLE), import_from=ARCHITECTURE_MODULE,
                kwargs={"backbone": config.backbone, "num_classes": config.num_classes,
                        "in_chans": n_chans}))
    title = name or f"MSC {spec.name.replace('_', ' ')} {config.backbone} classifier"
    bundle_section = {"model_id": config.model_id, "task": config.task,
                      "weights_sha256": config.weights_sha256, "package_version": __version__,
                      "bundle_files": [files["bundle_json"].name, files["bundle_weights"].name]}
    return v0_5.ModelDescr(
        name=_display_name(title),
        description=_short(f"{spec.description} {config.backbone} on {size} px bright-field "
                           f"crops; classes: {', '.join(config.class_names)}."),
        authors=[v0_5.Author(name=a) for a in authors],
        cite=[v0_5.CiteEntry(text=text, doi=v0_5.Doi(doi)) for text, doi in citations],
        license=v0_5.LicenseId(licence),
        tags=list(_TAGS) + [config.task.replace("_", "-"), _architecture_tag(config.backbone)],
        documentation=v0_5.FileDescr(source=readme),
        covers=[v0_5.FileDescr(source=files["cover"])],
        attachments=[v0_5.FileDescr(source=files["bundle_json"]),
                     v0_5.FileDescr(source=files["bundle_weights"])],
        inputs=inputs,
        outputs=outputs,
        weights=v0_5.WeightsDescr(**weights),
        config=v0_5.Config(bioimageio=v0_5.BioimageioConfig(
            architecture_type=config.backbone[:32], modality="bright-field / phase-contrast",
            target_structure=["cells"], task="classification"), **{CONFIG_KEY: bundle_section}),
    )


def _architecture_tag(backbone: str) -> str:
    for family in ("resnext", "resnet", "convnext", "efficientnet", "densenet"):
        if backbone.lower().startswith(family):
            return family
    return backbone.split("_")[0].lower()


def _display_name(text: str) -> str:
    import re

    cleaned = re.sub(r"[^0-9A-Za-z_+\- ()]", " ", text)
    cleaned = re.sub(r"\s+", " ", cleaned).strip()[:64]
    return cleaned if len(cleaned) >= 5 else f"{cleaned} model"


def _short(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- check
def check_package(path, *, run_test: bool = True, progress=None) -> BioimageioExport:
    """Validate a package with ``bioimageio.spec`` and optionally run its test."""
    spec, _ = bioimageio_spec()
    path = Path(path)
    descr = spec.load_description(path, perform_io_checks=True)
    summary = descr.validation_summary
    errors = summary_messages(summary, "errors")
    if summary.status == "failed" or errors:
        raise BadInputError(
            f"{path.name} is not a valid bioimage.io package: {errors[0] if errors else 'failed'}."
        )
    result = BioimageioExport(path=path, weight_formats=(), predicted_class="", probabilities=[],
                              validation=str(summary.status),
                              warnings=summary_messages(summary, "warnings"))
    if not run_test:
        result.test = "skipped"
        return result
    if progress is not None:
        progress("test")
    core = bioimageio_core()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load's deprecation notice
        tested = core.test_model(descr, devices=["cpu"])
    errors = summary_messages(tested, "errors", with_place=False)
    if tested.status != "passed":
        raise BadInputError(
            f"{path.name}: bioimageio.core could not reproduce the test outputs: "
            f"{errors[0] if errors else tested.status}."
        )
    result.test = str(tested.status)
    return result
