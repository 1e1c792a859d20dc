"""``model.json``: the description of a model bundle, as a validated dataclass.

Its keys, the timm normalisation defaults and the output fingerprint that
catches hand edits are described in docs/model-bundle.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import asdict, dataclass, field, fields, replace

from ..errors import BadInputError
from ..tiling import check_overlap, check_tiling
from .backbones import check_backbone_name, normalization
from .checks import positive_number
from .intensity import INTENSITY_MODES
from .tasks import TASKS, TaskSpec, class_numbers, get_task

__all__ = ["BundleConfig", "SCHEMA_VERSION", "BUNDLE_FORMAT", "check_classes_fit_task",
           "check_fingerprint", "check_schema_version", "output_fingerprint"]

logger = logging.getLogger(__name__)

#: Version of the ``model.json`` schema this package writes (and the newest it reads).
SCHEMA_VERSION = 1
BUNDLE_FORMAT = "napari-msc-morph.model-bundle"
#: Largest ``input_size`` (px): a bigger crop is a damaged or hostile model.json.
MAX_INPUT_SIZE = 4096

# model.json keys that must be present (the rest have defaults).
_REQUIRED_KEYS = (
    "schema_version",
    "task",
    "class_names",
    "ordinal",
    "backbone",
    "input_size",
    "in_chans",
    "mean",
    "std",
    "pixel_size_um",
    "tiling",
    "weights_sha256",
)


@dataclass
class BundleConfig:
    """The contents of ``model.json``.

    Parameters
    ----------
    task : str
        One of :data:`napari_msc_morph.models.tasks.TASKS`.
    backbone : str
        timm model name.
    input_size : int
        Side of the square crop the network sees, in pixels.
    class_names, ordinal, score, positive_class : optional
        Default to the task's.
    in_chans : int, default 3
        1 (grayscale) or 3 (RGB).
    mean, std : tuple of float, optional
        Normalisation after scaling to [0, 1]; default timm's for ``backbone``.
    pixel_size_um : float or None
        Pixel size of the training images in µm.
    tiling, grid_overlap, intensity : str, float, str
        Inference defaults.
    metrics : dict
        Free-form numbers; ``bf16_top1_agreement`` lets CPU inference use bfloat16.
    calibration : dict or None
        ``{"temperature": T, ...}``: prediction uses ``softmax(logits / T)``.
    weights_sha256, package_version, created, output_sha256, model_id : str
        Filled in by :func:`save_bundle`.
    """

    task: str
    backbone: str
    input_size: int
    class_names: tuple[str, ...] | None = None
    ordinal: bool | None = None
    in_chans: int = 3
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    pixel_size_um: float | None = None
    tiling: str = "six"
    grid_overlap: float = 0.5
    intensity: str = "auto"
    score: str | None = None
    positive_class: str | None = None
    metrics: dict = field(default_factory=dict)
    calibration: dict | None = None
    weights_sha256: str = ""
    package_version: str = ""
    schema_version: int = SCHEMA_VERSION
    model_id: str = ""
    output_sha256: str = ""
    created: str = ""
    description: str = ""

    def __post_init__(self):
        if self.task not in TASKS:
            raise BadInputError(
                f"Unknown task {self.task!r} in the model bundle; known tasks: {', '.join(TASKS)}."
            )
        spec = get_task(
            self.task,
            class_names=None if self.class_names is None else list(self.class_names),
            ordinal=self.ordinal,
        )
        self.class_names = spec.class_names
        self.ordinal = spec.ordinal
        if self.score is None:
            self.score = spec.score
        if self.positive_class is None:
            self.positive_class = spec.positive_class
        self.in_chans = _as_int(self.in_chans, "in_chans")
        if self.mean is None or self.std is None:
            mean, std = normalization(self.backbone, self.in_chans)
            self.mean = mean if self.mean is None else self.mean
            self.std = std if self.std is None else self.std
        self.mean = tuple(float(v) for v in self.mean)
        self.std = tuple(float(v) for v in self.std)
        self.input_size = _as_int(self.input_size, "input_size")
        self.schema_version = _as_int(self.schema_version, "schema_version")
        self.validate()

    # -- checks -----------------------------------------------------------------
    def validate(self) -> None:
        """Raise :class:`~napari_msc_morph.errors.BadInputError` naming the first bad field."""
        check_schema_version(self.schema_version)
        check_backbone_name(self.backbone)
        if not 16 <= self.input_size <= MAX_INPUT_SIZE:
            raise BadInputError(
                f"input_size must be between 16 and {MAX_INPUT_SIZE} px, got {self.input_size}."
            )
        if self.in_chans not in (1, 3):
            raise BadInputError(f"in_chans must be 1 or 3, got {self.in_chans}.")
        for name in ("mean", "std"):
            values = getattr(self, name)
            if len(values) != self.in_chans:
                raise BadInputError(
                    f"{name} has {len(values)} values but in_chans is {self.in_chans}."
                )
        if not all(math.isfinite(m) for m in self.mean):
            raise BadInputError(
                f"normalisation mean must be finite numbers, got {list(self.mean)}; "
                "the bundle's model.json is damaged."
            )
        if any(not (math.isfinite(s) and s > 0) for s in self.std):
            raise BadInputError(
                f"normalisation std values must be finite and positive, got {list(self.std)} "
                "(a zero std divides by zero); the bundle's model.json is damaged."
            )
        self.pixel_size_um = positive_number(self.pixel_size_um, "pixel_size_um",
                                             allow_none=True)
        check_tiling(self.tiling)
        self.grid_overlap = check_overlap(self.grid_overlap, "grid_overlap")
        if self.intensity not in INTENSITY_MODES:
            raise BadInputError(
                f"intensity must be one of {', '.join(INTENSITY_MODES)}, got {self.intensity!r}."
            )
        if not isinstance(self.metrics, dict):
            raise BadInputError("metrics must be a JSON object (dict).")
        if self.calibration is not None:
            if not isinstance(self.calibration, dict) or "temperature" not in self.calibration:
                raise BadInputError(
                    'calibration must be a JSON object with a "temperature" (or null), got '
                    f"{self.calibration!r}."
                )
            positive_number(self.calibration["temperature"], "calibration temperature")
        check_classes_fit_task(self.task, self.class_names)
        # Builds the spec once more so score/positive_class are checked too.
        self.task_spec  # noqa: B018

    @property
    def task_spec(self) -> TaskSpec:
        """The :class:`TaskSpec` these classes and scores describe."""
        return replace(
            get_task(self.task),
            class_names=tuple(self.class_names),
            ordinal=bool(self.ordinal),
            score=self.score,
            positive_class=self.positive_class,
        )

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    # -- (de)serialisation ---------------------------------------------------------
    def to_dict(self) -> dict:
        data = asdict(self)
        data["class_names"] = list(self.class_names)
        data["mean"] = list(self.mean)
        data["std"] = list(self.std)
        return {"format": BUNDLE_FORMAT, **data}

    @classmethod
    def from_dict(cls, data: dict, source: str = "model.json") -> BundleConfig:
        """Build and validate a config from parsed ``model.json``."""
        if not isinstance(data, dict):
            raise BadInputError(f"{source} must hold a JSON object, got {type(data).__name__}.")
        _refuse_non_finite(data, source)
        if "schema_version" in data:  # first: a newer schema may have renamed every other key
            check_schema_version(data["schema_version"], source, data.get("package_version"))
        missing = [k for k in _REQUIRED_KEYS if k not in data]
        if missing:
            raise BadInputError(f"{source} is missing required keys: {', '.join(missing)}.")
        if data.get("temperature") is not None:  # optional calibration, checked if present
            temperature = positive_number(data["temperature"], f"{source}: temperature")
            if data.get("calibration") is None:  # a bare top-level temperature is honoured
                data = {**data, "calibration": {"temperature": temperature,
                                                "fitted_on": "model.json temperature"}}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known - {"format", "temperature"})
        if unknown:
            logger.info("%s: ignored unknown keys %s", source, ", ".join(unknown))
        kwargs = {k: v for k, v in data.items() if k in known}
        if not isinstance(kwargs["class_names"], list) or not all(
            isinstance(c, str) for c in kwargs["class_names"]
        ):
            raise BadInputError(f"{source}: class_names must be a list of strings.")
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as err:
            if str(err).startswith(source):
                raise
            raise BadInputError(f"{source}: {err}") from err


#: What changes the meaning of a network's outputs: a hand edit of any of these
#: (or of the weights) makes another model, so the model id must change.
FINGERPRINT_KEYS = ("weights_sha256", "task", "class_names", "ordinal", "score",
                    "positive_class", "backbone", "in_chans", "input_size", "mean", "std",
                    "pixel_size_um", "intensity")


def output_fingerprint(config: BundleConfig) -> str:
    """sha256 over the weights' sha256, :data:`FINGERPRINT_KEYS` and the temperature."""
    values = {key: getattr(config, key) for key in FINGERPRINT_KEYS}
    temperature = (config.calibration or {}).get("temperature", 1.0)
    values["temperature"] = float(temperature)
    text = json.dumps(values, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def check_fingerprint(config: BundleConfig, source: str) -> None:
    """Refuse a ``model.json`` edited after it was written; older bundles have no fingerprint."""
    if not config.output_sha256:
        return
    actual = output_fingerprint(config)
    id_ok = config.model_id.endswith(config.output_sha256[:8])
    if actual == config.output_sha256 and id_ok:
        return
    what = ("model_id" if actual == config.output_sha256 else
            "one of " + ", ".join(FINGERPRINT_KEYS[1:]) + " or the calibration temperature")
    raise BadInputError(
        f"{source} was edited after the bundle was written: {what} no longer matches the "
        f"output fingerprint recorded with model id {config.model_id!r}. An edited class "
        "order or temperature would label the outputs wrongly under the old id. Use an "
        "intact copy of the bundle; to change the classes on purpose, load the original "
        "and write a new bundle with napari_msc_morph.models.save_bundle (it gets a new id)."
    )


def check_classes_fit_task(task: str, class_names, source: str = "model.json") -> None:
    """Refuse another task's classes, or unnumbered classes for a numbered task's score."""
    spec = get_task(task)
    names = [str(c) for c in class_names]
    own = set(spec.class_names)
    foreign = {c: other for other in TASKS if other != task
               for c in TASKS.get(other).class_names if c not in own}
    wrong = [f"{c} (a {foreign[c]} class)" for c in names if c in foreign]
    numbered = class_numbers(spec.class_names) is not None
    if not wrong and (not numbered or class_numbers(names) is not None):
        return
    expected = ", ".join(spec.class_names)
    why = (f"{', '.join(wrong)} {'does' if len(wrong) == 1 else 'do'} not belong to it"
           if wrong else "its score needs a number in every class name, increasing")
    raise BadInputError(
        f"{source}: task {task!r} cannot have the classes {', '.join(names)}: {why}. Its "
        f"classes are {expected} (or some of them, in that order); check the task and the "
        "class names."
    )


def _refuse_non_finite(data: dict, source: str) -> None:
    """Refuse NaN/Infinity (JSON parsers accept them) where a number belongs, naming the key."""
    checked = {k: data.get(k) for k in (*_REQUIRED_KEYS, "grid_overlap", "temperature")}
    calibration = data.get("calibration")
    if isinstance(calibration, dict):
        checked["calibration temperature"] = calibration.get("temperature")
    for key, value in checked.items():
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, float) and not math.isfinite(v) for v in values):
            raise BadInputError(
                f"{source}: key {key!r} holds {value!r} where a finite number belongs; the "
                "model.json was damaged or edited. Use an intact copy of the bundle."
            )


def check_schema_version(version, source: str = "model.json", writer: str | None = None) -> int:
    """``version`` as an int if this package reads it."""
    from .. import __version__

    version = _as_int(version, "schema_version")
    if version > SCHEMA_VERSION:
        by = f" (by napari-msc-morph {writer})" if writer else ""
        raise BadInputError(
            f"{source} was written with bundle schema version {version}{by}, but this "
            f"napari-msc-morph {__version__} reads schema versions up to {SCHEMA_VERSION}; "
            "update napari-msc-morph (pip install -U napari-msc-morph)."
        )
    if version < 1:
        raise BadInputError(f"{source}: schema_version must be 1 or more, got {version}.")
    return version


def _as_int(value, name: str) -> int:
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not math.isfinite(value) or int(value) != value):
        raise BadInputError(f"{name} must be an integer, got {value!r}.")
    return int(value)
