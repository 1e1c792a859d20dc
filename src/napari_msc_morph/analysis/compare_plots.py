"""Box + strip plot of a :class:`~napari_msc_morph.analysis.compare.GroupComparison`.

Drawn into a :class:`matplotlib.figure.Figure` (no pyplot, no GUI backend), so
the CLI saves it and a dock can draw it into its own canvas.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ..io import atomic_path
from .compare import GroupComparison
from .plots import _format_p, _new_figure

__all__ = ["box_strip_figure", "save_box_strip"]


def box_strip_figure(result: GroupComparison, fig: Figure | None = None,
                     seed: int = 0) -> Figure:
    """Boxes (median, IQR, 1.5 IQR whiskers) with every value as a jittered point.

    With ``paired_by`` each subject's mean per group (what the paired tests
    compare) is drawn as a dark line over the faint per-row points. The
    title gives the omnibus test and the trend test with their p-values; the
    axis labels give n per group.
    """
    fig = _new_figure(fig, 1.2 + 1.1 * len(result.groups), 4.2)
    ax = fig.add_subplot(1, 1, 1)
    data = result.data
    positions = {g: i for i, g in enumerate(result.groups)}
    samples = [data.loc[data["group"] == g, "value"].to_numpy() for g in result.groups]
    ax.boxplot(samples, positions=range(len(samples)), widths=0.55, showfliers=False,
               medianprops={"color": "black"})
    rng = np.random.default_rng(seed)
    x = data["group"].map(positions).to_numpy(float) + rng.uniform(-0.15, 0.15, len(data))
    paired = result.paired_by is not None and "subject" in data
    ax.scatter(x, data["value"], s=14, alpha=0.35 if paired else 0.7, color="tab:blue", zorder=2)
    if paired:  # the values the paired tests compare: one mean per subject and group
        means = data.groupby(["subject", "group"])["value"].mean().unstack("group")
        means = means.reindex(columns=result.groups)
        for _, row in means.iterrows():
            ax.plot(range(len(result.groups)), row.to_numpy(), color="0.35", marker="o",
                    markersize=4, linewidth=1, zorder=3)
    ax.set_xticks(range(len(samples)))
    ax.set_xticklabels([f"{g}\nn={len(s)}" for g, s in zip(result.groups, samples)])
    ax.set_xlabel(result.by)
    ax.set_ylabel(result.value)
    title = []
    for row in result.omnibus.itertuples():
        unit = f" {result.paired_by}s" if paired else ""
        title.append(f"{row.test}: {_format_p(row.p)} (n = {row.n}{unit})")
    for row in result.trend.itertuples():
        title.append(f"trend ({row.test.split(' (')[0]}): {_format_p(row.p)}")
    ax.set_title("\n".join(title), fontsize=9)
    return fig


def save_box_strip(result: GroupComparison, path: str | os.PathLike, dpi: int = 150) -> Path:
    """Draw :func:`box_strip_figure` and save it in the format of ``path``'s suffix."""
    path = Path(path)
    fig = box_strip_figure(result)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".").lower() or "png", dpi=dpi)
    return path
