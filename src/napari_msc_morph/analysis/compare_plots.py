"""Box + strip plot of a :class:`~napari_msc_morph.analysis.compare.GroupComparison`."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .compare import GroupComparison
from .plots import _format_p, _new_figure, save_figure


def box_strip_figure(result: GroupComparison, fig: Figure | None = None,
                     seed: int = 0) -> Figure:
    """Boxes over the unit values the tests compare, every row a faint jittered point, each
    unit's value a dark one (paired: joined per subject); p-values and n in the title."""
    fig = _new_figure(fig, 1.2 + 1.1 * len(result.groups), 4.2)
    ax = fig.add_subplot(1, 1, 1)
    data = result.data
    units = result.units if result.units is not None else data.assign(n_rows=1)
    positions = {g: i for i, g in enumerate(result.groups)}
    samples = [units.loc[units["group"] == g, "value"].to_numpy() for g in result.groups]
    ax.boxplot(samples, positions=range(len(samples)), widths=0.55, showfliers=False,
               medianprops={"color": "black"})
    rng = np.random.default_rng(seed)
    x = data["group"].map(positions).to_numpy(float) + rng.uniform(-0.15, 0.15, len(data))
    aggregated = len(units) < len(data)
    ax.scatter(x, data["value"], s=14 if len(data) < 500 else 4,
               alpha=0.35 if aggregated else 0.7, color="tab:blue", zorder=2)
    if result.paired_by is not None:  # the values the paired tests compare, joined per subject
        means = units.groupby(["subject", "group"])["value"].mean().unstack("group")
        means = means.reindex(columns=result.groups)
        for _, row in means.iterrows():
            ax.plot(range(len(result.groups)), row.to_numpy(), color="0.35", marker="o",
                    markersize=4, linewidth=1, zorder=3)
    elif aggregated:
        ax.scatter(units["group"].map(positions).to_numpy(float), units["value"], s=40,
                   color="0.2", marker="D", zorder=3, label=f"{result.unit} mean")
        ax.legend(loc="best", fontsize=8, frameon=False)
    ax.set_xticks(range(len(samples)))
    ax.set_xticklabels([_tick(result, g, units) for g in result.groups])
    ax.set_xlabel(result.by)
    ax.set_ylabel(result.value)
    title = []
    # a dock's narrow canvas: the n goes on its own line rather than off the edge
    gap = "\n" if fig.get_figwidth() < 4.5 else " "
    for row in result.omnibus.itertuples():
        title.append(f"{row.test}: {_format_p(row.p)}{gap}(n = {row.n} {result.unit_name})")
    for row in result.trend.itertuples():
        title.append(f"trend ({row.test.split(' (')[0]}): {_format_p(row.p)}")
    ax.set_title("\n".join(title), fontsize=9)
    return fig


def _tick(result: GroupComparison, group, units) -> str:
    mine = units[units["group"] == group]
    rows = int(mine["n_rows"].sum())
    if result.unit is None:
        return f"{group}\nn={rows}"
    n = mine["subject"].nunique() if result.paired_by is not None else len(mine)
    return f"{group}\nn={n} {result.unit_name}" + (f"\n{rows} rows" if rows != n else "")


def save_box_strip(result: GroupComparison, path: str | os.PathLike, dpi: int = 150) -> Path:
    """Draw :func:`box_strip_figure` and save it in the format of ``path``'s suffix."""
    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    return save_figure(box_strip_figure(result), path, formats=(fmt,), dpi=dpi)[0]
