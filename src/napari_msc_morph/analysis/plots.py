"""Correlation and cell-size plots drawn into a matplotlib Figure (no pyplot, no GUI backend).

Scatter points carry their sample keys, so a click maps back to a sample
(:func:`picked_samples`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..io import atomic_path
from ..jobs import CancelToken, ProgressFn, check_cancelled, report
from .aggregate import parse_columns, require_columns
from .correlate import CORRELATION_METHODS

_SAMPLE_KEYS_ATTR = "_msc_sample_keys"


def _format_p(p: float) -> str:
    if not np.isfinite(p):
        return "p = n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _new_figure(fig: Figure | None, width: float, height: float) -> Figure:
    if fig is None:
        return Figure(figsize=(width, height), layout="constrained")
    fig.clear()
    return fig


def _panels(fig: Figure | None, count: int, width: float, height: float, empty: str):
    """A figure with one panel per item on a grid of up to 3 columns (None: nothing to plot)."""
    columns = min(3, max(1, count))
    rows = int(np.ceil(max(1, count) / columns))
    fig = _new_figure(fig, width * columns, height * rows)
    if not count:
        fig.text(0.5, 0.5, empty, ha="center")
        return fig, None
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return fig, axes


def _n_text(ns: pd.Series) -> str:
    """``n = 4`` or ``n = 3-5``."""
    return f"n = {ns.min()}" + ("" if ns.min() == ns.max() else f"-{ns.max()}")


def scatter_figure(joined: pd.DataFrame, results: pd.DataFrame, score: str,
                   on: str | Sequence[str] = "sample_id", method: str = "pearson",
                   fig: Figure | None = None) -> Figure:
    """``score`` against each marker and assay of ``joined``, with a least-squares line and
    the ``method``'s r/p from ``results``; the points carry their ``on`` keys for picking.
    ``fig``: draw into this figure (cleared first), as every function here."""
    on = parse_columns(on)
    pairs = sorted(joined.groupby(["marker", "assay"]).groups)
    fig, axes = _panels(fig, len(pairs), 3.2, 2.8, "no marker values to plot")
    if axes is None:
        return fig
    # a dock's canvas on a laptop leaves ~1.1 in per panel: the stats line would be cut
    narrow = fig.get_figwidth() / axes.shape[1] < 2.2
    for ax, (marker, assay) in zip(axes.flat, pairs, strict=False):
        block = joined[(joined["marker"] == marker) & (joined["assay"] == assay)]
        block = block[np.isfinite(block[score]) & np.isfinite(block["value"])]
        points = ax.scatter(block[score], block["value"], s=28, color="#2a7ab9",
                            edgecolor="white", linewidth=0.5, picker=5, zorder=3)
        setattr(points, _SAMPLE_KEYS_ATTR, [tuple(k) for k in block[on].itertuples(index=False)])
        if "value_sd" in block.columns and block["value_sd"].notna().any():
            ax.errorbar(block[score], block["value"], yerr=block["value_sd"], fmt="none",
                        ecolor="#9bbbd6", elinewidth=0.8, zorder=2)
        row = results[(results["score"] == score) & (results["marker"] == marker)
                      & (results["assay"] == assay) & (results["method"] == method)]
        label = f"{marker} ({assay})"
        if len(block) >= 2 and np.ptp(block[score]) > 0:
            slope, intercept = np.polyfit(block[score], block["value"], 1)
            xs = np.linspace(block[score].min(), block[score].max(), 50)
            ax.plot(xs, slope * xs + intercept, color="#d1495b", linewidth=1.2, zorder=4)
        if not row.empty and np.isfinite(row["r"].iloc[0]):
            r, p, n = row["r"].iloc[0], row["p"].iloc[0], int(row["n"].iloc[0])
            symbol = CORRELATION_METHODS.entry(method).extra.get("symbol", "r")
            gap, size = ("\n", 7) if narrow else (", ", 9)
            title = f"{label}\n{symbol} = {r:.2f}{gap}{_format_p(p)}, n = {n}"
            if "rm_r" in row.columns and np.isfinite(row["rm_r"].iloc[0]):
                title += (f"\nrm r = {row['rm_r'].iloc[0]:.2f}, {_format_p(row['rm_p'].iloc[0])}"
                          f", {int(row['n_groups'].iloc[0])} {row['repeated_by'].iloc[0]} groups")
                size = 8
            ax.set_title(title, fontsize=size)
        elif not row.empty:
            ax.set_title(f"{label}\n{row['warning'].iloc[0]}", fontsize=8, color="#a03030")
        else:
            ax.set_title(label, fontsize=9)
        ax.set_xlabel(score, fontsize=8)
        ax.set_ylabel("value", fontsize=8)
        ax.tick_params(labelsize=7)
    return fig


def heatmap_figure(results: pd.DataFrame, method: str = "pearson",
                   fig: Figure | None = None) -> Figure:
    """A heatmap of r over scores (rows) x markers and assays (columns), a star for q < 0.05."""
    table = results[results["method"] == method].copy()
    table["pair"] = table["marker"] + "\n" + table["assay"]
    r = table.pivot_table(index="score", columns="pair", values="r", aggfunc="first",
                          dropna=False)
    q = table.pivot_table(index="score", columns="pair", values="q", aggfunc="first",
                          dropna=False).reindex_like(r)
    fig = _new_figure(fig, 1.2 + 1.0 * max(1, r.shape[1]), 1.2 + 0.6 * max(1, r.shape[0]))
    ax = fig.add_subplot()
    if r.empty:
        ax.text(0.5, 0.5, f"no {method} results", ha="center")
        ax.set_axis_off()
        return fig
    values = r.to_numpy(dtype=float)
    masked = np.ma.masked_invalid(values)
    import matplotlib

    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="#dddddd")
    image = ax.imshow(masked, cmap=cmap, vmin=-1, vmax=1, aspect="auto")
    for (i, j), value in np.ndenumerate(values):
        if np.isfinite(value):
            star = "*" if np.isfinite(q.iat[i, j]) and q.iat[i, j] < 0.05 else ""
            ax.text(j, i, f"{value:.2f}{star}", ha="center", va="center", fontsize=8,
                    color="white" if abs(value) > 0.6 else "black")
        else:
            ax.text(j, i, "n/a", ha="center", va="center", fontsize=7, color="#666666")
    ax.set_xticks(range(r.shape[1]), r.columns, fontsize=7)
    ax.set_yticks(range(r.shape[0]), r.index, fontsize=8)
    ns = table["n"].dropna().astype(int)
    n_text = "" if ns.empty else f", {_n_text(ns)} samples"
    ax.set_title(f"{method} r (* q < 0.05){n_text}", fontsize=9)
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


def time_course_figure(course: pd.DataFrame, by: str = "day",
                       fig: Figure | None = None) -> Figure:
    """Each score and marker of :func:`~.timecourse.time_course` against day: mean +- SD."""
    variables = list(dict.fromkeys(course.sort_values(["kind", "variable"], ascending=[False, True])
                                   ["variable"]))
    fig, axes = _panels(fig, len(variables), 3.2, 2.6, "nothing to plot")
    if axes is None:
        return fig
    groups = sorted(course["group"].astype(str).unique())
    colours = {g: f"C{i % 10}" for i, g in enumerate(groups)}
    for ax, variable in zip(axes.flat, variables, strict=False):
        block = course[course["variable"] == variable]
        for group, part in block.groupby(block["group"].astype(str), sort=True):
            part = part.sort_values(by)
            ax.errorbar(part[by], part["mean"], yerr=part["sd"].fillna(0), marker="o",
                        markersize=4, capsize=2, linewidth=1.2, color=colours[group],
                        label=group)
        ns = block["n"].dropna().astype(int)
        ax.set_title(variable + ("" if ns.empty else f" ({_n_text(ns)} per point)"), fontsize=9)
        ax.set_xlabel(by, fontsize=8)
        ax.tick_params(labelsize=7)
    if groups != ["all"]:  # one line without a condition column needs no legend
        axes.flat[0].legend(fontsize=7, title="condition", title_fontsize=7)
    return fig


def size_distribution_figure(cells: pd.DataFrame, column: str = "area_um2",
                             by: str | Sequence[str] | None = None,
                             size_weighting: str = "miles-lantuejoul", bins: int = 30,
                             fig: Figure | None = None) -> Figure:
    """Histogram of a per-cell size ``column``, one panel per ``by`` group.

    By default each cell counts with its Miles–Lantuéjoul ``edge_weight``, so the large
    cells the border exclusion lost are counted; the uncorrected histogram is the grey
    outline, and the two medians are lines.
    """
    from ..morphology.edge import weighted_quantile
    from ..morphology.summary import SIZE_WEIGHTINGS

    SIZE_WEIGHTINGS.entry(size_weighting)
    by = parse_columns(by) if by is not None else []
    require_columns(cells, [column, *by], "cell table has no column(s) {missing}; its columns "
                                          "are {columns}.")
    corrected = size_weighting != "none" and "edge_weight" in cells.columns
    values = pd.to_numeric(cells[column], errors="coerce").to_numpy(dtype=float)
    weights = (pd.to_numeric(cells["edge_weight"], errors="coerce").to_numpy(dtype=float)
               if corrected else np.ones(len(cells)))
    finite = values[np.isfinite(values)]
    edges = np.histogram_bin_edges(finite if finite.size else [0.0, 1.0], bins=bins)
    groups = (list(cells.groupby(by, sort=True).indices.items()) if by
              else [("all cells", np.arange(len(cells)))])
    fig, axes = _panels(fig, len(groups), 3.4, 2.6, "no cells to plot")
    if axes is None:
        return fig
    for ax, (key, rows) in zip(axes.flat, groups, strict=False):
        v, w = values[rows], weights[rows]
        ok = np.isfinite(v) & np.isfinite(w) & (w > 0)
        plain = np.isfinite(v)
        ax.hist(v[plain], bins=edges, density=True, histtype="step", color="#888888",
                linewidth=1.0, label=f"uncorrected (n = {int(plain.sum())})")
        if corrected and ok.any():
            ax.hist(v[ok], bins=edges, weights=w[ok], density=True, color="#6a8fd0",
                    alpha=0.7, label=f"edge-corrected (n = {int(ok.sum())})")
            ax.axvline(weighted_quantile(v[ok], w[ok], 0.5), color="#2a4f9a", linewidth=1.4)
        if plain.any():
            ax.axvline(float(np.median(v[plain])), color="#888888", linewidth=1.0,
                       linestyle="--")
        name = " / ".join(map(str, key)) if isinstance(key, tuple) else str(key)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(column, fontsize=8)
        ax.set_ylabel("share of cells per unit", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6, frameon=False)
    how = ("edge-corrected (Miles–Lantuéjoul); lines: medians" if corrected
           else "uncorrected: every cell once (no edge_weight column)" if size_weighting != "none"
           else "uncorrected: every cell once")
    fig.suptitle(f"{column}: {how}", fontsize=9)
    return fig


def picked_samples(artist, indices) -> list[tuple]:
    """The sample keys of the points ``indices`` of a scatter drawn by :func:`scatter_figure`."""
    keys = getattr(artist, _SAMPLE_KEYS_ATTR, None)
    if keys is None:
        return []
    return [keys[i] for i in np.atleast_1d(indices) if 0 <= i < len(keys)]


def save_figure(fig: Figure, path: str | os.PathLike,
                formats: Sequence[str] = ("png", "svg"), dpi: int = 150) -> list[Path]:
    """Save ``fig`` as ``<path>.png`` and ``<path>.svg`` (atomically); return the paths."""
    base = Path(path)
    if base.suffix.lower().lstrip(".") in formats:
        base = base.with_suffix("")
    written = []
    for fmt in formats:
        target = base.with_name(f"{base.name}.{fmt}")
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi)
        written.append(target)
    return written


def save_correlation_plots(joined: pd.DataFrame, results: pd.DataFrame,
                           course: pd.DataFrame | None, folder: str | os.PathLike,
                           on: str | Sequence[str] = "sample_id",
                           formats: Sequence[str] = ("png", "svg"),
                           progress: ProgressFn | None = None,
                           cancel: CancelToken | None = None) -> list[Path]:
    """Write every plot (scatter per score and method, heatmaps, time course) into ``folder``;
    ``cancel`` stops between figures (those written are kept)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    methods = list(dict.fromkeys(results["method"]))
    jobs = [(f"scatter_{_safe(score)}_{method}",
             lambda score=score, method=method: scatter_figure(joined, results, score, on=on,
                                                              method=method))
            for score in dict.fromkeys(results["score"]) for method in methods]
    jobs += [(f"heatmap_{method}", lambda method=method: heatmap_figure(results, method))
             for method in methods]
    if course is not None and not course.empty:
        jobs.append(("time_course", lambda: time_course_figure(course)))
    for done, (name, draw) in enumerate(jobs, start=1):
        check_cancelled(cancel, "Saving plots cancelled; finished figures are kept.")
        written += save_figure(draw(), folder / name, formats)
        report(progress, done, len(jobs), f"plot {name}")
    return written


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(name))
