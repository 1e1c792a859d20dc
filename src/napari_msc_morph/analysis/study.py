"""The correlation job in one call: image scores + molecular readouts -> a study.

:func:`correlate_study` is what ``msc-morph correlate``, the Correlation dock and the
demo call. Statistical caveats come back as :attr:`CorrelationStudy.warnings`, for
each face to show its own way.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import BadInputError
from ..io import write_table
from ..jobs import CancelToken, ProgressFn, check_cancelled, report, scaled
from .aggregate import aggregate_to_samples, parse_columns, sample_exclusions
from .correlate import (
    ALL_METHODS,
    check_min_n,
    check_n_boot,
    correlate_joined,
    count_tests,
    join_readouts,
    resolve_methods,
    resolve_score_columns,
)
from .readouts import read_readouts, table_and_name
from .repeated import add_repeated_measures, repeated_measures
from .timecourse import time_course

# Steps before the correlations: scores, readouts, samples + join, time course.
_SETUP_STEPS = 4


@dataclass
class CorrelationStudy:
    """Everything one correlation run produced.

    Attributes
    ----------
    samples, readouts : DataFrame
        Per-sample scores and per-sample readouts (replicates averaged).
    joined : DataFrame
        One row per sample, marker and assay: what every r is computed on.
    results : DataFrame
        ``score, marker, assay, method, n, r, ci_low, ci_high, p, q, warning``, with
        ``repeated_by`` also :data:`~napari_msc_morph.analysis.repeated.REPEATED_COLUMNS`.
    time_course : DataFrame or None
        Mean +- SD per day and condition; None without a ``day`` column.
    on, score_columns : list of str
        The join key and the scores correlated.
    repeated_by, transform : str or None
        The repeated-measures column and the qPCR transform, if any.
    warnings : list of str
        Caveats to show the user, each once.
    results_file, plot_files : Path or None, list of Path
        What was written (``out``, ``plots_dir``).
    """

    samples: pd.DataFrame
    readouts: pd.DataFrame
    joined: pd.DataFrame
    results: pd.DataFrame
    time_course: pd.DataFrame | None
    on: list[str]
    score_columns: list[str]
    repeated_by: str | None = None
    transform: str | None = None
    warnings: list[str] = field(default_factory=list)
    results_file: Path | None = None
    plot_files: list[Path] = field(default_factory=list)

    @property
    def n_samples(self) -> int:
        """Samples correlated: distinct join keys with a score and a readout."""
        return int(len(self.joined[self.on].drop_duplicates()))

    @property
    def methods(self) -> list[str]:
        """The correlation methods in :attr:`results`, in order."""
        return list(dict.fromkeys(self.results["method"]))

    def summary(self) -> str:
        """One line per output: what was correlated, and where it went."""
        pairs = self.results[["marker", "assay"]].drop_duplicates().shape[0]
        line = (f"{len(self.results)} correlations of {self.results['score'].nunique()} "
                f"score(s) with {pairs} marker/assay pair(s) over n = {self.n_samples} samples "
                f"({' / '.join(self.on)})")
        if self.repeated_by:
            groups = self.joined[self.repeated_by].nunique()
            line += f", repeated measures by {self.repeated_by} ({groups} groups)"
        if self.results_file is not None:
            line += f" -> {self.results_file}"
        lines = [line]
        if self.plot_files:
            lines.append(f"{len(self.plot_files)} plot files -> {self.plot_files[0].parent}")
        return "\n".join(lines)


def correlate_study(
    scores: pd.DataFrame | str | os.PathLike,
    readouts: pd.DataFrame | str | os.PathLike,
    *,
    on: str | Sequence[str] = ("sample_id",),
    method: str = ALL_METHODS,
    score_columns: Sequence[str] | None = None,
    markers: Sequence[str] | None = None,
    loading_control: str | None = None,
    repeated_by: str | None = None,
    transform: str | None = None,
    reference_gene: str | None = None,
    control: str | None = None,
    efficiency=None,
    undetermined: str | None = None,
    min_n: int = 4,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    out: str | os.PathLike | None = None,
    plots_dir: str | os.PathLike | None = None,
    plot_formats: Sequence[str] = ("png", "svg"),
    scores_name: str | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> CorrelationStudy:
    """Correlate image-derived scores with molecular readouts, end to end.

    Parameters
    ----------
    scores : DataFrame or path
        Per-image (or per-sample) scores with the join column(s), e.g. the results table.
    readouts : DataFrame or path
        qPCR / western / IF readouts, long or wide (:func:`.readouts.read_readouts`).
    on : str or sequence of str
        Join key, ``"sample_id"`` or e.g. ``"day, condition"`` (:data:`.aggregate.SAMPLE_KEYS`).
    method : str
        One of :func:`.correlate.method_choices`.
    score_columns : sequence of str, optional
        Scores to correlate (the BH family); by default :func:`.score_defaults.default_score_columns`.
    markers : sequence of str, optional
        Markers to keep (all by default); an absent one is an error.
    loading_control : str, optional
        Normalise western blot values to this marker (e.g. ``"GAPDH"``).
    repeated_by : str, optional
        A column grouping samples into repeated measures (e.g. ``"donor"``; :mod:`.repeated`).
    transform, reference_gene, control, efficiency, undetermined : optional
        qPCR options (:func:`.qpcr.transform_qpcr`).
    min_n : int
        Fewest samples for which r is reported (at least 3; p-values need 4).
    confidence : float
        Confidence level of the intervals.
    n_boot, seed : int
        Bootstrap resamples (0: no interval, or at least 100) and seed of the Spearman CIs.
    out, plots_dir : path, optional
        Write the results table (CSV/XLSX) and the figures (``plot_formats``) here.
    scores_name : str, optional
        The scores table's name in messages (default: its file name).
    progress, cancel : optional
        The job protocol (:mod:`napari_msc_morph.jobs`); files already written are kept.

    Returns
    -------
    CorrelationStudy
    """
    on = parse_columns(on)
    if not on:
        raise BadInputError("Say which column(s) identify a sample, e.g. on='sample_id'.")
    methods = resolve_methods(method)  # a typo fails before any file is read
    min_n, n_boot = check_min_n(min_n), check_n_boot(n_boot)

    report(progress, 0, 0, "reading scores")
    images, scores_name = _read_scores(scores, scores_name)
    check_cancelled(cancel, "Correlation cancelled.")
    report(progress, 1, 0, "reading readouts")
    tidy = read_readouts(readouts, markers=markers, loading_control=loading_control,
                         transform=transform, reference_gene=reference_gene, control=control,
                         efficiency=efficiency, undetermined=undetermined)
    check_cancelled(cancel, "Correlation cancelled.")
    report(progress, 2, 0, "averaging images per sample")
    samples = aggregate_to_samples(images, on=on, scores=score_columns, source=scores_name)
    carry = []
    if repeated_by:
        samples = _attach_groups(images, samples, on, repeated_by, scores_name)
        carry = [repeated_by]
    names = resolve_score_columns(samples, score_columns, [*on, *carry])
    joined = join_readouts(samples, tidy, on=on, scores=names, carry=carry)
    check_cancelled(cancel, "Correlation cancelled.")
    report(progress, 3, 0, "time course")
    course, course_warning = _time_course(samples, tidy, names)
    check_cancelled(cancel, "Correlation cancelled.")

    n_tests = count_tests(joined, names, methods)
    # a scatter per score and method, a heatmap per method, the time course
    n_plots = 0 if plots_dir is None else (len(names) + 1) * len(methods) + (course is not None)
    total = _SETUP_STEPS + n_tests + n_plots
    report(progress, _SETUP_STEPS, total, f"correlating {n_tests} pairs")
    results = correlate_joined(
        joined, names, methods, min_n=min_n, confidence=confidence, n_boot=n_boot, seed=seed,
        progress=scaled(progress, _SETUP_STEPS, n_tests, total), cancel=cancel,
    )
    if repeated_by:
        check_cancelled(cancel, "Correlation cancelled.")
        repeated = repeated_measures(joined, names, repeated_by, min_n=min_n,
                                     confidence=confidence)
        results = add_repeated_measures(results, repeated)
    # every sample or measurement left out (empty cells, ids in one table only), then caveats
    warnings = [*dict.fromkeys([*sample_exclusions(samples, tidy, on),
                                *joined.attrs.get("notes", [])]),
                *sorted({part for text in results["warning"] for part in text.split("; ")}
                        - {""})]
    if course_warning:
        warnings.append(course_warning)

    study = CorrelationStudy(samples=samples, readouts=tidy, joined=joined, results=results,
                             time_course=course, on=on, score_columns=names,
                             repeated_by=repeated_by or None, transform=transform or None,
                             warnings=warnings)
    if out is not None:
        study.results_file = write_table(results, out)
    if plots_dir is not None:
        from .plots import save_correlation_plots  # matplotlib only when plots are asked for

        study.plot_files = save_correlation_plots(
            joined, results, course, plots_dir, on=on, formats=plot_formats,
            progress=scaled(progress, _SETUP_STEPS + n_tests, n_plots, total), cancel=cancel,
        )
    report(progress, total, total, "done")
    return study


def _attach_groups(images: pd.DataFrame, samples: pd.DataFrame, on: list[str], by: str,
                   source: str) -> pd.DataFrame:
    """Give each sample its ``by`` group (e.g. donor) from its images, if it has exactly one."""
    if by in on or by in samples.columns or by not in images.columns:
        return samples  # a key column, already carried, or to be found in the readouts
    frame = images[[*on, by]].copy()
    if "sample_id" in on:  # as aggregate_to_samples keys them
        frame["sample_id"] = frame["sample_id"].astype(str).str.strip()
    grouped = frame.groupby(on, sort=False)[by]
    per_sample = grouped.nunique(dropna=False)
    if (per_sample > 1).any():
        key = per_sample[per_sample > 1].index[0]
        raise BadInputError(
            f"{source}: sample {' / '.join(map(str, key if isinstance(key, tuple) else (key,)))} "
            f"holds images of several {by!r} values, so {by} cannot group samples. Add {by} "
            f"to the sample key (--on {by},{','.join(on)}) or choose another --repeated-by.")
    merged = samples.merge(grouped.first().reset_index(), on=on, how="left")
    merged.attrs = samples.attrs
    return merged


def _read_scores(scores, name: str | None) -> tuple[pd.DataFrame, str]:
    """The scores table and its name for messages."""
    frame, default = table_and_name(scores, "scores", "the scores table")
    name = name or default
    if frame.empty:
        raise BadInputError(
            f"{name} has no rows: run a prediction or measurement first, or choose another table."
        )
    return frame, name


def _time_course(samples: pd.DataFrame, readouts: pd.DataFrame,
                 names: Sequence[str]) -> tuple[pd.DataFrame | None, str]:
    """The time course, or None and why not (no ``day`` anywhere is normal: no warning)."""
    if "day" not in samples.columns and "day" not in readouts.columns:
        return None, ""
    try:
        course = time_course(samples, readouts, scores=names)
    except BadInputError as err:  # day on one side only: correlate anyway
        return None, f"no time course: {err}"
    return (course if not course.empty else None), ""
