"""Cell shapes drawn on small patches, and the canvas they are painted on.

Each shape returns an *interior depth* ``s`` on its bounding box (0 outside, 1 on its
axis); thickness, labels and nuclei derive from ``s`` and the local coordinates ``(u, v)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LUT_SIZE = 512
_LUT_THETA = np.linspace(-np.pi, np.pi, LUT_SIZE, endpoint=False)


@dataclass
class Patch:
    """The pixels of one shape, as flat arrays (only pixels inside the shape).

    ``rr``/``cc``: canvas indices (may fall outside it); ``s``: interior depth in (0, 1];
    ``u``/``v``: local coordinates (``u`` along the cell axis); ``axial``: 0-1 profile along
    the axis that thickens spindles in their middle.
    """

    rr: np.ndarray
    cc: np.ndarray
    s: np.ndarray
    u: np.ndarray
    v: np.ndarray
    axial: np.ndarray | float = 1.0


def _fill_rows(ys: np.ndarray, xs: np.ndarray):
    """Pixel centres between the outermost outline points (~0.7 px apart) of each row, widened by a pixel."""
    ry = np.rint(ys).astype(np.int64)
    r0 = int(ry.min())
    n_rows = int(ry.max()) - r0 + 1
    lo = np.full(n_rows, np.inf)
    hi = np.full(n_rows, -np.inf)
    np.minimum.at(lo, ry - r0, xs)
    np.maximum.at(hi, ry - r0, xs)
    present = np.isfinite(lo)
    if not present.all():
        # a steep outline can skip a row: borrow the neighbouring rows' extent
        idx = np.arange(n_rows)
        prev = np.maximum.accumulate(np.where(present, idx, 0))
        nxt = np.minimum.accumulate(np.where(present, idx, n_rows - 1)[::-1])[::-1]
        lo = np.where(present, lo, np.minimum(lo[prev], lo[nxt]))
        hi = np.where(present, hi, np.maximum(hi[prev], hi[nxt]))
    rows = np.arange(r0, r0 + n_rows)
    start = np.floor(lo).astype(np.int64) - 1
    lengths = np.ceil(hi).astype(np.int64) + 2 - start
    total = int(lengths.sum())
    rr = np.repeat(rows, lengths)
    offsets = np.repeat(np.cumsum(lengths) - lengths - start, lengths)
    cc = np.arange(total, dtype=np.int64) - offsets
    return rr, cc


def _densify(ys: np.ndarray, xs: np.ndarray, spacing: float = 0.5):
    """Resample a polyline so neighbouring points are at most ``spacing`` apart."""
    seg = np.hypot(np.diff(ys), np.diff(xs))
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    n = int(arc[-1] / spacing) + 2
    if n <= len(ys):
        return ys, xs
    t = np.linspace(0.0, arc[-1], n)
    return np.interp(t, arc, ys), np.interp(t, arc, xs)


def _local(rr, cc, cy, cx, angle):
    dy = rr.astype(np.float32) - np.float32(cy)
    dx = cc.astype(np.float32) - np.float32(cx)
    ca, sa = np.float32(np.cos(angle)), np.float32(np.sin(angle))
    return dx * ca + dy * sa, dy * ca - dx * sa


def to_canvas(u, v, cy, cx, angle):
    """Local ``(u, v)`` of a shape centred at ``(cy, cx)`` and rotated by ``angle`` -> canvas (y, x)."""
    ca, sa = np.cos(angle), np.sin(angle)
    return cy + u * sa + v * ca, cx + u * ca - v * sa


def spindle(
    cy: float,
    cx: float,
    half_length_front: float,
    half_length_back: float,
    half_width: float,
    angle: float,
    bend: float = 0.0,
    taper: float = 1.0,
) -> Patch:
    """A fusiform cell; ``taper`` > 1 gives long thin tails, ``bend`` curves the axis."""
    front = max(float(half_length_front), 1.0)
    back = max(float(half_length_back), 1.0)
    half_width = max(float(half_width), 0.6)
    length = max(front, back)
    bend_px = np.float32(bend * length)
    taper = np.float32(taper)

    def profile(u):
        un = np.where(u >= 0, u * np.float32(1.0 / front), u * np.float32(1.0 / back))
        un2 = un * un
        base = np.clip(1.0 - un2, 0.0, None)
        width = np.float32(half_width) * base**taper + np.float32(0.35)
        return base, width, bend_px * (un2 - np.float32(1.0 / 3.0))

    n = int(front + back) + 8
    uo = np.linspace(-back, front, n).astype(np.float32)
    _, wo, co = profile(uo)
    # both edges, tip to tip, densified so every row crossed gets both ends
    oy, ox = to_canvas(np.concatenate([uo, uo[::-1]]), np.concatenate([co + wo, (co - wo)[::-1]]),
                       cy, cx, angle)
    oy, ox = _densify(np.append(oy, oy[0]), np.append(ox, ox[0]))
    rr, cc = _fill_rows(oy, ox)
    u, v = _local(rr, cc, cy, cx, angle)
    base, width, centre = profile(u)
    s = 1.0 - np.abs(v - centre) / width
    keep = (base > 0) & (s > 0)
    s = np.minimum(s[keep], np.float32(1.0))
    return Patch(rr[keep], cc[keep], s, u[keep], v[keep], axial=np.sqrt(base[keep]))


def star(cy: float, cx: float, radius_lut: np.ndarray, angle: float = 0.0, aspect: float = 1.0) -> Patch:
    """A star-shaped cell of outline radius ``radius_lut[θ]``; ``aspect`` stretches it along ``angle``."""
    radius_lut = np.asarray(radius_lut, dtype=np.float32)
    stretch = np.float32(np.sqrt(max(aspect, 1e-3)))
    theta = np.linspace(-np.pi, np.pi, LUT_SIZE + 1)
    r = np.append(radius_lut, radius_lut[0])
    oy, ox = to_canvas(r * np.cos(theta) * stretch, r * np.sin(theta) / stretch, cy, cx, angle)
    oy, ox = _densify(oy, ox)
    # the centre too, so a tiny shape still covers its own pixel
    rr, cc = _fill_rows(np.append(oy, cy), np.append(ox, cx))
    u, v = _local(rr, cc, cy, cx, angle)
    us = u * np.float32(1.0 / stretch)
    vs = v * stretch
    rho = np.hypot(us, vs)
    index = ((np.arctan2(vs, us) + np.float32(np.pi)) * np.float32(LUT_SIZE / (2 * np.pi))).astype(np.int32)
    np.minimum(index, LUT_SIZE - 1, out=index)
    s = 1.0 - rho / radius_lut[index]
    keep = s > 0
    return Patch(rr[keep], cc[keep], np.minimum(s[keep], np.float32(1.0)), u[keep], v[keep])


def ellipse_depth(patch: Patch, a: float, b: float, du: float = 0.0, dv: float = 0.0) -> np.ndarray:
    """Depth (0 outside, 1 at the centre) of an ellipse in a patch's local frame."""
    a = max(a, 0.75)
    b = max(b, 0.75)
    q = ((patch.u - np.float32(du)) * np.float32(1.0 / a)) ** 2 + (
        (patch.v - np.float32(dv)) * np.float32(1.0 / b)
    ) ** 2
    return np.clip(1.0 - q, 0.0, 1.0)


def polygon_lut(angles: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Outline radius on the LUT of a star-shaped polygon with vertices at polar ``angles``, ``radii``."""
    order = np.argsort(np.mod(angles, 2 * np.pi))
    a = np.mod(np.asarray(angles, dtype=float)[order], 2 * np.pi)
    r = np.asarray(radii, dtype=float)[order]
    a_next = np.roll(a, -1)
    a_next[-1] += 2 * np.pi
    r_next = np.roll(r, -1)
    theta = np.mod(_LUT_THETA, 2 * np.pi)
    # which edge each LUT angle falls on
    idx = np.searchsorted(a, theta, side="right") - 1
    idx = np.where(idx < 0, len(a) - 1, idx)
    t = np.where(theta < a[idx], theta + 2 * np.pi, theta)
    ai, ri, aj, rj = a[idx], r[idx], a_next[idx], r_next[idx]
    # polar equation of the straight line through (ai, ri) and (aj, rj)
    num = ri * rj * np.sin(aj - ai)
    den = ri * np.sin(t - ai) + rj * np.sin(aj - t)
    out = num / np.maximum(den, 1e-6)
    return np.clip(out, 0.2 * r.min(), 1.2 * r.max()).astype(np.float32)


def harmonic_lut(amplitudes, phases) -> np.ndarray:
    """``1 + Σ_k a_k cos(kθ + φ_k)`` for k = 2, 3, … on the LUT angles."""
    out = np.ones(LUT_SIZE)
    for k, (amp, phase) in enumerate(zip(amplitudes, phases), start=2):
        out += amp * np.cos(k * _LUT_THETA + phase)
    return np.clip(out, 0.3, None).astype(np.float32)


def spikes_lut(base: float, angles, lengths, widths, power: float = 2.0) -> np.ndarray:
    """A round body of radius ``base`` with tapering radial processes (astrocytes)."""
    out = np.full(LUT_SIZE, float(base))
    for angle, length, width in zip(angles, lengths, widths):
        delta = np.angle(np.exp(1j * (_LUT_THETA - angle)))
        out += length * np.clip(1.0 - np.abs(delta) / width, 0.0, None) ** power
    return out.astype(np.float32)


def lut_area(radius_lut: np.ndarray) -> float:
    """Area enclosed by a star-shaped outline, in px²."""
    return float(0.5 * np.mean(np.asarray(radius_lut, dtype=float) ** 2) * 2 * np.pi)


class Canvas:
    """Accumulates optical thickness, brightness and cell ownership on a ``shape`` of render pixels."""

    def __init__(self, shape: tuple[int, int]):
        self.shape = tuple(int(v) for v in shape)
        self.thickness = np.zeros(self.shape, np.float32)
        self.bright = np.zeros(self.shape, np.float32)
        self.owner = np.zeros(self.shape, np.int32)
        self._depth = np.zeros(self.shape, np.float32)
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []

    def paint(self, patch: Patch, values: np.ndarray, label: int = 0, target: str = "thickness") -> None:
        """Add ``values`` (one per patch pixel) to a map; a pixel belongs to the deepest cell there."""
        h, w = self.shape
        rr, cc = patch.rr, patch.cc
        values = np.broadcast_to(np.asarray(values, np.float32), rr.shape)
        s = patch.s
        inside = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
        if not inside.all():
            rr, cc, values, s = rr[inside], cc[inside], values[inside], s[inside]
        if rr.size == 0:
            return
        flat = rr * w + cc  # unique: a patch lists each pixel once
        target_map = getattr(self, target).reshape(-1)
        target_map[flat] += values
        if label:
            depth = self._depth.reshape(-1)
            claim = s > depth[flat]
            flat = flat[claim]
            depth[flat] = s[claim]
            self.owner.reshape(-1)[flat] = label

    def add_points(self, ys, xs, values) -> None:
        """Add ``values`` to the thickness at integer pixel positions (outside ones are dropped).

        Points are buffered and added in one ``bincount`` by :meth:`flush`.
        """
        ys = np.asarray(ys).astype(np.int64).ravel()
        xs = np.asarray(xs).astype(np.int64).ravel()
        values = np.broadcast_to(np.asarray(values, np.float32), ys.shape)
        h, w = self.shape
        keep = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
        if keep.any():
            self._pending.append((ys[keep] * w + xs[keep], values[keep]))

    def flush(self) -> None:
        """Add all buffered points to the thickness."""
        if self._pending:
            flat = np.concatenate([i for i, _ in self._pending])
            values = np.concatenate([v for _, v in self._pending])
            added = np.bincount(flat, weights=values, minlength=self.thickness.size).astype(np.float32)
            self.thickness += added.reshape(self.shape)
        self._pending = []

    def splat_polyline(self, ys, xs, widths, values, label: int = 0) -> None:
        """Draw a thin polyline given as dense points (≤ 0.7 px apart) with bilinear splats.

        ``widths`` > 1.5 px add a parallel offset copy each side.
        """
        ys = np.asarray(ys, np.float64)
        xs = np.asarray(xs, np.float64)
        values = np.broadcast_to(np.asarray(values, np.float64), ys.shape)
        widths = np.broadcast_to(np.asarray(widths, np.float64), ys.shape)
        all_y, all_x, all_v = [ys], [xs], [values]
        wide = widths > 1.5
        if wide.any() and len(ys) > 2:
            ty = np.gradient(ys)
            tx = np.gradient(xs)
            norm = np.hypot(ty, tx) + 1e-9
            ny, nx = tx / norm, -ty / norm
            off = 0.5 * (widths - 1.0)
            for sign in (-1.0, 1.0):
                all_y.append((ys + sign * off * ny)[wide])
                all_x.append((xs + sign * off * nx)[wide])
                all_v.append(values[wide])
        ys = np.concatenate(all_y)
        xs = np.concatenate(all_x)
        values = np.concatenate(all_v)
        iy = np.floor(ys).astype(np.int64)
        ix = np.floor(xs).astype(np.int64)
        fy = ys - iy
        fx = xs - ix
        for oy, ox, wgt in (
            (0, 0, (1 - fy) * (1 - fx)),
            (1, 0, fy * (1 - fx)),
            (0, 1, (1 - fy) * fx),
            (1, 1, fy * fx),
        ):
            self.add_points(iy + oy, ix + ox, values * wgt)
        if label:
            h, w = self.shape
            ry = np.clip(np.rint(ys).astype(np.int64), -1, h)
            rx = np.clip(np.rint(xs).astype(np.int64), -1, w)
            keep = (ry >= 0) & (ry < h) & (rx >= 0) & (rx < w)
            ry, rx = ry[keep], rx[keep]
            free = self.owner[ry, rx] == 0
            self.owner[ry[free], rx[free]] = label
