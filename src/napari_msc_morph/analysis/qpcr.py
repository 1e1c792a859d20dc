"""qPCR readouts on the scale they are analysed on: log2, ΔCt, ΔΔCt.

qPCR fold changes are log-normal and Ct values are log2 quantities counted
backwards, so neither should be correlated raw. :data:`TRANSFORMS` lists the
choices of ``transform=`` / ``--transform``; they act on the qPCR rows only
(western and IF values are left as they are), before replicates are averaged:

``log2``
    ``value -> log2(value)`` for fold changes or relative quantities (values
    must be positive). Replicates are then averaged on the log scale (a
    geometric mean).
``delta-ct``
    The values are Ct (cycle threshold). ``ΔCt = Ct(gene) - Ct(reference)``,
    the reference gene's Ct averaged over its replicates on the same sample
    (``reference_gene=``, ``--reference-gene GAPDH``); its rows are then
    dropped. The value correlated is ``-ΔCt`` (log2 expression relative to the
    reference: higher means more mRNA). With ``control=`` (``--control``, e.g.
    ``control`` for ``condition == control`` or ``day=0``) it is
    ``-ΔΔCt = -(ΔCt - mean ΔCt of the control samples)``, the log2 fold change,
    and ``fold_change = 2^-ΔΔCt`` is added; each donor is calibrated against its
    own control samples when a ``donor`` column is present.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from ..errors import BadInputError
from ..registry import Registry

__all__ = ["TRANSFORMS", "add_fold_change", "label_text", "parse_control",
           "sample_key", "transform_qpcr"]

#: qPCR transforms (``--transform`` choices, the dock's combo box): each entry is
#: ``transform(long, qpcr_rows, reference_gene, control, source) -> long``; ``fold_change``
#: marks a transform whose values, with a control, are log2 fold changes.
TRANSFORMS: Registry[Callable[..., pd.DataFrame]] = Registry("qPCR transform")

QPCR = "qPCR"


def parse_control(control: str | None) -> tuple[str, str] | None:
    """``"control"`` -> ``("condition", "control")``; ``"day=0"`` -> ``("day", "0")``.

    Examples
    --------
    >>> parse_control("untreated")
    ('condition', 'untreated')
    >>> parse_control(" day = 0 ")
    ('day', '0')
    """
    if control is None or not str(control).strip():
        return None
    text = str(control).strip()
    for separator in ("==", "="):
        if separator in text:
            column, value = (part.strip() for part in text.split(separator, 1))
            if column and value:
                return column, value
            raise BadInputError(f"--control {text!r}: write COLUMN=VALUE (e.g. day=0) or a "
                                "condition name (e.g. control).")
    return "condition", text


def sample_key(long: pd.DataFrame) -> list[str]:
    """The columns that make one sample, as replicate averaging groups them."""
    ids = [c for c in ("sample_id", "donor", "day", "condition") if c in long.columns]
    return ["sample_id"] if "sample_id" in ids else ids


def transform_qpcr(long: pd.DataFrame, transform: str | None, reference_gene: str | None = None,
                   control: str | None = None, source: str = "readouts") -> pd.DataFrame:
    """Apply a :data:`TRANSFORMS` entry to the qPCR rows of a long readout table.

    Parameters
    ----------
    long : DataFrame
        :func:`~napari_msc_morph.analysis.readouts.to_long` output (one row per
        measurement and replicate; ``row`` holds the file line).
    transform : str or None
        ``None`` (values as they are), ``"log2"`` or ``"delta-ct"``.
    reference_gene : str, optional
        The reference gene for ``delta-ct`` (e.g. ``"GAPDH"``), matched to the
        marker names case-insensitively (aliases are resolved by the caller,
        :func:`~napari_msc_morph.analysis.readouts.read_readouts`).
    control : str, optional
        ``delta-ct`` only: the control samples (see :func:`parse_control`).

    Returns
    -------
    DataFrame
        ``long`` with transformed qPCR values (and, for ``delta-ct``, without
        the reference gene's qPCR rows).

    Raises
    ------
    BadInputError
        Unknown transform, no qPCR rows, non-positive values for log2, a
        missing reference gene or control value; the message names the option
        and what the file holds.
    """
    if transform is None or transform == "" or transform == "none":
        if reference_gene or control:
            raise BadInputError("--reference-gene and --control go with --transform delta-ct; "
                                "add it or leave them out.")
        return long
    if transform not in TRANSFORMS:
        raise BadInputError(f"unknown --transform {transform!r}; choose one of: "
                            f"{', '.join(TRANSFORMS.names())}.")
    qpcr = long["assay"] == QPCR
    if not qpcr.any():
        raise BadInputError(
            f"--transform {transform} acts on qPCR readouts, but {source} has none (its assays "
            f"are {sorted(long['assay'].unique())}). Name the assay in an 'assay' column or in "
            "the marker column (e.g. RUNX2_qPCR).")
    return TRANSFORMS.get(transform)(long, qpcr, reference_gene, control, source)


@TRANSFORMS.register("log2", help="log2 of the qPCR values (fold changes, relative quantities)")
def _log2(long: pd.DataFrame, qpcr: pd.Series, reference_gene: str | None, control: str | None,
          source: str) -> pd.DataFrame:
    if reference_gene or control:
        raise BadInputError("--reference-gene and --control go with --transform delta-ct, "
                            "not log2.")
    bad = qpcr & ~(long["value"] > 0)
    if bad.any():
        rows = sorted(long.loc[bad, "row"].astype(int))
        raise BadInputError(
            f"--transform log2 needs positive qPCR values, but {source} rows {rows[:10]} hold "
            f"0 or less. Are these Ct values? Then use --transform delta-ct --reference-gene NAME.")
    long = long.copy()
    long.loc[qpcr, "value"] = np.log2(long.loc[qpcr, "value"])
    return long


@TRANSFORMS.register(
    "delta-ct", help="values are Ct: -ΔCt against --reference-gene; with --control, the log2 "
                     "fold change -ΔΔCt and fold_change = 2^-ΔΔCt", fold_change=True)
def _delta_ct(long: pd.DataFrame, qpcr: pd.Series, reference_gene: str | None,
              control: str | None, source: str) -> pd.DataFrame:
    control = parse_control(control)
    if not reference_gene:
        raise BadInputError("--transform delta-ct needs the reference gene its Ct values are "
                            "compared with: add --reference-gene NAME (e.g. GAPDH).")
    genes = sorted(long.loc[qpcr, "marker"].unique())
    reference = next((g for g in genes if g.upper() == str(reference_gene).strip().upper()),
                     str(reference_gene).strip())
    if reference not in genes:
        raise BadInputError(
            f"--reference-gene {reference_gene}: {source} has no qPCR values for {reference!r} "
            f"(no {reference} column or marker); its qPCR markers are {genes}. Add the "
            "reference gene's Ct values or name another one.")
    key = sample_key(long)
    is_reference = qpcr & (long["marker"] == reference)
    reference_ct = long[is_reference].groupby(key, dropna=False)["value"].mean().rename("_ref")
    targets = long[qpcr & ~is_reference].join(reference_ct, on=key)
    missing = targets["_ref"].isna()
    if missing.any():
        samples = sorted({" / ".join(map(str, k)) for k in
                          targets.loc[missing, key].itertuples(index=False, name=None)})
        raise BadInputError(
            f"--reference-gene {reference}: sample(s) {samples[:10]} in {source} have qPCR "
            f"values but no {reference} Ct; measure it there or leave those samples out.")
    delta = targets["value"] - targets["_ref"]
    if control is not None:
        delta = delta - _calibrator(targets.assign(_delta=delta), key, control, source)
    long = long.copy()
    long.loc[targets.index, "value"] = -delta  # -ΔCt (or -ΔΔCt): higher = more mRNA
    return long[~is_reference].reset_index(drop=True)


def _calibrator(targets: pd.DataFrame, key: Sequence[str], control: tuple[str, str],
                source: str) -> pd.Series:
    """Mean ΔCt of the control samples, per gene (and per donor when donors are known)."""
    column, value = control
    if column not in targets.columns:
        raise BadInputError(
            f"--control {column}={value}: {source} has no {column!r} column to find the control "
            f"samples in; its columns are {[c for c in targets.columns if not c.startswith('_')]}."
            " Add the column to the readouts or name another one (--control COLUMN=VALUE).")
    text = targets[column].map(label_text)
    is_control = text == value
    if not is_control.any():
        raise BadInputError(
            f"--control {value}: no sample in {source} has {column} == {value!r}; its {column} "
            f"values are {sorted(text.unique())}.")
    # one ΔCt per control sample (replicates averaged), then their mean per gene (and donor)
    by = ["marker", "donor"] if "donor" in targets.columns else ["marker"]
    group = [*key, *[c for c in by if c not in key]]
    per_sample = targets[is_control].groupby(group, dropna=False)["_delta"].mean().reset_index()
    calibrator = per_sample.groupby(by, dropna=False)["_delta"].mean().rename("_calibrator")
    matched = targets.join(calibrator, on=by)["_calibrator"]
    if matched.isna().any():
        lacking = sorted({" / ".join(map(str, k)) for k in
                          targets.loc[matched.isna(), by].itertuples(index=False, name=None)})
        raise BadInputError(
            f"--control {value}: no {column} == {value!r} sample for {' / '.join(by)} "
            f"{lacking[:10]} in {source}, so its fold change has no reference. Add those "
            "control measurements or leave them out.")
    return matched


def label_text(value) -> str:
    """A label as text: 7.0, 7 and "7" are the same group (or control value)."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def add_fold_change(summary: pd.DataFrame, transform: str | None,
                    control: str | None) -> pd.DataFrame:
    """``fold_change = 2^value`` on qPCR rows after ``delta-ct`` (a ``fold_change``
    transform) with a control; else ``summary`` unchanged."""
    if (transform not in TRANSFORMS or not TRANSFORMS.entry(transform).extra.get("fold_change")
            or parse_control(control) is None):
        return summary
    summary = summary.copy()
    summary["fold_change"] = np.where(summary["assay"] == QPCR, 2.0 ** summary["value"], np.nan)
    return summary
