"""qPCR readouts on the scale they are analysed on: log2, ΔCt, ΔΔCt (Livak), Pfaffl.

The transforms and the calibrator matching are explained in
docs/results-and-correlation.md ("qPCR transforms").
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from ..errors import BadInputError
from ..registry import Registry

#: ``transform(long, qpcr_rows, **options) -> long``; ``fold_change`` marks a transform
#: whose values, with a control, are log2 fold changes.
TRANSFORMS: Registry[Callable[..., pd.DataFrame]] = Registry("qPCR transform")

#: What an 'Undetermined' / 'No Ct' cell becomes (``--undetermined``).
UNDETERMINED_RULES: Registry[str] = Registry("undetermined Ct rule")
UNDETERMINED_RULES.add("exclude", "exclude", help="leave Undetermined / No Ct wells out, with a "
                       "warning naming their rows (default)")
UNDETERMINED_RULES.add("cycle-limit", "cycle-limit", help="set Undetermined / No Ct wells to the "
                       "run's cycle limit (cycle-limit=45; default 40) and count them in "
                       "ct_undetermined")

QPCR = "qPCR"
#: Sample keys a calibrator is matched on (those the control does not name).
MATCH_KEYS = ("donor", "day", "condition")
#: Cycles of a usual qPCR run: the limit of ``cycle-limit`` without a number.
DEFAULT_CYCLE_LIMIT = 40.0
#: Ct cells meaning "no amplification", compared without case, spaces, '-' and '/'.
UNDETERMINED_WORDS = frozenset({"undetermined", "noct", "nocq", "noamplification", "noamp",
                                "notdetected"})
#: Column marking qPCR wells written Undetermined (set by :func:`mark_undetermined`).
UNDETERMINED_COLUMN = "ct_undetermined"


# ---------------------------------------------------------------------------- option parsing
def parse_control(control: str | None) -> dict[str, str] | None:
    """The control samples as ``{column: value}``; a bare name is a condition.

    Examples
    --------
    >>> parse_control("day=0, condition=control")
    {'day': '0', 'condition': 'control'}
    """
    if control is None or not str(control).strip():
        return None
    text = str(control).strip()
    if "=" not in text:
        return {"condition": text}
    pairs: dict[str, str] = {}
    for part in text.split(","):
        column, _, value = part.replace("==", "=").partition("=")
        column, value = column.strip(), value.strip()
        if not column or not value or column in pairs:
            raise BadInputError(
                f"--control {text!r}: write COLUMN=VALUE (e.g. day=0), several joined by commas "
                "(day=0,condition=control), or a condition name (e.g. control).")
        pairs[column] = value
    return pairs


def parse_genes(genes) -> list[str]:
    """``"GAPDH, ACTB"`` or ``["GAPDH", "ACTB"]`` -> ``["GAPDH", "ACTB"]`` (no repeats)."""
    if genes is None:
        return []
    parts = genes.split(",") if isinstance(genes, str) else [str(g) for g in genes]
    names = [p.strip() for p in parts if p.strip()]
    return list(dict.fromkeys(names))


def _amplification_factor(gene: str, text: str) -> float:
    raw = str(text).strip()
    percent = raw.endswith("%")
    try:
        number = float(raw.rstrip("%").strip())
    except ValueError:
        number = float("nan")
    if math.isfinite(number) and (percent or number >= 10):
        number = 1.0 + number / 100.0  # 95 or 95% -> 1.95
    if not (math.isfinite(number) and 1.0 < number <= 2.5):
        raise BadInputError(
            f"--efficiency {gene}={raw}: give the amplification factor per cycle (2 = a perfect "
            "doubling, e.g. 1.95) or the efficiency in percent (e.g. 95%); a factor between 1 "
            "and 2.5 (or 0-150%) is expected.")
    return number


def parse_efficiency(efficiency) -> dict[str, float]:
    """``"RUNX2=1.95,GAPDH=98%"`` (or a dict / list of such) -> ``{"RUNX2": 1.95, "GAPDH": 1.98}``.

    A value of 10 or more, or ending in ``%``, is a percentage; otherwise the factor per cycle.
    """
    if not efficiency:
        return {}
    if isinstance(efficiency, dict):
        items = [(str(k), str(v)) for k, v in efficiency.items()]
    else:
        texts = [efficiency] if isinstance(efficiency, str) else list(efficiency)
        items = []
        for part in [p for text in texts for p in str(text).split(",") if p.strip()]:
            gene, sep, value = part.partition("=")
            if not sep or not gene.strip() or not value.strip():
                raise BadInputError(f"--efficiency {part.strip()!r}: write GENE=E, e.g. "
                                    "RUNX2=1.95 or RUNX2=95%.")
            items.append((gene.strip(), value.strip()))
    out: dict[str, float] = {}
    for gene, value in items:
        if gene.upper() in {g.upper() for g in out}:
            raise BadInputError(f"--efficiency names {gene} twice; give each gene one value.")
        out[gene] = _amplification_factor(gene, value)
    return out


def parse_undetermined(rule: str | None) -> float | None:
    """``None`` / ``"exclude"`` -> ``None``; ``"cycle-limit[=N]"`` -> the limit N (default 40)."""
    if rule is None or not str(rule).strip():
        return None
    name, _, limit = str(rule).strip().partition("=")
    name = name.strip()
    if name not in UNDETERMINED_RULES:
        raise BadInputError(f"--undetermined {rule!r}: choose {' or '.join(UNDETERMINED_RULES.names())}"
                            " (cycle-limit=45 for a 45-cycle run).")
    if name == "exclude":
        if limit:
            raise BadInputError(f"--undetermined {rule!r}: exclude takes no number.")
        return None
    try:
        value = float(limit) if limit.strip() else DEFAULT_CYCLE_LIMIT
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and 10 <= value <= 100):
        raise BadInputError(f"--undetermined {rule!r}: the cycle limit is the run's number of "
                            "cycles, e.g. cycle-limit=40.")
    return value


# ---------------------------------------------------------------------------- reading
def _is_undetermined_word(value) -> bool:
    if not isinstance(value, str):
        return False
    return re.sub(r"[\s/_\-.]", "", value).lower() in UNDETERMINED_WORDS


def mark_undetermined(long: pd.DataFrame) -> pd.DataFrame:
    """Undetermined / No Ct cells of qPCR rows -> ``value`` NaN and ``ct_undetermined`` True."""
    flagged = (long["assay"] == QPCR) & long["value"].map(_is_undetermined_word)
    if not flagged.any():
        return long
    long = long.copy()
    long[UNDETERMINED_COLUMN] = flagged.to_numpy()
    long.loc[flagged, "value"] = np.nan
    return long


def sample_key(long: pd.DataFrame) -> list[str]:
    """The columns that make one sample, as replicate averaging groups them."""
    ids = [c for c in ("sample_id", "donor", "day", "condition") if c in long.columns]
    return ["sample_id"] if "sample_id" in ids else ids


def _rows(long: pd.DataFrame, mask) -> list[int]:
    return sorted(int(r) for r in long.loc[mask, "row"])


def _apply_undetermined_rule(long: pd.DataFrame, qpcr: pd.Series, limit: float | None,
                             references: Sequence[str], source: str):
    """Exclude Undetermined wells (naming rows) or set them to ``limit``; return notes."""
    if UNDETERMINED_COLUMN not in long.columns:
        if limit is not None:
            long = long.assign(**{UNDETERMINED_COLUMN: False})
        return long, qpcr, []
    flag = long[UNDETERMINED_COLUMN].fillna(False).astype(bool)
    reference = flag & long["marker"].isin(references)
    target = flag & ~reference
    notes = []
    if reference.any():
        notes.append(f"{source} rows {_rows(long, reference)[:20]}: the reference gene is "
                     "Undetermined (no amplification: the well failed); those wells are left out.")
    if limit is None and target.any():
        notes.append(f"{source} rows {_rows(long, target)[:20]}: Ct is Undetermined / "
                     "No Ct; those wells are left out (--undetermined cycle-limit sets them to the "
                     "cycle limit instead).")
    elif target.any():
        notes.append(f"{source} rows {_rows(long, target)[:20]}: Ct is Undetermined / "
                     f"No Ct; set to the cycle limit {limit:g} (counted in {UNDETERMINED_COLUMN}; "
                     "the fold change of such a sample is a bound, not a measurement).")
        long = long.copy()
        long.loc[target, "value"] = limit
    keep = ~(reference | (flag if limit is None else False))
    long = long[keep].reset_index(drop=True)
    if limit is None:
        long = long.drop(columns=[UNDETERMINED_COLUMN])
    return long, qpcr[keep].reset_index(drop=True), notes


# ---------------------------------------------------------------------------- transforms
def transform_qpcr(long: pd.DataFrame, transform: str | None, reference_gene=None,
                   control: str | None = None, source: str = "readouts", *,
                   efficiency=None, undetermined: str | None = None) -> pd.DataFrame:
    """Apply a :data:`TRANSFORMS` entry to the qPCR rows of a long readout table.

    Parameters
    ----------
    long : DataFrame
        :func:`~napari_msc_morph.analysis.readouts.to_long` output.
    transform : str or None
        ``None`` (values as they are), ``"log2"`` or ``"delta-ct"``.
    reference_gene : str or sequence of str, optional
        ``delta-ct``: the reference gene(s), ``"GAPDH"`` or ``"GAPDH,ACTB"``.
    control : str, optional
        ``delta-ct``: the control samples (:func:`parse_control`).
    efficiency : str, dict or sequence, optional
        ``delta-ct``: amplification factors per gene (:func:`parse_efficiency`; default 2).
    undetermined : str, optional
        A :data:`UNDETERMINED_RULES` rule, ``"exclude"`` or ``"cycle-limit[=N]"``.

    Returns
    -------
    DataFrame
        ``long`` with transformed qPCR values (``delta-ct``: without the reference
        rows); ``attrs["qpcr_notes"]`` lists the wells left out or set to the limit.
    """
    limit = parse_undetermined(undetermined)
    references = parse_genes(reference_gene)
    efficiencies = parse_efficiency(efficiency)
    qpcr = long["assay"] == QPCR
    long, qpcr, notes = _apply_undetermined_rule(long, qpcr, limit, references, source)
    if transform is None or transform == "" or transform == "none":
        if references or control or efficiencies:
            raise BadInputError("--reference-gene, --control and --efficiency go with "
                                "--transform delta-ct; add it or leave them out.")
        long.attrs["qpcr_notes"] = notes
        return long
    if transform not in TRANSFORMS:
        raise BadInputError(f"unknown --transform {transform!r}; choose one of: "
                            f"{', '.join(TRANSFORMS.names())}.")
    if not qpcr.any():
        raise BadInputError(
            f"--transform {transform} acts on qPCR readouts, but {source} has none (its assays "
            f"are {sorted(long['assay'].unique())}). Name the assay in an 'assay' column or in "
            "the marker column (e.g. RUNX2_qPCR).")
    control_text = f"--control {str(control).strip()}" if control else ""
    options = {"references": references, "control": parse_control(control),
               "control_text": control_text, "efficiency": efficiencies, "source": source}
    long = TRANSFORMS.get(transform)(long, qpcr, **options)
    long.attrs["qpcr_notes"] = notes
    return long


@TRANSFORMS.register("log2", help="log2 of the qPCR values (fold changes, relative quantities)")
def _log2(long: pd.DataFrame, qpcr: pd.Series, references, control, control_text, efficiency,
          source: str) -> pd.DataFrame:
    if references or control or efficiency:
        raise BadInputError("--reference-gene, --control and --efficiency go with --transform "
                            "delta-ct, not log2.")
    bad = qpcr & ~(long["value"] > 0)
    if bad.any():
        raise BadInputError(
            f"--transform log2 needs positive qPCR values, but {source} rows {_rows(long, bad)[:10]}"
            " hold 0 or less. Are these Ct values? Then use --transform delta-ct "
            "--reference-gene NAME.")
    long = long.copy()
    long.loc[qpcr, "value"] = np.log2(long.loc[qpcr, "value"])
    return long


def _match_gene(name: str, genes: Sequence[str]) -> str | None:
    return next((g for g in genes if g.upper() == name.strip().upper()), None)


@TRANSFORMS.register(
    "delta-ct", help="values are Ct: -ΔCt against --reference-gene (several: their geometric "
                     "mean; --efficiency for Pfaffl); with --control, the log2 fold change -ΔΔCt "
                     "against the same donor's and day's control, fold_change = 2^-ΔΔCt",
    fold_change=True)
def _delta_ct(long: pd.DataFrame, qpcr: pd.Series, references, control, control_text,
              efficiency, source: str) -> pd.DataFrame:
    if not references:
        raise BadInputError("--transform delta-ct needs the reference gene its Ct values are "
                            "compared with: add --reference-gene NAME (e.g. GAPDH, or "
                            "GAPDH,ACTB for several).")
    genes = sorted(long.loc[qpcr, "marker"].unique())
    matched = []
    for name in references:
        gene = _match_gene(name, genes)
        if gene is None:
            raise BadInputError(
                f"--reference-gene {name}: {source} has no qPCR values for {name!r} (no {name} "
                f"column or marker); its qPCR markers are {genes}. Add the reference gene's Ct "
                "values or name another one.")
        matched.append(gene)
    log2_factor = {g: 1.0 for g in genes}  # log2(E): 1 for a perfect doubling per cycle
    for name, factor in efficiency.items():
        gene = _match_gene(name, genes)
        if gene is None:
            raise BadInputError(f"--efficiency {name}: {source} has no qPCR marker {name!r}; "
                                f"its qPCR markers are {genes}.")
        log2_factor[gene] = math.log2(factor)
    key = sample_key(long)
    # log2 quantity of each well: -Ct * log2(E) (= -Ct at E = 2)
    quantity = -long["value"] * long["marker"].map(log2_factor).fillna(1.0)
    is_reference = qpcr & long["marker"].isin(matched)
    per_gene = (long[is_reference].assign(_q=quantity[is_reference])
                .groupby([*key, "marker"], dropna=False)["_q"].mean().unstack("marker"))
    targets = long[qpcr & ~is_reference]
    reference_q = targets[key].join(per_gene, on=key)[matched]
    missing = reference_q.isna().any(axis=1)
    if missing.any():
        lacking = targets.loc[missing, key].assign(
            _genes=[", ".join(g for g in matched if pd.isna(reference_q.at[i, g]))
                    for i in reference_q.index[missing]])
        samples = sorted({f"{' / '.join(map(str, row[:-1]))} (no {row[-1]})"
                          for row in lacking.itertuples(index=False, name=None)})
        raise BadInputError(
            f"--reference-gene {','.join(matched)}: sample(s) {samples[:10]} in {source} have "
            "qPCR values but no Ct of that reference gene; measure it there or leave those "
            "samples out.")
    # relative to the geometric mean of the references' quantities: a mean on the log2 scale
    relative = quantity[targets.index] - reference_q.mean(axis=1)
    if control is not None:
        relative = relative - _calibrator(targets.assign(_relative=relative), key, control,
                                          control_text, source)
    long = long.copy()
    long.loc[targets.index, "value"] = relative  # -ΔCt (or -ΔΔCt): higher = more mRNA
    return long[~is_reference].reset_index(drop=True)


def _calibrator(targets: pd.DataFrame, key: Sequence[str], control: dict[str, str],
                shown: str, source: str) -> pd.Series:
    """Each target well's calibrator: the control samples' mean value, per gene and match key."""
    is_control = pd.Series(True, index=targets.index)
    for column, value in control.items():
        if column not in targets.columns:
            raise BadInputError(
                f"{shown}: {source} has no {column!r} column to find the control samples in; "
                f"its columns are {[c for c in targets.columns if not c.startswith('_')]}. "
                "Add the column to the readouts or name another one (--control COLUMN=VALUE).")
        text = targets[column].map(label_text)
        if not (text == value).any():
            raise BadInputError(
                f"{shown}: no sample in {source} has {column} == {value!r}; its {column} values "
                f"are {sorted(text.unique())}.")
        is_control &= text == value
    if not is_control.any():
        raise BadInputError(f"{shown}: no sample in {source} matches all of "
                            f"{', '.join(f'{c} == {v!r}' for c, v in control.items())}.")
    match = [c for c in MATCH_KEYS if c in targets.columns and c not in control]
    by = ["marker", *match]
    # one value per control sample (replicates averaged), then their mean per gene and match key
    group = [*key, *[c for c in by if c not in key]]
    per_sample = targets[is_control].groupby(group, dropna=False)["_relative"].mean()
    calibrator = per_sample.reset_index().groupby(by, dropna=False)["_relative"].mean()
    matched = targets.join(calibrator.rename("_calibrator"), on=by)["_calibrator"]
    if matched.isna().any():
        lacking = sorted({" / ".join(map(label_text, k)) for k in
                          targets.loc[matched.isna(), by].itertuples(index=False, name=None)})
        hint = (" To compare every sample with one baseline, name it fully, e.g. --control "
                "day=0,condition=control." if match else "")
        raise BadInputError(
            f"{shown}: the calibrator is the control sample of the same {' and '.join(match) or 'table'}"
            f", but {source} has none for {' / '.join(by)} {lacking[:10]}, so their fold change "
            f"has no reference. Add those control measurements or leave them out.{hint}")
    return matched


def label_text(value) -> str:
    """A label as text: 7.0, 7 and "7" are the same group (or control value)."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def add_fold_change(summary: pd.DataFrame, transform: str | None, control: str | None,
                    long: pd.DataFrame) -> pd.DataFrame:
    """The summary with ``fold_change = 2^value`` (a ``fold_change`` transform with a
    control) and, where wells were set to the cycle limit, their count per sample and gene."""
    if UNDETERMINED_COLUMN in long.columns:
        group = [*sample_key(long), "marker", "assay"]
        counts = long.groupby(group, dropna=False)[UNDETERMINED_COLUMN].sum().astype(int)
        summary = summary.join(counts, on=group)
        summary[UNDETERMINED_COLUMN] = summary[UNDETERMINED_COLUMN].fillna(0).astype(int)
    if (transform not in TRANSFORMS or not TRANSFORMS.entry(transform).extra.get("fold_change")
            or parse_control(control) is None):
        return summary
    return summary.assign(
        fold_change=np.where(summary["assay"] == QPCR, 2.0 ** summary["value"], np.nan))
