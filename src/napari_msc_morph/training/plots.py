"""Report figures on matplotlib's object API and Agg canvas (no pyplot: workers can draw them)."""

from __future__ import annotations

import os

import numpy as np

__all__ = [
    "plot_learning_curves",
    "plot_confusion_matrix",
    "plot_roc",
    "plot_reliability_before_after",
    "save_figure",
]


def _figure(width=5.0, height=4.0):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path: str | os.PathLike, dpi: int = 100):
    """Write ``fig`` as a PNG atomically and return the path (one writer for all plots)."""
    from ..analysis.plots import save_figure as save_figure_formats

    return save_figure_formats(fig, path, formats=("png",), dpi=dpi)[0]


def plot_learning_curves(history, fig=None, small: bool = False) -> Figure:  # noqa: F821
    """Loss (left) and accuracy / AUC (right) per epoch, training and validation.

    ``history``: DataFrame or dict of lists (``epoch``, ``train_loss``, optional ``val_*``);
    ``fig``: an empty figure to draw into (the Train dock's live plot); ``small``: small type.
    """
    import pandas as pd

    table = pd.DataFrame(history)
    fig = fig if fig is not None else _figure(8.0, 3.4)
    text, ticks, legend = (8, 7, 6) if small else (None, None, 8)
    ax_loss, ax_acc = fig.subplots(1, 2)
    epochs = table["epoch"] if "epoch" in table else np.arange(1, len(table) + 1)
    ax_loss.set_ylabel("cross-entropy", fontsize=text)
    for ax, title, curves in (
            (ax_loss, "Loss", (("train_loss", "-o"), ("val_loss", "-s"))),
            (ax_acc, "Accuracy / AUC", (("train_accuracy", "-o"), ("val_accuracy", "-s"),
                                        ("val_within3_accuracy", "--s"), ("val_auc", "-^")))):
        for key, style in curves:
            if key in table and table[key].notna().any():
                ax.plot(epochs, table[key], style, ms=3, label=key.replace("_", " "))
        ax.set_xlabel("epoch", fontsize=text)
        ax.set_title(title, fontsize=text)
        ax.grid(alpha=0.3)
        if ax is ax_acc:
            ax.set_ylim(0, 1.02)
        if ticks:
            ax.tick_params(labelsize=ticks)
        if ax.lines:
            ax.legend(fontsize=legend)
    return fig


def plot_confusion_matrix(matrix, class_names, normalize: bool = True) -> Figure:  # noqa: F821
    """Rows: true class; columns: predicted. Colour = row fraction, text = count."""
    matrix = np.asarray(matrix)
    n = len(class_names)
    size = 2.5 + 0.45 * n
    fig = _figure(size + 0.8, size)
    ax = fig.subplots()
    rows = matrix.sum(1, keepdims=True)
    shown = (np.divide(matrix, rows, out=np.zeros(matrix.shape, float), where=rows > 0)
             if normalize else matrix)
    image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    fig.colorbar(image, ax=ax, shrink=0.8, label="fraction of true class" if normalize else "images")
    ax.set_xticks(range(n), labels=class_names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), labels=class_names, fontsize=8)
    ax.set(xlabel="predicted", ylabel="true", title="Confusion matrix")
    if n <= 12:
        for i in range(n):
            for j in range(n):
                if matrix[i, j]:
                    ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", fontsize=7,
                            color="white" if shown[i, j] > 0.6 else "black")
    return fig


def plot_roc(curves: dict, title: str = "ROC") -> Figure:  # noqa: F821
    """ROC curves; ``curves`` maps a legend label to ``(fpr, tpr)``."""
    fig = _figure(4.4, 4.0)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], ":", color="grey", lw=1)
    for label, (fpr, tpr) in curves.items():
        ax.plot(fpr, tpr, lw=1.8, label=label)
    ax.set(xlabel="1 - specificity (false positive rate)", xlim=(-0.01, 1.01),
           ylabel="sensitivity (true positive rate)", ylim=(-0.01, 1.01), aspect="equal",
           title=title)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    return fig


def _draw_reliability(ax, table: dict, title: str) -> None:
    lower, upper = np.asarray(table["bin_lower"]), np.asarray(table["bin_upper"])
    acc = np.asarray(table["accuracy"], float)
    count = np.asarray(table["count"])
    keep = count > 0
    ax.plot([0, 1], [0, 1], ":", color="grey", lw=1, label="perfect calibration")
    ax.bar(lower[keep], acc[keep], width=(upper - lower)[keep], align="edge",
           edgecolor="navy", color="tab:blue", alpha=0.7, label="accuracy")
    conf = np.asarray(table["mean_confidence"], float)
    ax.plot(conf[keep], acc[keep], "o", color="tab:red", ms=4, label="mean confidence")
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="confidence (top-class probability)",
           ylabel="accuracy")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)


def _ece_text(ece) -> str:
    return f"ECE = {ece:.3f}" if ece is not None and np.isfinite(ece) else "ECE = n/a"


def plot_reliability_before_after(before: dict | None, after: dict, ece_before=None,
                                  ece_after=None, temperature: float = 1.0) -> Figure:  # noqa: F821
    """Reliability before (``T = 1``) and after temperature scaling, or one panel without calibration."""
    if before is None or float(temperature) == 1.0:
        fig = _figure(4.4, 4.0)
        _draw_reliability(fig.subplots(), after,
                          f"Reliability, not calibrated (T = 1), {_ece_text(ece_after)}")
        return fig
    fig = _figure(8.4, 4.0)
    ax_before, ax_after = fig.subplots(1, 2, sharey=True)
    _draw_reliability(ax_before, before, f"Before calibration (T = 1), {_ece_text(ece_before)}")
    _draw_reliability(ax_after, after,
                      f"After calibration (T = {temperature:.2f}), {_ece_text(ece_after)}")
    return fig
