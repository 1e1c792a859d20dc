"""Correlation figures: drawn without a GUI, pickable, saved as PNG and SVG."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from napari_msc_morph.analysis import (  # noqa: E402
    aggregate_to_samples,
    correlate,
    join_readouts,
    read_readouts,
    time_course,
)
from napari_msc_morph.analysis.plots import (  # noqa: E402
    heatmap_figure,
    picked_samples,
    save_correlation_plots,
    save_figure,
    scatter_figure,
    time_course_figure,
)


def _inputs(images, readouts_long):
    samples = aggregate_to_samples(images)
    readouts = read_readouts(readouts_long)
    results = correlate(samples, readouts, n_boot=100)
    joined = join_readouts(samples, readouts)
    return samples, readouts, results, joined


def test_scatter_panels_carry_sample_ids_and_r(images, readouts_long):
    _, _, results, joined = _inputs(images, readouts_long)
    fig = scatter_figure(joined, results, "osscore")
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 4
    titles = [ax.get_title() for ax in axes]
    assert any(t.startswith("RUNX2 (qPCR)\nr = 0.9") for t in titles), titles
    points = axes[0].collections[0]
    keys = picked_samples(points, [0, 1])
    assert len(keys) == 2 and all(len(k) == 1 for k in keys)
    assert keys[0][0] in set(joined["sample_id"])
    # redraw into the same figure (the dock does this)
    assert scatter_figure(joined, results, "osscore", method="spearman", fig=fig) is fig
    assert "rho" in fig.axes[0].get_title()
    # a laptop dock's canvas (3.4 in for three panels): the stats wrap instead of being cut
    from matplotlib.figure import Figure

    narrow = scatter_figure(joined, results, "osscore", fig=Figure(figsize=(3.4, 2.6)))
    title = next(ax.get_title() for ax in narrow.axes if ax.get_title().startswith("RUNX2"))
    assert title.count("\n") == 2 and title.split("\n")[1].startswith("r = 0.9"), title


def test_heatmap_and_time_course(images, readouts_long):
    samples, readouts, results, _ = _inputs(images, readouts_long)
    heat = heatmap_figure(results, "pearson")
    image = heat.axes[0].images[0]
    assert image.get_array().shape == (3, 4)  # scores x marker/assay pairs
    course = time_course(samples, readouts, scores=["osscore"])
    fig = time_course_figure(course)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 5  # osscore + 4 marker/assay pairs
    assert {t.get_text() for t in visible[0].get_legend().get_texts()} == {"control", "induced"}


def test_save_png_and_svg(tmp_path, images, readouts_long):
    samples, readouts, results, joined = _inputs(images, readouts_long)
    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([0, 1], [0, 1])
    paths = save_figure(fig, tmp_path / "line.png")
    assert [p.name for p in paths] == ["line.png", "line.svg"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in paths[1].read_bytes()[:400]
    subset = results[(results.score == "osscore") & (results.method == "spearman")]
    written = save_correlation_plots(joined, subset, time_course(samples, readouts, ["osscore"]),
                                     tmp_path / "plots", formats=("png",))
    names = {p.name for p in written}
    assert names == {"heatmap_spearman.png", "time_course.png", "scatter_osscore_spearman.png"}
    assert not list((tmp_path / "plots").glob(".*"))  # no temporary files left
