"""Nuclei and whole-cell segmentation of fluorescence images.

The classic pipeline follows CellProfiler's IdentifyPrimaryObjects /
IdentifySecondaryObjects: smooth, threshold automatically (Otsu or minimum
cross-entropy), fill holes, split touching nuclei by a seeded watershed on
the distance transform, keep objects inside a diameter range, and grow cells
from the nuclei over the thresholded cytoplasm channel. Cell ``k`` always
belongs to nucleus ``k``.

A cellpose backend is used for nuclei when ``backend="cellpose"`` and the
``cellpose`` package is installed; cellpose fetches its own weights on the
user's machine the first time.
"""

from __future__ import annotations

from importlib.util import find_spec

import numpy as np
from scipy import ndimage as ndi

from ..errors import BadInputError, MissingDependencyError
from ..memory import check_fits
from ..registry import Registry

__all__ = [
    "CELL_LANDSCAPES",
    "SEGMENTATION_BACKENDS",
    "THRESHOLD_METHODS",
    "available_backends",
    "check_diameter_range",
    "check_image",
    "segment_cells",
    "segment_nuclei",
    "threshold_image",
]


#: Intensities above this percentile are clipped before Otsu: a saturated or mitotic
#: nucleus, or bright debris, covers well under 0.5% of a field, and unclipped it
#: pulls Otsu's threshold above every ordinary nucleus (1 of 40 nuclei found on a
#: synthetic field with one saturated nucleus; 40 of 40 with clipping).
OTSU_CLIP_PERCENTILE = 99.5


def _otsu(image: np.ndarray) -> float:
    from skimage.filters import threshold_otsu

    ceiling = np.percentile(image, OTSU_CLIP_PERCENTILE)
    return float(threshold_otsu(np.minimum(image, ceiling)))


def _otsu_log(image: np.ndarray) -> float:
    from skimage.filters import threshold_otsu

    floor = float(image.min())
    logged = np.log1p(np.maximum(image - floor, 0))
    return float(np.expm1(threshold_otsu(logged)) + floor)


def _li(image: np.ndarray) -> float:
    from skimage.filters import threshold_li

    return float(threshold_li(image))


#: Automatic thresholds: name -> ``f(image) -> float``. CLI choices and the
#: Segment dock's combo box come from here.
THRESHOLD_METHODS: Registry = Registry("threshold method")
THRESHOLD_METHODS.add("otsu", _otsu, "Otsu's threshold (between-class variance) on "
                      f"intensities clipped at the {OTSU_CLIP_PERCENTILE:g}th percentile, so a "
                      "few saturated nuclei or debris cannot lift it above the rest")
THRESHOLD_METHODS.add("li", _li, "Li's minimum cross-entropy threshold (keeps dim objects)")
THRESHOLD_METHODS.add("otsu-log", _otsu_log, "Otsu's threshold on log intensities: for fields "
                      "with a very wide range (many saturated nuclei, strong shading)")

def available_backends() -> list[str]:
    """Backends this install can run (the Segment dock offers only these)."""
    return [name for name in SEGMENTATION_BACKENDS
            if SEGMENTATION_BACKENDS.entry(name).extra["available"]()]


#: Peak bytes per pixel of the classic pipeline: float smoothing and distance maps
#: (float64 copies), component and marker images and the watershed's own arrays.
SEGMENT_BYTES_PER_PIXEL = 48


def check_image(image, name: str) -> np.ndarray:
    """A single 2D numeric plane without NaN, or a BadInputError naming ``name``."""
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):
        raise BadInputError(
            f"{name} is an RGB(A) image (shape {arr.shape}); choose a single fluorescence "
            "channel (napari: right-click the layer > Split RGB)."
        )
    if arr.ndim != 2:
        raise BadInputError(
            f"{name} must be a single 2D plane, got shape {arr.shape}; pick one frame "
            "(napari: the current slice) or loop over the stack."
        )
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise BadInputError(
            f"{name} has dtype {arr.dtype}; a fluorescence intensity image is needed."
        )
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        raise BadInputError(f"{name} contains NaN/inf pixels; fill them before segmenting.")
    if arr.size == 0:
        raise BadInputError(f"{name} is empty.")
    check_fits(arr.size * SEGMENT_BYTES_PER_PIXEL,
               f"segmenting {name} ({arr.shape[0]} x {arr.shape[1]} px)",
               "segment it in parts (crop or tile the field) or bin it 2 x 2 first.")
    return arr


def threshold_image(image: np.ndarray, method: str = "otsu") -> float:
    """Automatic threshold of ``image`` by a :data:`THRESHOLD_METHODS` entry."""
    compute = THRESHOLD_METHODS.get(method)
    if np.ptp(image) == 0:
        return float(image.flat[0])
    return compute(image)


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


def _filter_sizes(labels: np.ndarray, low: float, high: float) -> np.ndarray:
    """Drop objects whose equivalent diameter is outside [low, high]."""
    area = np.bincount(labels.ravel())
    diameter = np.sqrt(4 * area / np.pi)
    keep = (diameter >= low) & (diameter <= high)
    keep[0] = False
    return np.where(keep[labels], labels, 0)


def _relabel(labels: np.ndarray) -> np.ndarray:
    from skimage.segmentation import relabel_sequential

    return relabel_sequential(labels.astype(np.int32, copy=False))[0].astype(np.int32)


def segment_nuclei(
    dapi,
    diameter_range_px=(8, 80),
    *,
    threshold_method: str = "otsu",
    threshold: float | None = None,
    threshold_scale: float = 1.0,
    smoothing_sigma: float | None = None,
    fill_holes: bool = True,
    declump: bool = True,
    exclude_border: bool = False,
    backend: str = "classic",
) -> np.ndarray:
    """Segment nuclei in a DNA stain (DAPI/Hoechst) image.

    Parameters
    ----------
    dapi : ndarray, shape (Y, X)
        Nuclear stain intensities.
    diameter_range_px : (float, float)
        Smallest and largest nucleus diameter in pixels. Objects whose
        equivalent diameter is outside are dropped; the smallest diameter also
        sets the smoothing and how close two nuclei centres may be.
    threshold_method : {"otsu", "li"}
        Automatic threshold: Otsu, or Li's minimum cross-entropy.
    threshold : float, optional
        Manual threshold in image units (overrides ``threshold_method``).
    threshold_scale : float
        Factor applied to the automatic threshold (>1 is stricter).
    smoothing_sigma : float, optional
        Gaussian sigma in pixels; default ``max(1, min_diameter / 8)``.
    fill_holes : bool
        Fill holes inside nuclei.
    declump : bool
        Split touching nuclei by a watershed of the distance transform seeded
        at its maxima (at least ``min_diameter / 2`` apart).
    exclude_border : bool
        Remove nuclei touching the image border.
    backend : str
        A :data:`SEGMENTATION_BACKENDS` entry:
        ``"classic"``, or ``"cellpose"`` (cellpose's nuclei model, needs ``cellpose``);
        the diameter filter and border exclusion still apply.

    Returns
    -------
    ndarray of int32, shape (Y, X)
        Nuclei labels 1..n (0 background).

    Examples
    --------
    >>> import numpy as np
    >>> from skimage.draw import disk
    >>> img = np.zeros((64, 64), np.uint16)
    >>> img[disk((20, 20), 8)] = 1000
    >>> img[disk((44, 40), 10)] = 1200
    >>> int(segment_nuclei(img, (8, 40)).max())
    2
    """
    from skimage.segmentation import clear_border

    image = check_image(dapi, "nuclei image")
    low, high = check_diameter_range(diameter_range_px)
    nuclei = SEGMENTATION_BACKENDS.get(backend)  # unknown names: a message listing the choices
    THRESHOLD_METHODS.entry(threshold_method)
    labels = nuclei(image, low, high, threshold_method=threshold_method, threshold=threshold,
                    threshold_scale=threshold_scale, smoothing_sigma=smoothing_sigma,
                    fill_holes=fill_holes, declump=declump)
    labels = _filter_sizes(np.asarray(labels).astype(np.int64), low, high)
    if exclude_border:
        labels = clear_border(labels)
    return _relabel(labels)


def _classic_nuclei(image: np.ndarray, low: float, high: float, *, threshold_method: str,
                    threshold: float | None, threshold_scale: float,
                    smoothing_sigma: float | None, fill_holes: bool,
                    declump: bool) -> np.ndarray:
    """Smooth, threshold, fill holes, drop specks, declump by a distance watershed."""
    from skimage.feature import peak_local_max
    from skimage.filters import gaussian
    from skimage.segmentation import watershed

    sigma = max(1.0, low / 8) if smoothing_sigma is None else float(smoothing_sigma)
    smooth = image.astype(np.float32)
    if sigma > 0:
        smooth = gaussian(smooth, sigma=sigma, preserve_range=True)
    cutoff = (threshold if threshold is not None
              else threshold_image(smooth, threshold_method) * threshold_scale)
    mask = smooth > cutoff
    if fill_holes:
        mask = ndi.binary_fill_holes(mask)
    # Specks far below the smallest nucleus would only seed spurious objects.
    components, _ = ndi.label(mask)
    min_area = np.pi * (low / 2) ** 2 / 4
    sizes = np.bincount(components.ravel())
    small = sizes < min_area
    small[0] = True
    mask &= ~small[components]
    components, n_components = ndi.label(mask)
    if not (declump and n_components):
        return components
    distance = ndi.distance_transform_edt(mask)
    distance = gaussian(distance, sigma=max(1.0, low / 8), preserve_range=True)
    peaks = peak_local_max(distance, min_distance=max(1, int(round(low / 2))),
                           labels=components, exclude_border=False)
    seeds = np.zeros(mask.shape, bool)
    seeds[tuple(peaks.T)] = True
    # Neighbouring maxima on a plateau become one seed.
    markers, n_markers = ndi.label(ndi.binary_dilation(seeds, iterations=1) & mask)
    # Every component gets at least one seed.
    seeded = np.zeros(n_components + 1, bool)
    seeded[components[markers > 0]] = True
    orphan = ~seeded[components] & mask
    markers = np.where(orphan, components + n_markers, markers)
    return watershed(-distance, markers, mask=mask)


def _cellpose_nuclei(image: np.ndarray, low: float, high: float, **_classic) -> np.ndarray:
    """cellpose's nuclei model at the middle of the diameter range (classic options unused)."""
    diameter = (low + high) / 2
    try:
        from cellpose import models
    except ImportError:
        # cellpose fetches its own weights on first use; backend='classic' needs nothing.
        raise MissingDependencyError(
            "cellpose", "cellpose", purpose="backend='cellpose'"
        ) from None
    try:
        model = models.CellposeModel(gpu=False, model_type="nuclei")
    except TypeError:  # cellpose >= 4 has one generalist model
        model = models.CellposeModel(gpu=False)
    output = model.eval(image, diameter=diameter)
    return np.asarray(output[0])


#: Nuclei segmentation backends: name -> ``f(image, low, high, **classic_options) -> labels``
#: (the diameter filter and border exclusion apply to every backend); ``available()`` says
#: whether this install can run it. A new backend is one ``SEGMENTATION_BACKENDS.add``.
SEGMENTATION_BACKENDS: Registry = Registry("segmentation backend")
SEGMENTATION_BACKENDS.add("classic", _classic_nuclei,
                          "smoothing, automatic threshold, declumping watershed",
                          available=lambda: True)
SEGMENTATION_BACKENDS.add("cellpose", _cellpose_nuclei,
                          "cellpose's nuclei model (needs the cellpose package)",
                          available=lambda: find_spec("cellpose") is not None)


def _sobel(smooth: np.ndarray) -> np.ndarray:
    from skimage.filters import sobel

    return sobel(smooth)


#: What the cells' seeded watershed floods: name -> ``f(smoothed cytoplasm) -> landscape``.
CELL_LANDSCAPES: Registry = Registry("cell landscape")
CELL_LANDSCAPES.add("gradient", _sobel, "the Sobel gradient: borders between touching cells "
                    "are edges (holds when neighbours differ in brightness)")
CELL_LANDSCAPES.add("intensity", np.negative, "the inverted intensity: borders are dim valleys")


def segment_cells(
    cytoplasm,
    nuclei_labels,
    *,
    threshold_method: str = "li",
    threshold: float | None = None,
    threshold_scale: float = 1.0,
    smoothing_sigma: float = 2.0,
    method: str = "gradient",
    exclude_border: bool = False,
) -> np.ndarray:
    """Grow whole cells from nuclei over a cytoplasm / cell-body channel.

    Parameters
    ----------
    cytoplasm : ndarray, shape (Y, X)
        Cell body stain (phalloidin/actin, CellMask, ...).
    nuclei_labels : ndarray of int, shape (Y, X)
        Nuclei from :func:`segment_nuclei`; each seeds the cell of the same id.
    threshold_method, threshold, threshold_scale
        Foreground threshold of the smoothed cytoplasm channel, as in
        :func:`segment_nuclei`. Cells never extend past it (nuclei are always
        kept). Li's threshold is the default here: cell bodies are dimmer and
        wider than nuclei, and Otsu cuts the dim ones down to their nucleus.
    smoothing_sigma : float
        Gaussian sigma in pixels before thresholding and flooding.
    method : str
        Landscape of the seeded watershed, a :data:`CELL_LANDSCAPES` name:
        ``"gradient"`` (default) or ``"intensity"``.
    exclude_border : bool
        Remove cells touching the image border.

    Returns
    -------
    ndarray of int32, shape (Y, X)
        Cell labels; cell ``k`` contains nucleus ``k``. Nuclei of removed cells
        have no cell.
    """
    from skimage.filters import gaussian
    from skimage.segmentation import clear_border, watershed

    image = check_image(cytoplasm, "cytoplasm image")
    nuclei = np.asarray(nuclei_labels)
    if not np.issubdtype(nuclei.dtype, np.integer):
        raise BadInputError(f"nuclei labels have dtype {nuclei.dtype}; integer labels are needed.")
    if nuclei.shape != image.shape:
        raise BadInputError(
            f"nuclei labels have shape {nuclei.shape} but the cytoplasm image has shape "
            f"{image.shape}; use both from the same field."
        )
    landscape_of = CELL_LANDSCAPES.get(method)  # unknown names: a message listing the choices
    smooth = image.astype(np.float32)
    if smoothing_sigma > 0:
        smooth = gaussian(smooth, sigma=smoothing_sigma, preserve_range=True)
    cutoff = (threshold if threshold is not None
              else threshold_image(smooth, threshold_method) * threshold_scale)
    mask = (smooth > cutoff) | (nuclei > 0)
    cells = watershed(landscape_of(smooth), markers=nuclei.astype(np.int64), mask=mask)
    if exclude_border:
        cells = clear_border(cells)
    return cells.astype(np.int32)
