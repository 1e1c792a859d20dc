"""Convex area and Feret diameters of all objects at once, in exact integer arithmetic.

Reproduces scikit-image's ``convex_hull_image`` (hull of the pixel edge
mid-points, pixel centres inside or on it) and ``feret_diameter_max`` (over the
convex image's 0.5 contour, whose hull is that of the convex image's edge
mid-points) in a few vectorised passes. Owned code: no library does it at this
speed (docs/morphometry.md, "Speed"; ``python benchmarks/bench_measure.py``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["hull_features"]


def _groups(obj: np.ndarray):
    """Start index and size of each run of equal ``obj`` values (obj sorted)."""
    m = obj.size
    starts = np.flatnonzero(np.r_[True, obj[1:] != obj[:-1]]) if m else np.zeros(0, np.intp)
    counts = np.diff(np.r_[starts, m])
    return starts, counts


def _neighbours(obj: np.ndarray):
    """Cyclic previous/next index of every point within its object's run."""
    starts, counts = _groups(obj)
    gid = np.repeat(np.arange(starts.size), counts)
    first = starts[gid]
    last = first + counts[gid] - 1
    index = np.arange(obj.size)
    prev = np.where(index == first, last, index - 1)
    nxt = np.where(index == last, first, index + 1)
    return prev, nxt, counts[gid]


def _prune_chain(obj, y, x, keep_left: bool):
    """Drop points of y-monotone chains that cannot be on their convex envelope.

    ``obj, y, x`` are grouped by object with ``y`` increasing within each
    group. ``keep_left`` keeps the envelope facing -x (left ends of rows),
    otherwise the one facing +x. A point on or behind the segment joining its
    chain neighbours is never a hull vertex, so parallel passes are safe.
    """
    while obj.size > 2:
        same = (obj[1:-1] == obj[:-2]) & (obj[1:-1] == obj[2:])
        yp, ym, yn = y[:-2], y[1:-1], y[2:]
        xp, xm, xn = x[:-2], x[1:-1], x[2:]
        side = (xm - xp) * (yn - yp) - (xn - xp) * (ym - yp)
        behind = side >= 0 if keep_left else side <= 0
        drop = np.zeros(obj.size, bool)
        drop[1:-1] = same & behind
        if not drop.any():
            break
        keep = ~drop
        obj, y, x = obj[keep], y[keep], x[keep]
    return obj, y, x


def _spans(obj, y, x, n):
    """Per (object, pixel row) of each convex polygon (doubled coordinates): the first and
    last pixel inside (``first > last`` when none)."""
    _, nxt, _ = _neighbours(obj)
    ya, xa, yb, xb = y, x, y[nxt], x[nxt]
    low, high = np.minimum(ya, yb), np.maximum(ya, yb)
    r0 = -((-low) // 2)
    r1 = high // 2
    count = np.maximum(r1 - r0 + 1, 0)
    edge = np.repeat(np.arange(obj.size), count)
    within = np.arange(edge.size) - np.repeat(np.cumsum(count) - count, count)
    row = r0[edge] + within
    dy = (yb - ya)[edge]
    dx = (xb - xa)[edge]
    flat = dy == 0
    sign = np.where(dy < 0, -1, 1)
    den = np.where(flat, 1, dy * sign)
    num = (xa[edge] * dy + (2 * row - ya[edge]) * dx) * sign
    first = -((-num) // (2 * den))
    last = num // (2 * den)
    if flat.any():
        lo = np.minimum(xa, xb)[edge[flat]]
        hi = np.maximum(xa, xb)[edge[flat]]
        first[flat] = -((-lo) // 2)
        last[flat] = hi // 2
    # Reduce over the edges crossing each (object, row).
    row_min = np.full(n, np.iinfo(np.int64).max)
    row_max = np.full(n, np.iinfo(np.int64).min)
    owner = obj[edge]
    np.minimum.at(row_min, owner, row)
    np.maximum.at(row_max, owner, row)
    has = row_max >= row_min
    height = np.where(has, row_max - row_min + 1, 0)
    offset = np.cumsum(height) - height
    slot = offset[owner] + row - row_min[owner]
    total = int(height.sum())
    lo_px = np.full(total, np.iinfo(np.int64).max)
    hi_px = np.full(total, np.iinfo(np.int64).min)
    np.minimum.at(lo_px, slot, first)
    np.maximum.at(hi_px, slot, last)
    slot_obj = np.repeat(np.arange(n), height)
    slot_row = np.arange(total) - np.repeat(offset, height) + np.repeat(np.where(has, row_min, 0), height)
    return slot_obj, slot_row, lo_px, hi_px


def _feret(obj, y, x, n, chunk=1 << 21):
    """Max distance and min caliper width of hull vertices, per object (doubled units).

    Objects with the same vertex count ``k`` (small for pixel shapes) are compared
    all against all as one ``(objects, k)`` block, at most ``chunk`` pairs at a time.
    """
    feret_max2 = np.zeros(n, np.int64)
    feret_min = np.full(n, np.inf)
    if obj.size == 0:
        return np.sqrt(feret_max2.astype(float)), feret_min
    _, nxt, _ = _neighbours(obj)
    ex, ey = x[nxt] - x, y[nxt] - y
    length = np.hypot(ex, ey)
    starts, counts = _groups(obj)
    for k in np.unique(counts):
        k = int(k)
        groups = np.flatnonzero(counts == k)
        per_block = max(1, chunk // (k * k))
        rows = max(1, chunk // k)   # vertices i per block for a single large object
        for g in range(0, groups.size, per_block):
            index = starts[groups[g:g + per_block], None] + np.arange(k)   # (m, k)
            owner = obj[index[:, 0]]
            best2 = np.zeros(index.shape[0], np.int64)
            width = np.full(index.shape[0], np.inf)
            Y, X = y[index][:, None, :], x[index][:, None, :]
            for r in range(0, k, rows):
                part = index[:, r:r + rows]
                dy = Y - y[part][:, :, None]
                dx = X - x[part][:, :, None]
                best2 = np.maximum(best2, (dy * dy + dx * dx).max(axis=(1, 2)))
                # width across edge i: distance of the farthest vertex from its line
                cross = np.abs(ex[part][:, :, None] * dy - ey[part][:, :, None] * dx).max(axis=2)
                edge = length[part]
                with np.errstate(divide="ignore", invalid="ignore"):
                    across = np.where(edge > 0, cross / edge, np.inf)
                width = np.minimum(width, across.min(axis=1))
            feret_max2[owner] = best2
            feret_min[owner] = width
    return np.sqrt(feret_max2.astype(float)), feret_min


def _polygon(obj, row, first, last):
    """Convex hull of the pixel-edge mid-points of each object, from its rows' extremes.

    ``obj, row`` ascend (object, then row); ``first``/``last`` are the first and
    last pixel column of the object in that row. Of the edge mid-points of a
    row only six can be hull vertices: the left, top and bottom mid-points of
    its first pixel and the right, top and bottom ones of its last. The three
    of the first pixels form a y-monotone chain per object, pruned to its
    convex envelope facing -x; those of the last pixels to the one facing +x.
    Returns ``obj, y, x`` (doubled coordinates) of the polygon of every object:
    its left chain top to bottom, then its right chain bottom to top.
    """
    # Consecutive rows k-1, k of one object share the line between them: of the
    # bottom mid-point of row k-1 and the top one of row k only the outer one
    # can be a vertex (the inner one lies between it and the row's other end).
    joined = np.zeros(obj.size, bool)
    joined[1:] = (obj[1:] == obj[:-1]) & (row[1:] == row[:-1] + 1)
    y = 2 * row[:, None] + np.array([-1, 0, 1])
    o = np.broadcast_to(obj[:, None], y.shape)
    chains = []
    for end, keep_left in ((first, True), (last, False)):
        outward = -end if keep_left else end
        keep = np.ones(y.shape, bool)
        keep[1:, 0] = ~joined[1:] | (outward[1:] > outward[:-1])     # top of row k
        keep[:-1, 2] = ~joined[1:] | (outward[:-1] >= outward[1:])   # bottom of row k-1
        side = -1 if keep_left else 1
        x = 2 * end[:, None] + np.array([0, side, 0])
        chains.append(_prune_chain(o[keep], y[keep], x[keep], keep_left))
    (lo, ly, lx), (ro, ry, rx) = chains
    o = np.concatenate([lo, ro[::-1]])
    order = np.argsort(o, kind="stable")
    o = o[order]
    y = np.concatenate([ly, ry[::-1]])[order]
    x = np.concatenate([lx, rx[::-1]])[order]
    repeat = np.zeros(o.size, bool)
    repeat[1:] = (o[1:] == o[:-1]) & (y[1:] == y[:-1]) & (x[1:] == x[:-1])
    return o[~repeat], y[~repeat], x[~repeat]


def hull_features(n: int, obj, row, first, last):
    """Convex area, max and min Feret diameter (px) of objects 0..n-1.

    ``obj, row, first, last``: every (object, pixel row), ascending, with the
    object's first and last pixel column in it (:meth:`.Geometry.row_extremes`).
    """
    if n == 0:
        empty = np.zeros(0)
        return empty, empty, empty
    obj, row, first, last = (np.asarray(a, np.int64) for a in (obj, row, first, last))
    h_obj, h_y, h_x = _polygon(obj, row, first, last)
    row_obj, row, row_first, row_last = _spans(h_obj, h_y, h_x, n)
    inside = row_last >= row_first
    convex_area = np.bincount(row_obj[inside], weights=(row_last - row_first + 1)[inside],
                              minlength=n)
    # The 0.5-contour of the convex image has the hull of its pixels' edge
    # mid-points: the same construction on the convex image's rows.
    f_obj, f_y, f_x = _polygon(row_obj[inside], row[inside], row_first[inside], row_last[inside])
    feret_max, feret_min = _feret(f_obj, f_y, f_x, n)
    return convex_area.astype(float), feret_max / 2, feret_min / 2
