"""The pieces of a bioimage.io package: test tensors, cover, README, citations.

Nothing here imports ``bioimageio`` but the licence list: a test tensor's
expected output is what our own predict path computes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BadInputError
from ..inference.predict import Predictor
from ..inference.preprocess import image_layout, pad_to_crop, resample_factor, resample_plane
from ..models.intensity import auto_mode, dtype_limits
from ..tiling import center_box
from .deps import bioimageio_spec

__all__ = [
    "PackageTensors",
    "STUDY_CITATIONS",
    "check_authors",
    "check_licence",
    "cover_image",
    "intensity_scheme",
    "citations_for",
    "package_readme",
    "parse_citation",
    "make_test_tensors",
]

#: Studies the tasks come from, and the architectures the backbones come from
#: (DOIs only: a URL would be fetched by the validator, which must work offline).
STUDY_CITATIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "osteogenic": (
        ("Tong C. et al. (2026) OsteoNet: a deep learning framework linking cellular morphology "
         "to molecular markers for quantifying osteogenic differentiation. Comput. Struct. "
         "Biotechnol. J. 31:436-447", "10.1016/j.csbj.2026.01.008"),
    ),
    "nsc_fate": (
        ("Jalihal A. et al. (2023) Predicting neural stem cell differentiation using deep "
         "learning models. arXiv:2312.06665", "10.48550/arXiv.2312.06665"),
    ),
}
_ARCHITECTURE_CITATIONS = {
    "resnext": ("Xie S. et al. (2017) Aggregated residual transformations for deep neural "
                "networks (ResNeXt). CVPR 2017", "10.1109/CVPR.2017.634"),
    "resnet": ("He K. et al. (2016) Deep residual learning for image recognition (ResNet). "
               "CVPR 2016", "10.1109/CVPR.2016.90"),
    "convnext": ("Liu Z. et al. (2022) A ConvNet for the 2020s (ConvNeXt). CVPR 2022",
                 "10.1109/CVPR52688.2022.01167"),
    "efficientnet": ("Tan M., Le Q. (2019) EfficientNet: rethinking model scaling for "
                     "convolutional neural networks. ICML 2019", "10.48550/arXiv.1905.11946"),
}
_DOI_PREFIX = "10."


def citations_for(task: str, backbone: str, extra=()) -> list[tuple[str, str]]:
    """``(text, doi)`` pairs: the task's study, the backbone's paper, then ``extra``."""
    found = list(STUDY_CITATIONS.get(task, ()))
    for prefix, entry in _ARCHITECTURE_CITATIONS.items():
        if prefix in backbone.lower():
            found.append(entry)
            break
    found.extend(extra)
    return found


def parse_citation(text: str) -> tuple[str, str]:
    """``"DOI free text"`` (``--cite``) -> ``(text, doi)``; a DOI starts with ``10.``."""
    doi, _, rest = str(text).strip().partition(" ")
    if not doi.startswith(_DOI_PREFIX) or "/" not in doi or not rest.strip():
        raise BadInputError(
            f"--cite {text!r}: give a DOI, a space and the reference text, e.g. "
            "--cite \"10.1186/s13287-020-01234-5 Smith J. et al. (2020) Stem Cell Res. Ther.\"."
        )
    return rest.strip(), doi


def check_authors(authors) -> list[str]:
    """Author names as given; at least one, none empty or holding a slash."""
    names = [str(a).strip() for a in (authors or []) if str(a).strip()]
    if not names:
        raise BadInputError(
            "A bioimage.io package needs its authors: give --author NAME (repeat it for "
            "several people), e.g. --author \"Ada Lovelace\"."
        )
    bad = [n for n in names if "/" in n]
    if bad:
        raise BadInputError(f"--author {bad[0]!r}: a name may not contain '/'.")
    return names


def check_licence(licence) -> str:
    """An SPDX licence identifier known to bioimage.io (e.g. ``CC-BY-4.0``, ``MIT``)."""
    from typing import get_args

    bioimageio_spec()  # or the MissingDependencyError naming the extra
    from bioimageio.spec._internal._generated_spdx_license_literals import LicenseId

    known = get_args(LicenseId)
    if not licence or not str(licence).strip():
        raise BadInputError(
            "A bioimage.io package needs a licence for its weights: give --licence SPDX_ID, "
            "e.g. --licence CC-BY-4.0 (common for models), MIT or BSD-3-Clause."
        )
    licence = str(licence).strip()
    by_lower = {k.lower(): k for k in known}
    if licence.lower() in by_lower:
        return by_lower[licence.lower()]
    import difflib

    close = difflib.get_close_matches(licence, known, n=3, cutoff=0.6)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise BadInputError(
        f"--licence {licence!r} is not an SPDX licence identifier.{hint} "
        "See https://spdx.org/licenses/ (e.g. CC-BY-4.0, MIT, BSD-3-Clause)."
    )


# --------------------------------------------------------------------------- tensors
def intensity_scheme(config, crop) -> tuple[str, float, float]:
    """``(kind, lo, hi)``: ``"linear"`` over the dtype's range or ``"percentile"``, as the
    bundle's intensity mode decides for the test crop."""
    mode = config.intensity
    if mode == "auto":
        mode = auto_mode(crop.dtype, np.asarray(crop))
    if mode == "percentile":
        return "percentile", 0.0, 1.0
    return "linear", *dtype_limits(crop.dtype)


@dataclass
class PackageTensors:
    """The test input (raw pixels, ``(1, C, H, W)``) and the bundle's output for it."""

    input: np.ndarray
    output: np.ndarray
    crop: np.ndarray
    scheme: tuple
    predicted_class: str


def _test_field(task: str, size: int):
    """A synthetic bright-field field for ``task`` (8-bit, the models' usual input)."""
    from ..synthetic import nsc_field, osteo_field, passage_field

    side = max(int(size), 64)
    if task == "nsc_fate":
        return nsc_field("neuron", size=(side, side), seed=0)
    if task == "osteogenic":
        return osteo_field(7, induced=True, size=(side, side), seed=0)
    return passage_field(5, size=(side, side), seed=0)


def make_test_tensors(bundle, image=None, pixel_size_um=None, name="test image") -> PackageTensors:
    """The package's test crop, the centre of ``image`` (default a synthetic field) at the
    model's pixel size, and our float32 CPU prediction of it."""
    config = bundle.config
    if image is None:
        field = _test_field(config.task, config.input_size)
        image, pixel_size_um = field.image, field.pixel_size_um
    image = np.asarray(image)
    layout = image_layout(image.shape, name=name)
    if layout.leading_shape:
        raise BadInputError(
            f"{name} has shape {image.shape}: give one 2D plane (H, W) or an RGB image "
            "(H, W, 3) as the test image."
        )
    if layout.rgb and config.in_chans == 1:
        raise BadInputError(
            f"{name} is RGB but the model takes one channel; give a grayscale test image."
        )
    if image.dtype.kind == "f" and not np.isfinite(image).all():
        raise BadInputError(f"{name} holds NaN/Inf pixels; give a test image without them.")
    plane = resample_plane(image, resample_factor(pixel_size_um, config.pixel_size_um))
    plane = pad_to_crop(np.asarray(plane), config.input_size)
    y0, x0, y1, x1 = center_box(plane.shape, config.input_size)[0]
    crop = np.ascontiguousarray(plane[y0:y1, x0:x1])
    if crop.dtype.kind not in "iuf" or crop.dtype.itemsize > 4 and crop.dtype.kind != "f":
        raise BadInputError(
            f"{name} is {crop.dtype}; give an 8/16/32-bit integer or a float test image."
        )
    scheme = intensity_scheme(config, crop)
    data = crop.astype(np.float32) if crop.dtype.kind == "f" or scheme[0] == "percentile" else crop
    channels = np.moveaxis(data, -1, 0) if layout.rgb else np.repeat(data[None], config.in_chans, 0)
    tensor = np.ascontiguousarray(channels[None])
    # What our own predict path says about exactly this crop (one centre tile).
    predictor = Predictor(bundle, device="cpu", precision="fp32", batch_size=1)
    result = predictor.predict(data, tiling="center", rgb=layout.rgb, name=name)
    output = np.asarray(result.probabilities, dtype=np.float32)[None]
    return PackageTensors(tensor, output, crop, scheme, result.predicted_class)


# --------------------------------------------------------------------------- cover
def cover_image(tensors: PackageTensors, class_names, path: Path) -> Path:
    """A 2:1 PNG: the test crop beside its class probabilities, predicted class as title."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4), dpi=64)
    ax_img, ax_bar = fig.subplots(1, 2)
    crop = tensors.crop
    ax_img.imshow(crop, cmap=None if crop.ndim == 3 else "gray")
    ax_img.set_axis_off()
    ax_img.set_title("test crop")
    probs = tensors.output[0]
    order = np.arange(len(class_names))[::-1]
    colours = ["tab:orange" if n == tensors.predicted_class else "tab:blue" for n in class_names]
    ax_bar.barh(order, probs, color=colours)
    ax_bar.set_yticks(order, [str(n) for n in class_names])
    ax_bar.set_xlim(0, 1)
    ax_bar.set_xlabel("probability")
    ax_bar.set_title(f"predicted: {tensors.predicted_class}")
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


# --------------------------------------------------------------------------- README
def package_readme(config, tensors: PackageTensors, citations, temperature=1.0) -> str:
    """The package's documentation (Markdown, with the ``Validation`` section bioimage.io wants)."""
    spec = config.task_spec
    mean = ", ".join(f"{v:.4g}" for v in config.mean)
    std = ", ".join(f"{v:.4g}" for v in config.std)
    if tensors.scheme[0] == "linear":
        lo, hi = tensors.scheme[1:]
        scaling = f"pixel values mapped from {lo:g}-{hi:g} to 0-1 and clipped"
    else:
        scaling = ("the crop's 0.5th-99.5th intensity percentiles mapped to 0-1 (over all "
                   "channels together) and clipped")
    metrics = {k: v for k, v in (config.metrics or {}).items()
               if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}
    metric_lines = "\n".join(f"| {k} | {v:.4g} |" for k, v in sorted(metrics.items())[:20])
    lines = [
        f"# {spec.name}: {config.backbone} classifier from napari-msc-morph",
        "",
        f"{config.description or spec.description}".strip(),
        "",
        "## Input and output",
        "",
        f"- Input `raw`: one {config.input_size} x {config.input_size} px crop of a bright-field "
        f"/ phase-contrast image, "
        + ("1 channel (grayscale)" if config.in_chans == 1 else
           f"{config.in_chans} channels (RGB; a grayscale image repeated {config.in_chans} times)")
        + f", pixel size {config.pixel_size_um or 'not recorded'} µm.",
        f"- Preprocessing: {scaling}, then per-channel mean ({mean}) and std ({std}).",
        f"- Output `probabilities`: one value per class, in this order: "
        f"{', '.join(config.class_names)}"
        + (f" (ordinal); score `{spec.score}`" if spec.ordinal else "")
        + (f"; logits divided by the calibrated temperature {temperature:.4g}"
           if temperature != 1.0 else "") + "; softmax.",
        "- Whole fields: napari-msc-morph averages several crops per field (tiling "
        f"`{config.tiling}`); one crop is what this package describes.",
        "",
        "## Use it",
        "",
        "```bash",
        "pip install \"napari-msc-morph[bioimageio]\"",
        "msc-morph import-bioimageio this-package.zip --out model.zip   # back to a bundle",
        "msc-morph predict model.zip FIELD.tif --out predictions.csv",
        "bioimageio test this-package.zip                                # bioimage.io tools",
        "```",
        "",
        "## Validation",
        "",
        f"The test input is a {config.input_size} px crop; its expected output was computed by "
        "napari-msc-morph's own prediction code (float32, CPU), and `bioimageio test` "
        "reproduces it. Metrics recorded at training (on the model's held-out data):",
        "",
    ]
    if metric_lines:
        lines += ["| metric | value |", "|---|---|", metric_lines, ""]
    else:
        lines += ["(none recorded in the bundle)", ""]
    lines += [
        "Validate it on your own images before use: `msc-morph evaluate` with a manifest of "
        "labelled fields from donors the model has not seen.",
        "",
        "## References",
        "",
    ]
    lines += [f"- {text}. doi:{doi}" for text, doi in citations]
    lines += ["", f"Exported from model bundle `{config.model_id}` (sha256 "
              f"{config.weights_sha256[:12]}…).", ""]
    return "\n".join(lines)
