"""Pixel sizes read from files: used only when plausible and square, else refused with why.

Metadata can be wrong in ways that look like numbers (150 dpi read as 169.3 µm/px,
a lost unit); every reader hands what it found to :func:`judge_pixel_size`. A
size the user gives always wins.
"""

from __future__ import annotations

import math
from pathlib import Path

__all__ = ["PLAUSIBLE_UM", "SQUARE_TOLERANCE", "HOW_TO_GIVE", "judge_pixel_size"]

#: µm per pixel a light microscope gives: 0.02 (super-resolution) to 20 (a whole-well scan).
PLAUSIBLE_UM = (0.02, 20.0)
#: Pixels whose height and width differ by more than this share are not square.
SQUARE_TOLERANCE = 0.01
#: Where a user gives the pixel size, for messages.
HOW_TO_GIVE = ("give the pixel size yourself (--pixel-size-um for predict and explain, "
               "--pixel-size for measure, a pixel_size_um column in a fields manifest, or the "
               "layer's scale in napari)")


def _problem(value: float, where: str) -> str:
    if not math.isfinite(value) or value <= 0:
        return f"its {where} gives a pixel size of {value} µm, which cannot be right"
    low, high = PLAUSIBLE_UM
    if not low <= value <= high:
        return (f"its {where} gives {value:g} µm/px, outside the {low:g}-{high:g} µm/px a light "
                "microscope gives (a wrong unit or a print resolution?)")
    return ""


def judge_pixel_size(path, x_um: float | None, y_um: float | None = None, source: str = ""
                     ) -> dict:
    """The pixel-size fields of a :class:`~napari_msc_morph.io.LoadedImage` for what a file says.

    Parameters
    ----------
    path : str or Path
        Named in messages.
    x_um, y_um : float or None
        Pixel width and height in µm (``y_um`` ``None``: as ``x_um``).
    source : str
        Which metadata gave them.

    Returns
    -------
    dict
        ``pixel_size_um`` (square and plausible, else ``None``), ``pixel_size_yx_um``
        (plausible, square or not), ``pixel_size_source``, ``pixel_size_refused``.

    Examples
    --------
    >>> judge_pixel_size("a.tif", 0.65, source="OME")["pixel_size_um"]
    0.65
    >>> judge_pixel_size("a.tif", 169.33, source="resolution tags")["pixel_size_um"] is None
    True
    """
    found = {"pixel_size_um": None, "pixel_size_yx_um": None, "pixel_size_source": "",
             "pixel_size_refused": ""}
    if x_um is None:
        return found
    y_um = x_um if y_um is None else y_um
    found["pixel_size_source"] = source
    problems = [p for p in (_problem(float(x_um), f"{source} (x)"),
                            _problem(float(y_um), f"{source} (y)")) if p]
    if x_um == y_um and problems:
        problems = [problems[0].replace(" (x)", "")]
    if problems:
        found["pixel_size_refused"] = (
            f"{Path(path)}: {'; '.join(problems)}. The size is not used; fix the metadata "
            f"(Fiji: Image › Properties) or {HOW_TO_GIVE}.")
        return found
    found["pixel_size_yx_um"] = (float(y_um), float(x_um))
    if abs(float(y_um) - float(x_um)) > SQUARE_TOLERANCE * max(float(x_um), float(y_um)):
        factor = float(y_um) / float(x_um)
        found["pixel_size_refused"] = (
            f"{Path(path)}: its pixels are not square ({source}: {float(x_um):g} µm wide, "
            f"{float(y_um):g} µm tall), and areas, perimeters and shapes need square pixels. "
            f"Resample it to square pixels first (Fiji: Image › Scale with Y scale {factor:g}; "
            f"Python: skimage.transform.rescale(image, ({factor:g}, 1))) and measure the "
            f"resampled image at {float(x_um):g} µm/px, or, if the metadata is wrong, "
            f"{HOW_TO_GIVE}.")
        return found
    found["pixel_size_um"] = float(x_um)
    return found
