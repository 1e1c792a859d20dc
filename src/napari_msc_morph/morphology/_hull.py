"""Convex hull features of all labelled objects at once, in exact integer arithmetic.

scikit-image's regionprops builds, per object, the convex hull of the pixel
edge mid-points (``convex_hull_image``: every pixel contributes the four
points at +-0.5 along each axis), marks the pixel centres inside or on that
polygon (the convex image, whose pixel count is ``area_convex``), and takes
``feret_diameter_max`` as the largest distance between points of the convex
image's 0.5 contour. This module reproduces those definitions for every object
in a handful of vectorised passes:

1. candidate points: only the ends of horizontal and vertical pixel runs can
   be hull vertices; in doubled coordinates they are integers;
2. hulls: points sorted by angle around one of the object's pixel centres
   (strictly inside the hull); vertices that do not turn left are dropped in
   parallel passes until none is left (each dropped point lies in the
   triangle of the centre and its two neighbours, so it is never a hull
   vertex; all arithmetic is exact int64);
3. the convex image, row by row and column by column: the polygon's exact
   rational crossings of each pixel row/column, rounded inwards;
4. its contour points are the run ends of those rows and columns; the Feret
   diameters are the largest distance between their hull vertices and the
   smallest width over the hull's edges.
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


def _hull(obj, y, x, cy, cx):
    """Hull vertices (counter-clockwise in (x, y)) of the points of every object.

    ``obj`` indexes the per-object interior points ``cy``, ``cx``; all
    coordinates are int64. Returns ``obj, y, x`` of the vertices, grouped by
    object in ascending order.
    """
    dy = y - cy[obj]
    dx = x - cx[obj]
    # Objects are < 2**40 apart in the key; angles span < 7, so 8 separates them.
    key = obj * 8.0 + (np.arctan2(dy, dx) + np.pi)
    order = np.argsort(key)
    obj, y, x, dy, dx = obj[order], y[order], x[order], dy[order], dx[order]
    # Points in exactly the same direction from the centre: keep the farthest.
    dist2 = dy * dy + dx * dx
    same = np.zeros(obj.size, bool)
    same[1:] = (
        (obj[1:] == obj[:-1])
        & (dy[1:] * dx[:-1] - dx[1:] * dy[:-1] == 0)
        & (dy[1:] * dy[:-1] + dx[1:] * dx[:-1] > 0)
    )
    if same.any():
        group = np.cumsum(~same) - 1
        starts = np.flatnonzero(~same)
        far = np.maximum.reduceat(dist2, starts)
        keep = dist2 == far[group]
        keep[1:] &= ~(same[1:] & (dist2[1:] == dist2[:-1]) & keep[:-1])
        obj, y, x = obj[keep], y[keep], x[keep]
    while obj.size:
        prev, nxt, size = _neighbours(obj)
        turn = (x - x[prev]) * (y[nxt] - y) - (y - y[prev]) * (x[nxt] - x)
        ccy, ccx = cy[obj], cx[obj]
        wedge = (x[prev] - ccx) * (y[nxt] - ccy) - (y[prev] - ccy) * (x[nxt] - ccx)
        drop = (turn <= 0) & (wedge > 0) & (size > 3)
        if not drop.any():
            break
        keep = ~drop
        obj, y, x = obj[keep], y[keep], x[keep]
    return obj, y, x


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
    """Pixel rows of each convex polygon and, per row, the first/last pixel inside.

    Coordinates are doubled (pixel ``r`` sits at ``2 r``). Returns per
    object-row ``(object, row, first, last)``; ``first > last`` when no pixel
    centre of that row lies in the polygon.
    """
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


def _pairs(obj):
    """All ordered pairs (i, j) of points of the same object (obj sorted)."""
    starts, counts = _groups(obj)
    gid = np.repeat(np.arange(starts.size), counts)
    reps = counts[gid]
    i = np.repeat(np.arange(obj.size), reps)
    j = starts[gid][i] + (np.arange(i.size) - np.repeat(np.cumsum(reps) - reps, reps))
    return i, j


def _feret(obj, y, x, n, chunk=2_000_000):
    """Max distance and min caliper width of hull vertices, per object (doubled units)."""
    feret_max2 = np.zeros(n, np.int64)
    feret_min = np.full(n, np.inf)
    if obj.size == 0:
        return np.sqrt(feret_max2.astype(float)), feret_min
    _, nxt, _ = _neighbours(obj)
    ex = (x[nxt] - x).astype(np.float64)
    ey = (y[nxt] - y).astype(np.float64)
    length = np.hypot(ex, ey)
    # Work through objects in chunks so that k^2 pairs never get too large.
    starts, counts = _groups(obj)
    weight = np.cumsum(counts.astype(np.int64) ** 2)
    cuts = np.searchsorted(weight, np.arange(chunk, int(weight[-1]), chunk), side="right")
    bounds = np.unique(np.r_[0, cuts, starts.size])
    for g0, g1 in zip(bounds[:-1], bounds[1:]):
        a = starts[g0]
        b = starts[g1 - 1] + counts[g1 - 1]
        i, j = _pairs(obj[a:b])
        i += a
        j += a
        d2 = (y[i] - y[j]) ** 2 + (x[i] - x[j]) ** 2
        np.maximum.at(feret_max2, obj[i], d2)
        # width across edge i: distance of the farthest vertex from its line
        cross = np.abs(ex[i] * (y[j] - y[i]) - ey[i] * (x[j] - x[i]))
        edge_start = np.flatnonzero(np.r_[True, i[1:] != i[:-1]])
        edge = i[edge_start]
        farthest = np.maximum.reduceat(cross, edge_start)
        ok = length[edge] > 0
        np.minimum.at(feret_min, obj[edge[ok]], farthest[ok] / length[edge[ok]])
    return np.sqrt(feret_max2.astype(float)), feret_min


def hull_features(n: int, obj, y, x, cy, cx):
    """Convex area (px), max and min Feret diameter (px) of objects 0..n-1.

    Parameters
    ----------
    n : int
        Number of objects.
    obj, y, x : ndarray of int64
        Candidate hull points in doubled pixel coordinates (pixel ``(r, c)``
        sits at ``(2 r, 2 c)``): the edge mid-points at the ends of every
        horizontal and vertical pixel run of object ``obj``.
    cy, cx : ndarray of int64, shape (n,)
        A pixel centre of each object, doubled (strictly inside its hull).

    Returns
    -------
    convex_area, feret_max, feret_min : ndarray of float, shape (n,)
    """
    if n == 0:
        empty = np.zeros(0)
        return empty, empty, empty
    h_obj, h_y, h_x = _hull(obj, y, x, cy, cx)
    row_obj, row, row_first, row_last = _spans(h_obj, h_y, h_x, n)
    inside = row_last >= row_first
    convex_area = np.bincount(row_obj[inside], weights=(row_last - row_first + 1)[inside], minlength=n)
    col_obj, col, col_first, col_last = _spans(h_obj, h_x, h_y, n)
    col_inside = col_last >= col_first
    # Contour points of the convex image (its runs' ends +- 0.5), doubled.
    row, row_first, row_last, row_obj = row[inside], row_first[inside], row_last[inside], row_obj[inside]
    col, col_first, col_last, col_obj = (
        col[col_inside], col_first[col_inside], col_last[col_inside], col_obj[col_inside])
    # Each of the four chains (row starts, row ends, column tops, column
    # bottoms) is ordered by object and position: prune it before the hull.
    chains = [
        _prune_chain(row_obj, 2 * row, 2 * row_first - 1, True),
        _prune_chain(row_obj, 2 * row, 2 * row_last + 1, False),
    ]
    for o, cx_, cy_ in (
        _prune_chain(col_obj, 2 * col, 2 * col_first - 1, True),
        _prune_chain(col_obj, 2 * col, 2 * col_last + 1, False),
    ):
        chains.append((o, cy_, cx_))  # back from (col, row) to (row, col) order
    c_obj = np.concatenate([c[0] for c in chains])
    c_y = np.concatenate([c[1] for c in chains])
    c_x = np.concatenate([c[2] for c in chains])
    f_obj, f_y, f_x = _hull(c_obj, c_y, c_x, cy, cx)
    feret_max, feret_min = _feret(f_obj, f_y, f_x, n)
    return convex_area.astype(float), feret_max / 2, feret_min / 2
