"""Per-object order statistics without sorting all foreground pixels together.

Objects of similar size are stacked as the rows of padded blocks and sorted
along the rows: ``N log(object size)`` in a few dozen numpy calls. Owned code
(docs/morphometry.md, "Speed"; ``python benchmarks/bench_measure.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SegmentLayout", "pixels_by_object", "segment_layout", "segment_order_stats",
           "segment_sum_std"]

#: Rows of one block are at most this much longer than their shortest member.
_PAD_RATIO = 1.25
#: Values per chunk of the mean/std passes (float64 temporaries stay in cache).
_CHUNK = 1 << 18


def _index_dtype(top: int):
    return np.int32 if top < 2**31 else np.intp


def pixels_by_object(run_start: np.ndarray, run_length: np.ndarray) -> np.ndarray:
    """Flat pixel indices grouped by object, from runs already grouped by object.

    ``concatenate([arange(s, s + n) for s, n in zip(run_start, run_length)])``,
    vectorised (int32 where the indices fit).
    """
    total = int(run_length.sum())
    if total == 0:
        return np.zeros(0, np.intp)
    dtype = _index_dtype(max(total, int(run_start.max()) + int(run_length.max())))
    offset = np.cumsum(run_length) - run_length
    return np.arange(total, dtype=dtype) + np.repeat((run_start - offset).astype(dtype),
                                                     run_length)


@dataclass
class SegmentLayout:
    """Where the values of every segment go in the padded, row-sorted blocks.

    ``position[k]`` is the buffer index of value ``k`` (values grouped by
    segment); ``blocks`` lists ``(offset, segments, sizes, width)``: the
    buffer from ``offset`` holds one row of ``width`` per segment.
    """

    position: np.ndarray
    blocks: list
    total: int


def segment_layout(sizes: np.ndarray) -> SegmentLayout:
    """Stack segments of similar size (within 25 %) as the rows of padded blocks."""
    sizes = np.asarray(sizes, np.int64)
    n = sizes.size
    by_size = np.argsort(sizes, kind="stable")
    ordered = sizes[by_size]
    row_start = np.zeros(n, np.int64)
    blocks, offset, i = [], 0, 0
    while i < n:
        smallest = int(ordered[i])
        cap = max(int(smallest * _PAD_RATIO), smallest + 4)
        j = max(i + 1, int(np.searchsorted(ordered, cap, side="right")))
        rows = by_size[i:j]
        width = int(ordered[j - 1])
        row_start[rows] = offset + np.arange(rows.size) * width
        blocks.append((offset, rows, sizes[rows], width))
        offset += rows.size * width
        i = j
    total = int(sizes.sum())
    dtype = _index_dtype(max(offset, total))
    starts = np.cumsum(sizes) - sizes
    position = np.arange(total, dtype=dtype) + np.repeat((row_start - starts).astype(dtype),
                                                         sizes)
    return SegmentLayout(position, blocks, offset)


def segment_order_stats(values: np.ndarray, layout: SegmentLayout | np.ndarray):
    """Minimum, maximum and (numpy's) median of each segment of ``values``, in float64.

    ``layout`` is :func:`segment_layout` of the segment sizes, or the sizes (each >= 1).
    """
    if not isinstance(layout, SegmentLayout):
        layout = segment_layout(layout)
    n = sum(rows.size for _, rows, _, _ in layout.blocks)
    minimum, maximum, median = np.empty(n), np.empty(n), np.empty(n)
    if values.dtype.kind == "b":
        values = values.view(np.uint8)
    pad = np.inf if values.dtype.kind == "f" else np.iinfo(values.dtype).max  # sorts last
    buffer = np.full(layout.total, pad, dtype=values.dtype)
    buffer[layout.position] = values
    for offset, rows, size, width in layout.blocks:
        block = buffer[offset:offset + rows.size * width].reshape(rows.size, width)
        block.sort(axis=1)
        r = np.arange(rows.size)
        minimum[rows] = block[r, 0]
        maximum[rows] = block[r, size - 1]
        median[rows] = (block[r, (size - 1) // 2].astype(np.float64)
                        + block[r, size // 2].astype(np.float64)) / 2
    return minimum, maximum, median


def segment_sum_std(values: np.ndarray, sizes: np.ndarray):
    """Sum and population standard deviation of each segment of ``values`` (sizes >= 1).

    Two passes in float64, as numpy's ``std``, over chunks of about ``_CHUNK`` values.
    """
    n = sizes.size
    sums, std = np.empty(n), np.empty(n)
    if n == 0:
        return sums, std
    ends = np.cumsum(sizes)
    cuts = np.searchsorted(ends, np.arange(_CHUNK, int(ends[-1]), _CHUNK), side="left") + 1
    bounds = np.unique(np.r_[0, cuts, n])
    for a, b in zip(bounds[:-1], bounds[1:]):
        start = int(ends[a - 1]) if a else 0
        size = sizes[a:b]
        chunk = values[start:int(ends[b - 1])].astype(np.float64)
        local = np.cumsum(size) - size
        total = np.add.reduceat(chunk, local)
        mean = total / size
        chunk -= np.repeat(mean, size)
        np.multiply(chunk, chunk, out=chunk)
        sums[a:b] = total
        std[a:b] = np.sqrt(np.add.reduceat(chunk, local) / size)
    return sums, std
