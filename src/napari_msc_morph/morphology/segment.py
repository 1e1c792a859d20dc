"""Nuclei and whole-cell segmentation of fluorescence images.

The classic pipeline, scaled to the typical nucleus diameter (:mod:`.scale`), and
the cells grown from the nuclei as CellProfiler's IdentifySecondaryObjects (cell
``k`` holds nucleus ``k``); docs/morphometry.md, "Segmentation", has each step and
its measured effect. ``backend="cellpose"`` is :mod:`.segment_cellpose`.
"""

from __future__ import annotations

from dataclasses import replace
from importlib.util import find_spec

import numpy as np

from .._exports import lazy_module
from .._exports import ndimage as ndi  # scipy.ndimage, imported at first use
from ..errors import BadInputError
from ..memory import check_fits
from ..registry import Registry
from .scale import NucleusScale, check_diameter_range, nucleus_scale
from .segment_cellpose import cellpose_cells, cellpose_device, cellpose_nuclei

#: scikit-image's modules, imported at first use (the Segment dock opens without them)
filters = lazy_module("skimage.filters")
segmentation = lazy_module("skimage.segmentation")

__all__ = [
    "CELL_LANDSCAPES",
    "SEGMENTATION_BACKENDS",
    "THRESHOLD_METHODS",
    "available_backends",
    "check_diameter_range",
    "check_image",
    "missing_backends_note",
    "nuclei_at_scale",
    "nuclear_signal",
    "nuclear_threshold",
    "segment_cells",
    "signal_sample",
    "segment_nuclei",
    "threshold_image",
]


#: Intensities above this percentile are clipped before Otsu: one saturated nucleus
#: (well under 0.5% of a field) otherwise lifts it above the rest (1 of 40 nuclei found).
OTSU_CLIP_PERCENTILE = 99.5


def _otsu(image: np.ndarray) -> float:
    ceiling = np.percentile(image, OTSU_CLIP_PERCENTILE)
    return float(filters.threshold_otsu(np.minimum(image, ceiling)))


def _otsu_log(image: np.ndarray) -> float:
    floor = float(image.min())
    logged = np.log1p(np.maximum(image - floor, 0))
    return float(np.expm1(filters.threshold_otsu(logged)) + floor)


def _li(image: np.ndarray) -> float:
    return float(filters.threshold_li(image))


def _triangle(image: np.ndarray) -> float:
    return float(filters.threshold_triangle(image))


#: Automatic thresholds: name -> ``f(image) -> float``.
THRESHOLD_METHODS: Registry = Registry("threshold method")
THRESHOLD_METHODS.add("otsu", _otsu, "Otsu's threshold (between-class variance) on "
                      f"intensities clipped at the {OTSU_CLIP_PERCENTILE:g}th percentile, so a "
                      "few saturated nuclei or debris cannot lift it above the rest")
THRESHOLD_METHODS.add("li", _li, "Li's minimum cross-entropy threshold (keeps dim objects)")
THRESHOLD_METHODS.add("triangle", _triangle, "Zack's triangle threshold (for fields where "
                      "nuclei cover a small part: sits just above the background peak)")
THRESHOLD_METHODS.add("otsu-log", _otsu_log, "Otsu's threshold on log intensities: for fields "
                      "with a very wide range (many saturated nuclei, strong shading)")

def available_backends() -> list[str]:
    """Backends this install can run (the Segment dock offers only these)."""
    return [name for name in SEGMENTATION_BACKENDS
            if SEGMENTATION_BACKENDS.entry(name).extra["available"]()]


def missing_backends_note() -> str:
    """One line naming the backends this install lacks and how to add them ('' if none)."""
    return "; ".join(
        f'{name}: pip install "napari-msc-morph[{entry.extra["install_extra"]}]"'
        for name in SEGMENTATION_BACKENDS
        if not (entry := SEGMENTATION_BACKENDS.entry(name)).extra["available"]())


#: Peak bytes per pixel of the classic pipeline (float64 maps, markers, the watershed's).
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
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
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


def _filter_sizes(labels: np.ndarray, low: float, high: float) -> np.ndarray:
    """Drop objects whose equivalent diameter is outside [low, high]."""
    area = np.bincount(labels.ravel())
    diameter = np.sqrt(4 * area / np.pi)
    keep = (diameter >= low) & (diameter <= high)
    keep[0] = False
    return np.where(keep[labels], labels, 0)


def _relabel(labels: np.ndarray) -> np.ndarray:
    return segmentation.relabel_sequential(labels.astype(np.int32, copy=False))[0].astype(np.int32)


#: Nuclei are detected above this fraction of the automatic threshold: dim nuclei fall
#: below Otsu's cut (BBBC039 tuning images: recall 0.79 -> 0.86).
DETECT_FRACTION = 0.5
#: Each nucleus is then cut at this fraction of its own peak, without its halo (AP at
#: IoU 0.8: 0.58 -> 0.66 on the tuning images).
REFINE_FRACTION = 0.3
#: Weight of the normalised signal beside the distance (in nucleus radii) in the
#: declumping landscape: touching nuclei split along their dim seam, not only at a waist.
BRIGHTNESS_WEIGHT = 1.0
#: A region's peak must rise this much above the pass to its neighbour, else the two are
#: one nucleus (h-maxima, Soille 2003, on the regions' adjacency: 3x cheaper than
#: scikit-image's h_maxima; precision 0.944 -> 0.958 on the tuning images).
SEED_PROMINENCE = 0.05


def segment_nuclei(
    dapi,
    diameter_range_px=None,
    *,
    typical_diameter_px: float | None = None,
    pixel_size_um: float | None = None,
    threshold_method: str = "otsu",
    threshold: float | None = None,
    threshold_scale: float = 1.0,
    smoothing_sigma: float | None = None,
    fill_holes: bool = True,
    declump: bool = True,
    exclude_border: bool = False,
    backend: str = "classic",
    device: str = "auto",
) -> np.ndarray:
    """Segment nuclei in a DNA stain (DAPI/Hoechst) image.

    Parameters
    ----------
    dapi : ndarray, shape (Y, X)
        Nuclear stain intensities.
    diameter_range_px : (float, float), optional
        Size filter on the equivalent diameter, in pixels; default from
        ``pixel_size_um`` or the image (:func:`.scale.nucleus_scale`).
    typical_diameter_px : float, optional
        Sets smoothing, background and declumping; default the image's estimate.
    pixel_size_um : float, optional
        Without a range, turns the default µm range into pixels.
    threshold_method : str
        A :data:`THRESHOLD_METHODS` name; nuclei are detected above
        :data:`DETECT_FRACTION` of it.
    threshold : float, optional
        Detection threshold above the local background (overrides the method;
        a study's, :func:`nuclear_threshold`).
    threshold_scale : float
        Factor on the automatic threshold (>1 is stricter).
    smoothing_sigma : float, optional
        Gaussian sigma in pixels; default ``max(1, typical diameter / 12)``.
    fill_holes, declump, exclude_border : bool
        Fill holes inside nuclei; split touching ones by a seeded watershed;
        remove those touching the border.
    backend, device : str
        A :data:`SEGMENTATION_BACKENDS` name and, for cellpose, a
        ``models.backbones.DEVICES`` name.

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
    image = check_image(dapi, "nuclei image")
    SEGMENTATION_BACKENDS.entry(backend)  # unknown names: a message listing the choices
    THRESHOLD_METHODS.entry(threshold_method)
    scale = nucleus_scale(image, diameter_range_px, pixel_size_um)
    if typical_diameter_px is not None:
        scale = replace(scale, typical=float(typical_diameter_px))
    labels = nuclei_at_scale(image, scale, backend=backend, device=device,
                             threshold_method=threshold_method, threshold=threshold,
                             threshold_scale=threshold_scale, smoothing_sigma=smoothing_sigma,
                             fill_holes=fill_holes, declump=declump)
    return _relabel(segmentation.clear_border(labels)) if exclude_border else labels


def nuclei_at_scale(image: np.ndarray, scale: NucleusScale, *, backend: str = "classic",
                    device: str = "auto", **options) -> np.ndarray:
    """Nuclei of a checked image at ``scale``: the backend's, size-filtered, numbered 1..n."""
    labels = SEGMENTATION_BACKENDS.get(backend)(image, scale.low, scale.high,
                                                typical=scale.typical, device=device, **options)
    return _relabel(_filter_sizes(np.asarray(labels).astype(np.int64), scale.low, scale.high))


def nuclear_signal(image: np.ndarray, typical: float,
                   smoothing_sigma: float | None = None) -> np.ndarray:
    """The smoothed nuclear stain above its local background (float32).

    The background is a grey opening wider than two nuclei, on a copy shrunk to
    ~4 px per nucleus diameter: shading and haze go, nuclei stay.
    """
    sigma = max(1.0, typical / 12) if smoothing_sigma is None else float(smoothing_sigma)
    smooth = np.asarray(image, np.float32)
    if sigma > 0:
        smooth = filters.gaussian(smooth, sigma=sigma, preserve_range=True)
    step = max(1, int(typical // 4))
    small = smooth[::step, ::step]
    background = ndi.grey_opening(small, size=int(2 * typical / step) + 1)
    background = ndi.uniform_filter(background, int(typical / step) + 1)
    if step > 1:
        zoom = (smooth.shape[0] / small.shape[0], smooth.shape[1] / small.shape[1])
        background = ndi.zoom(background, zoom, order=1, grid_mode=True, mode="nearest")
        background = background[:smooth.shape[0], :smooth.shape[1]]
    return smooth - background


def signal_sample(image, diameter_range_px=None, pixel_size_um: float | None = None,
                  max_pixels: int = 250_000) -> np.ndarray:
    """Evenly spaced pixels of ``image``'s :func:`nuclear_signal`, at the scale
    :func:`segment_nuclei` would use: one field's share of a study threshold."""
    image = check_image(image, "nuclei image")
    scale = nucleus_scale(image, diameter_range_px, pixel_size_um)
    signal = nuclear_signal(image, scale.typical).ravel()
    return signal[::max(1, int(np.ceil(signal.size / max_pixels)))]


def nuclear_threshold(signals, method: str = "otsu", *, max_pixels: int = 2_000_000) -> float:
    """One detection threshold for several fields: ``method`` on their pooled signal.

    ``signals`` are :func:`nuclear_signal` images or :func:`signal_sample` s, of
    which at most ``max_pixels`` evenly spaced pixels are pooled.
    """
    signals = [np.asarray(s, np.float32).ravel() for s in signals]
    total = sum(s.size for s in signals)
    step = max(1, int(np.ceil(total / max_pixels)))
    pooled = np.concatenate([s[::step] for s in signals])
    return threshold_image(pooled, method) * DETECT_FRACTION


def _classic_nuclei(image: np.ndarray, low: float, high: float, *, typical: float,
                    threshold_method: str = "otsu", threshold: float | None = None,
                    threshold_scale: float = 1.0, smoothing_sigma: float | None = None,
                    fill_holes: bool = True, declump: bool = True,
                    device: str = "auto") -> np.ndarray:
    """Correct the background, detect, declump, cut each nucleus at its own level (CPU)."""
    signal = nuclear_signal(image, typical, smoothing_sigma)
    cutoff = (threshold if threshold is not None else
              threshold_image(signal, threshold_method) * threshold_scale * DETECT_FRACTION)
    mask = signal > cutoff
    if fill_holes:
        mask = ndi.binary_fill_holes(mask)
    # Specks far below the smallest nucleus would only seed spurious objects.
    components, _ = ndi.label(mask)
    sizes = np.bincount(components.ravel())
    small = sizes < np.pi * (low / 2) ** 2 / 4
    small[0] = True
    mask &= ~small[components]
    components, n_components = ndi.label(mask)
    if not n_components:
        return components
    labels = _declump(signal, mask, components, n_components, cutoff, typical) if declump \
        else components
    # each nucleus at REFINE_FRACTION of its own peak: its edge, not the field's
    peak = np.zeros(int(labels.max()) + 1, np.float32)
    peak[1:] = ndi.maximum(signal, labels, np.arange(1, len(peak)))
    labels = np.where(signal > REFINE_FRACTION * peak[labels], labels, 0)
    if fill_holes:
        holes = ndi.binary_fill_holes(labels > 0) & (labels == 0)
        if holes.any():
            labels = segmentation.watershed(np.zeros(labels.shape, np.float32), labels,
                                            mask=(labels > 0) | holes)
    return labels


def _declump(signal, mask, components, n_components, cutoff, typical) -> np.ndarray:
    """Seeded watershed of distance-to-background plus brightness."""
    from skimage.feature import peak_local_max

    distance = ndi.distance_transform_edt(mask)
    distance = filters.gaussian(distance, sigma=max(1.0, typical / 8), preserve_range=True)
    bright = np.percentile(signal[mask], 95) - cutoff
    brightness = np.clip((signal - cutoff) / bright, 0, 1) if bright > 0 else 0
    landscape = distance / (typical / 2) + BRIGHTNESS_WEIGHT * brightness
    peaks = peak_local_max(landscape, min_distance=max(1, int(typical / 4)),
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
    return _merge_shallow(segmentation.watershed(-landscape, markers, mask=mask), landscape)


def _merge_shallow(labels: np.ndarray, landscape: np.ndarray) -> np.ndarray:
    """Merge neighbouring regions whose lower peak rises less than :data:`SEED_PROMINENCE`
    above the pass between them (the h-maxima criterion, on the regions' adjacency:
    passes are visited from the highest down, as a flood would reach them)."""
    n = int(labels.max())
    if n < 2:
        return labels
    peak = np.full(n + 1, -np.inf)
    peak[1:] = ndi.maximum(landscape, labels, np.arange(1, n + 1))
    pairs, passes = [], []
    for a, b, va, vb in ((labels[:, :-1], labels[:, 1:], landscape[:, :-1], landscape[:, 1:]),
                         (labels[:-1], labels[1:], landscape[:-1], landscape[1:])):
        border = (a != b) & (a > 0) & (b > 0)
        low, high = np.minimum(a[border], b[border]), np.maximum(a[border], b[border])
        pairs.append(low.astype(np.int64) * (n + 1) + high)
        passes.append(np.minimum(va[border], vb[border]))
    pairs, passes = np.concatenate(pairs), np.concatenate(passes)
    if not pairs.size:
        return labels
    keys, where = np.unique(pairs, return_inverse=True)
    height = np.full(keys.size, -np.inf)
    np.maximum.at(height, where, passes)
    parent = np.arange(n + 1)

    def root(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for k in np.argsort(-height):
        ra, rb = root(keys[k] // (n + 1)), root(keys[k] % (n + 1))
        if ra != rb and min(peak[ra], peak[rb]) - height[k] < SEED_PROMINENCE:
            keep, drop = (ra, rb) if peak[ra] >= peak[rb] else (rb, ra)
            parent[drop] = keep
    return np.array([root(x) for x in range(n + 1)])[labels]


def _classic_cells(cytoplasm: np.ndarray, nuclei_image: np.ndarray, nuclei_labels: np.ndarray,
                   *, typical: float, device: str = "auto") -> np.ndarray:
    """The classic cells: :func:`segment_cells` (the nuclear stain and device unused)."""
    return segment_cells(cytoplasm, nuclei_labels)


#: Segmentation backends: name -> ``f(image, low, high, *, typical, device, **classic_options)
#: -> nuclei labels``; ``cells(cytoplasm, nuclei_image, nuclei_labels, *, typical,
#: device)`` gives cell ``k`` to nucleus ``k``; ``available()``,
#: ``install_extra`` and ``device(name)`` (a check; none: CPU only).
SEGMENTATION_BACKENDS: Registry = Registry("segmentation backend")
SEGMENTATION_BACKENDS.add("classic", _classic_nuclei,
                          "background correction, automatic threshold, declumping "
                          "watershed, each nucleus cut at its own level",
                          available=lambda: True, cells=_classic_cells)
SEGMENTATION_BACKENDS.add("cellpose", cellpose_nuclei,
                          "cellpose's learned model for nuclei and whole cells (Cellpose-SAM "
                          "in cellpose 4; nuclei/cyto3 in cellpose 3), on the GPU when there "
                          "is one (needs the cellpose package and its downloaded weights)",
                          available=lambda: find_spec("cellpose") is not None,
                          cells=cellpose_cells, install_extra="cellpose", device=cellpose_device)


def _sobel(smooth: np.ndarray) -> np.ndarray:
    return filters.sobel(smooth)


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
        The cytoplasm's foreground threshold, as in :func:`segment_nuclei`
        (Li's by default: Otsu cuts dim cell bodies down to their nucleus).
    smoothing_sigma : float
        Gaussian sigma in pixels before thresholding and flooding.
    method : str
        A :data:`CELL_LANDSCAPES` name for the watershed's landscape.
    exclude_border : bool
        Remove cells touching the image border.

    Returns
    -------
    ndarray of int32, shape (Y, X)
        Cell labels; cell ``k`` contains nucleus ``k``.
    """
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
        smooth = filters.gaussian(smooth, sigma=smoothing_sigma, preserve_range=True)
    cutoff = (threshold if threshold is not None
              else threshold_image(smooth, threshold_method) * threshold_scale)
    mask = (smooth > cutoff) | (nuclei > 0)
    cells = segmentation.watershed(landscape_of(smooth), markers=nuclei.astype(np.int64), mask=mask)
    if exclude_border:
        cells = segmentation.clear_border(cells)
    return cells.astype(np.int32)
