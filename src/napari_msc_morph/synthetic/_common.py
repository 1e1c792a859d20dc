"""Shared pieces of the synthetic engine: donors, seeding, result containers."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from ..errors import BadInputError

#: Bright-field / phase-contrast pixel size (µm) of the default 2592x1944 camera.
BRIGHTFIELD_PIXEL_SIZE_UM = 0.65
#: Default bright-field field size as (height, width) in pixels.
BRIGHTFIELD_SIZE = (1944, 2592)


@dataclass
class DonorStyle:
    """How one donor's cultures (and the microscope session) look.

    Drawn once per donor by :func:`make_donor`; images of one donor share it, which is
    what makes a donor-grouped split matter.
    """

    donor_id: str  #: name of the donor ("D1", "reference" …)
    density: float = 1.0  #: multiplier on the number of cells per mm²
    illumination_gradient: float = 0.12  #: fractional brightness change across a full field
    contrast: float = 1.0  #: multiplier on the image contrast (standard deviation)
    cell_size_scale: float = 1.0  #: multiplier on cell *lengths* (areas scale with its square)
    noise_sigma: float = 4.0  #: camera noise standard deviation in 8-bit grey levels
    background: float = 130.0  #: mean grey level of the field (8-bit)
    illumination_angle: float = 0.6  #: direction of the illumination gradient (radians)
    halo_strength: float = 1.0  #: multiplier on the bright phase halo around cells
    elongation: float = 1.0  #: multiplier on cell aspect ratios
    osteo_response: float = 0.9  #: how strongly this donor answers osteogenic medium
    tint: tuple[float, float, float] = (0.97, 1.0, 0.95)  #: RGB gains of a colour camera (``rgb=True``)
    seed: int = 0  #: the seed the style was drawn from


REFERENCE_DONOR = DonorStyle(donor_id="reference")


def _name_key(name: str) -> int:
    # crc32 rather than hash(): Python's str hash changes between processes.
    return zlib.crc32(str(name).encode("utf-8"))


def make_donor(donor_id: str | int, seed: int = 0, prefix: str = "D") -> DonorStyle:
    """Draw a donor's style from its id and a seed.

    Parameters
    ----------
    donor_id : str or int
        Donor name; an integer ``n`` becomes ``f"{prefix}{n}"`` (``"D1"``; strains: ``"S1"``).
    seed : int
        The same ``(donor_id, seed)`` always gives the same style.

    Returns
    -------
    DonorStyle

    Examples
    --------
    >>> make_donor("D1", seed=0) == make_donor("D1", seed=0)
    True
    >>> make_donor(1).donor_id
    'D1'
    """
    if isinstance(donor_id, (int, np.integer)) and not isinstance(donor_id, (bool, np.bool_)):
        donor_id = f"{prefix}{int(donor_id)}"
    elif not isinstance(donor_id, str) or not donor_id:
        raise BadInputError(f"donor_id must be a non-empty string or an integer, got {donor_id!r}")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, _name_key(donor_id)]))
    tint_base = rng.uniform(0.9, 1.0, 3)
    return DonorStyle(
        donor_id=donor_id,
        density=float(np.exp(rng.uniform(np.log(0.6), np.log(1.5)))),
        illumination_gradient=float(rng.uniform(0.0, 0.35)),
        contrast=float(rng.uniform(0.6, 1.4)),
        cell_size_scale=float(rng.uniform(0.85, 1.18)),
        noise_sigma=float(rng.uniform(2.0, 7.0)),
        background=float(rng.uniform(95.0, 165.0)),
        illumination_angle=float(rng.uniform(0, 2 * np.pi)),
        halo_strength=float(rng.uniform(0.7, 1.3)),
        elongation=float(rng.uniform(0.8, 1.25)),
        osteo_response=float(rng.uniform(0.7, 1.0)),
        tint=tuple(float(t) for t in tint_base / tint_base.max()),
        seed=int(seed),
    )


@dataclass
class SyntheticField:
    """One synthetic bright-field image with its ground truth."""

    image: np.ndarray  #: ``(H, W)`` uint8, or ``(H, W, 3)`` uint8 when made with ``rgb=True``
    pixel_size_um: float  #: physical pixel size in µm
    #: what was drawn: class (``passage``, ``day``, ``source``, ``fate`` …), ``n_cells``,
    #: ``mean_cell_area_um2``, ``differentiation`` where it applies, and the donor id
    truth: dict = field(default_factory=dict)
    #: ``(H, W)`` int32 cell labels (0 = background; overlapping cells are cut where another
    #: cell is thicker), or ``None``
    labels: np.ndarray | None = None


def field_rng(kind: str, donor: DonorStyle, seed: int, *keys) -> np.random.Generator:
    """A generator that depends on the kind, the donor, the seed and class keys."""
    entropy = [int(seed) & 0xFFFFFFFF, _name_key(kind), _name_key(donor.donor_id), donor.seed & 0xFFFFFFFF]
    for key in keys:
        entropy.append(_name_key(key) if isinstance(key, str) else int(key) & 0xFFFFFFFF)
    return np.random.default_rng(np.random.SeedSequence(entropy))


def check_size(size) -> tuple[int, int]:
    """Validate a ``(height, width)`` pair and return it as ints."""
    try:
        height, width = (int(v) for v in size)
    except (TypeError, ValueError) as err:
        raise BadInputError(f"size (--size H W) must be (height, width) in pixels, got {size!r}") from err
    if height < 16 or width < 16:
        raise BadInputError(f"size (--size H W) must be at least 16x16 pixels, got {height}x{width}")
    if height * width > 64_000_000:
        raise BadInputError(f"size {height}x{width} is too large (more than 64 megapixels); "
                            "use a smaller --size")
    return height, width


def check_donor(donor) -> DonorStyle:
    """``donor``, or the neutral reference donor for ``None``."""
    if donor is None:
        return REFERENCE_DONOR
    if not isinstance(donor, DonorStyle):
        raise BadInputError(
            f"donor must be a DonorStyle (see make_donor) or None, got {type(donor).__name__}"
        )
    return donor


def field_setup(kind: str, donor, size, seed: int, *keys
                ) -> tuple[DonorStyle, tuple[int, int], np.random.Generator]:
    """A field's checked donor (:func:`check_donor`) and size, and its :func:`field_rng`."""
    donor = check_donor(donor)
    return donor, check_size(size), field_rng(kind, donor, seed, *keys)


def check_choice(value, name: str, allowed):
    """The member of ``allowed`` equal to ``value`` (``7.0`` gives ``7``), or BadInputError."""
    for choice in allowed:
        if value == choice:
            return choice
    raise BadInputError(f"{name} must be one of {list(allowed)}, got {value!r}")


def mean_or_nan(values) -> float:
    """The mean of ``values``, NaN (without a warning) when there are none."""
    return float(np.mean(values)) if len(values) else float("nan")
