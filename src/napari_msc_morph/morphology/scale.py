"""How big the nuclei of a field are, in pixels, when nobody said so.

A granulometry on the distance transform (Serra 1982; Vincent 1992): the
area-weighted median diameter of the maximal inscribed discs, so clumps do not
inflate it (docs/morphometry.md, "How big is a nucleus?", has the validation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._exports import ndimage as ndi  # scipy.ndimage, imported at first use
from ..errors import BadInputError

__all__ = [
    "DEFAULT_DIAMETER_UM",
    "INSCRIBED_TO_EQUIVALENT",
    "NucleusScale",
    "check_diameter_range",
    "estimate_nucleus_diameter",
    "nucleus_scale",
]

#: Median ratio of the inscribed-disc estimate to the annotators' median equivalent
#: diameter (of the disc of the same area) over 72 BBBC039 + DSB 2018 images: nuclei are
#: ellipses of aspect ratio about 1.3.
INSCRIBED_TO_EQUIVALENT = 0.88

#: Nucleus diameter range in micrometres used when the pixel size is known and no
#: range was given: from a small lymphocyte / condensed apoptotic nucleus (~4 µm)
#: to a large spread mesenchymal stromal cell nucleus (~40 µm).
DEFAULT_DIAMETER_UM = (4.0, 40.0)

#: Objects from a third to three times the typical diameter are kept when the range
#: comes from the estimate (a 10x-wide window, as the old 8-80 px default).
RANGE_FACTOR = 3.0


def estimate_nucleus_diameter(image: np.ndarray) -> float | None:
    """Typical nucleus equivalent diameter in pixels of a nuclear stain, ``None`` if empty.

    Examples
    --------
    >>> from skimage.draw import disk
    >>> img = np.zeros((200, 200))
    >>> for r, c in [(40, 40), (40, 120), (120, 60), (140, 150)]:
    ...     img[disk((r, c), 12)] = 1.0
    >>> round(estimate_nucleus_diameter(img) * INSCRIBED_TO_EQUIVALENT)  # discs: 24 px
    24
    """
    from skimage.filters import gaussian, threshold_otsu

    smooth = gaussian(np.asarray(image, np.float32), 1, preserve_range=True)
    if np.ptp(smooth) == 0:
        return None
    # clipped as the segmentation's Otsu: a few saturated nuclei must not lift it
    cutoff = threshold_otsu(np.minimum(smooth, np.percentile(smooth, 99.5)))
    mask = ndi.binary_fill_holes(smooth > cutoff)
    distance = ndi.distance_transform_edt(mask).astype(np.float32)
    centre = np.zeros(mask.shape, bool)
    radius, largest = 1.5, float(distance.max())
    while radius <= largest:
        band = (distance >= radius) & (distance < radius * 1.25)
        if band.any():  # maximal discs of about this radius: nothing larger within it
            centre |= band & (distance >= ndi.maximum_filter(distance, int(2 * radius) + 1))
        radius *= 1.25
    labels, n = ndi.label(centre)
    if not n:
        return None
    radii = np.asarray(ndi.maximum(distance, labels, np.arange(1, n + 1)))
    # area-weighted median: boundary wiggles give many tiny "centres" but little area
    order = np.argsort(radii)
    weight = np.cumsum(radii[order] ** 2)
    median = radii[order][np.searchsorted(weight, weight[-1] / 2)]
    return float(2 * median / INSCRIBED_TO_EQUIVALENT)


def check_diameter_range(diameter_range_px) -> tuple[float, float]:
    """``(min, max)`` nucleus diameters in pixels with ``0 < min <= max``."""
    try:
        low, high = (float(v) for v in diameter_range_px)
    except (TypeError, ValueError):
        raise BadInputError(
            "diameter_range_px must be two numbers (min, max) in pixels, "
            f"got {diameter_range_px!r}."
        ) from None
    if not (0 < low <= high):
        advice = (": the smallest nucleus diameter is larger than the largest; swap them"
                  if 0 < high < low else "")
        raise BadInputError(
            f"diameter range must satisfy 0 < min <= max, got ({low}, {high}){advice}."
        )
    return low, high


@dataclass(frozen=True)
class NucleusScale:
    """The nucleus diameters a segmentation uses, in pixels, and where they came from.

    ``typical`` sets smoothing, background and declumping; ``(low, high)`` is the
    size filter; ``source`` is ``"given"``, ``"pixel size"`` or ``"estimated"``.
    """

    low: float
    high: float
    typical: float
    source: str

    def describe(self) -> str:
        """One line for the user."""
        where = {"given": "within the given range", "estimated": "estimated from the image",
                 "pixel size": "estimated, within the default µm range"}[self.source]
        return (f"nucleus diameter {self.typical:.0f} px ({where}; objects of "
                f"{self.low:.0f}-{self.high:.0f} px kept)")


def nucleus_scale(image: np.ndarray, diameter_range_px=None,
                  pixel_size_um: float | None = None) -> NucleusScale:
    """The diameters to segment ``image`` with: ``diameter_range_px`` (the estimate clipped
    into it), else :data:`DEFAULT_DIAMETER_UM` at ``pixel_size_um``, else the estimate
    divided and multiplied by :data:`RANGE_FACTOR`."""
    estimate = estimate_nucleus_diameter(image)
    if diameter_range_px is not None:
        low, high = check_diameter_range(diameter_range_px)
        source = "given"
    elif pixel_size_um:
        low, high = (d / float(pixel_size_um) for d in DEFAULT_DIAMETER_UM)
        source = "pixel size"
    else:
        if estimate is None:  # an empty field: nothing to find, any scale will do
            estimate = 10.0
        low, high = estimate / RANGE_FACTOR, estimate * RANGE_FACTOR
        source = "estimated"
    typical = float(np.clip(estimate if estimate is not None else np.sqrt(low * high),
                            low, high))
    return NucleusScale(float(low), float(high), typical, source)
