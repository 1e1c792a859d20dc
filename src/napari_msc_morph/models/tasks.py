"""Prediction tasks, and the result columns they produce, as data.

A :class:`TaskSpec` says what a model predicts: its class names (in order, for
ordinal tasks), whether the classes are ordered, and which summary score the
task reports next to the class probabilities. The inference engine, the CLI,
the widgets, training and analysis read these fields instead of branching on
task names, so a new task is one more entry in the :data:`TASKS` registry.

Column names are defined here once: ``p_<class>`` for each class
(:func:`probability_column`, :attr:`TaskSpec.probability_columns`) and the
task's score column (:attr:`TaskSpec.score_columns`), whose names and display
hints live in the :data:`SCORES` registry.

Scores (see :func:`napari_msc_morph.inference.ordinal.task_score`):

``expected_passage``
    ``sum_k value_k * p_k`` over the ordered classes, where ``value_k`` is the
    number in the class name (``"P7"`` -> 7) or ``k + 1`` when names carry no
    number.
``os_score``
    Osteogenic Score in [0, 1]: ``P(positive_class)`` for a two-class model
    (control vs induced); for an ordinal day-series model the expected position
    of the class, ``sum_k p_k * k / (n - 1)`` (0 = first class, 1 = last).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..errors import BadInputError
from ..registry import Registry

__all__ = [
    "PREDICTED_CLASS_COLUMN",
    "SCORES",
    "ScoreSpec",
    "TASKS",
    "TaskSpec",
    "class_numbers",
    "get_task",
    "natural_order",
    "probability_column",
]


@dataclass(frozen=True)
class ScoreSpec:
    """A summary score: its table column / score-map name and how a viewer shows it."""

    name: str
    description: str
    colormap: str = "inferno"


#: Scores a task may report; each one is a table column and a score-map name.
SCORES: Registry = Registry("score")
for _score in (
    ScoreSpec("expected_passage", "expected passage: sum of class value x probability over "
              "the ordered classes", colormap="viridis"),
    ScoreSpec("os_score", "Osteogenic Score in [0, 1]: P(induced), or the expected position "
              "in an ordered day series", colormap="magma"),
):
    SCORES.add(_score.name, _score, help=_score.description)
del _score

#: Column holding the most likely class.
PREDICTED_CLASS_COLUMN = "predicted_class"


def probability_column(class_name: str) -> str:
    """The table column (and score-map name) of one class's probability.

    >>> probability_column("induced")
    'p_induced'
    """
    return f"p_{class_name}"


@dataclass(frozen=True)
class TaskSpec:
    """What a model predicts.

    Parameters
    ----------
    name : str
        Task identifier stored in the bundle (``"passage"``, ``"source"`` ...).
    class_names : tuple of str
        Output classes in head order; for ordinal tasks, from low to high.
    ordinal : bool
        Whether the classes are ordered (enables interval probabilities).
    score : str or None
        Name of the summary score the task reports (one of :data:`SCORES`).
    positive_class : str or None
        For two-class scores (``os_score``), the class whose probability is the
        score.
    description : str
        One line for users.
    classes_from_data : bool
        The classes are the lab's own names found in the manifest's labels
        (strains), not a fixed list; ``class_names`` are then only examples.
    label_definition : str
        Where the classes' meaning comes from: the paper, or this tool where
        the paper does not define them (reports and docs print it).
    """

    name: str
    class_names: tuple[str, ...]
    ordinal: bool
    score: str | None = None
    positive_class: str | None = None
    description: str = ""
    classes_from_data: bool = False
    label_definition: str = ""

    def __post_init__(self):
        names = tuple(str(c) for c in self.class_names)
        object.__setattr__(self, "class_names", names)
        if len(names) < 2:
            raise BadInputError(
                f"Task {self.name!r} needs at least two class names, got {list(names)}."
            )
        if len(set(names)) != len(names):
            raise BadInputError(f"Task {self.name!r} has repeated class names: {list(names)}.")
        if self.score is not None and self.score not in SCORES:
            raise BadInputError(
                f"Task {self.name!r}: unknown score {self.score!r}; known: {SCORES.names()}."
            )
        if self.positive_class is not None and self.positive_class not in names:
            raise BadInputError(
                f"Task {self.name!r}: positive class {self.positive_class!r} is not one of "
                f"the class names {list(names)}."
            )
        if self.score == "os_score" and not self.ordinal and self.positive_class is None:
            raise BadInputError(
                f"Task {self.name!r}: os_score on unordered classes needs a positive_class."
            )

    def classes_in(self, labels) -> tuple[str, ...]:
        """The classes a model of this task gets from a manifest holding ``labels``.

        The task's classes that occur (in the task's order), or, for a task whose
        classes come from the data, every label in natural order (S2 before S10).
        Fewer than two found: the task's own list (the manifest check then names
        the labels that do not fit).
        """
        present = {str(v) for v in labels if str(v).strip()}
        if self.classes_from_data:
            kept = natural_order(present)
        else:
            kept = tuple(c for c in self.class_names if c in present)
        return kept if len(kept) >= 2 else tuple(self.class_names)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def probability_columns(self) -> tuple[str, ...]:
        """``p_<class>`` for every class, in head order."""
        return tuple(probability_column(c) for c in self.class_names)

    @property
    def score_columns(self) -> tuple[str, ...]:
        """The task's score column (``os_score``, ``expected_passage``), or none."""
        return (self.score,) if self.score else ()

    @property
    def headline_columns(self) -> tuple[str, ...]:
        """What summarises a field best: the score, else the class probabilities.

        The Predict widget shows these as score maps.
        """
        return self.score_columns or self.probability_columns


#: The tasks a model bundle can be trained for: name -> :class:`TaskSpec`.
TASKS: Registry = Registry("task")
for _spec in (
    TaskSpec(
        name="passage",
        class_names=tuple(f"P{k}" for k in range(1, 11)),
        ordinal=True,
        score="expected_passage",
        description="Culture passage (senescence), ordinal P1..P10 with interval probabilities.",
        label_definition="the culture passage P1-P10, as in the passage study (Wang et al. "
                         "2025, §3.4.2)",
    ),
    TaskSpec(
        name="source",
        class_names=("umbilical_cord", "bone_marrow"),
        ordinal=False,
        description="Tissue source: umbilical cord vs bone marrow MSCs.",
        label_definition="the tissue the MSCs were isolated from, as in the passage study's "
                         "source model (Wang et al. 2025, §3.4.3)",
    ),
    TaskSpec(
        name="osteogenic",
        class_names=("control", "induced"),
        ordinal=False,
        score="os_score",
        positive_class="induced",
        description="Osteogenic differentiation; OsScore = P(induced) in [0, 1] (this tool's "
                    "definition).",
        label_definition="this tool's definition: control vs osteogenically induced cultures, "
                         "OsScore = P(induced); the OsteoNet abstract names an Osteogenic Score "
                         "without defining its classes or formula",
    ),
    TaskSpec(
        name="nsc_fate",
        class_names=("neuron", "astrocyte", "oligodendrocyte"),
        ordinal=False,
        description="Neural stem cell fate: neuron / astrocyte / oligodendrocyte "
                    "(or neuron / glia; this tool's class sets).",
        label_definition="this tool's definition: neuron / astrocyte / oligodendrocyte, or "
                         "neuron / glia; the neural-fate summary speaks of neuron and glial "
                         "differentiation without listing its classes",
    ),
    TaskSpec(
        name="strain",
        class_names=tuple(f"S{k}" for k in range(1, 11)),
        ordinal=False,
        classes_from_data=True,
        description="Cell strain identification: which of your strains (the manifest's "
                    "labels) an image comes from.",
        label_definition="which training strain an image comes from, as in the passage "
                         "study's strain model (Wang et al. 2025, §3.4.2); the strain names "
                         "are your manifest's",
    ),
):
    TASKS.add(_spec.name, _spec, help=_spec.description)
del _spec


_TRAILING_NUMBER = re.compile(r"(-?\d+(?:\.\d+)?)\s*$")


def class_numbers(class_names) -> tuple[float, ...] | None:
    """The number ending each class name (``"P7"`` -> 7) if all have one and they increase.

    >>> class_numbers(["P1", "P4", "P10"]), class_numbers(["P4", "P1"])
    ((1.0, 4.0, 10.0), None)
    """
    matches = [_TRAILING_NUMBER.search(str(c)) for c in class_names]
    values = [float(m.group(1)) for m in matches if m]
    if len(values) == len(matches) and all(b > a for a, b in zip(values, values[1:])):
        return tuple(values)
    return None


def natural_order(names) -> tuple[str, ...]:
    """``names`` sorted with their numbers read as numbers.

    >>> natural_order(["S10", "S2", "S1"])
    ('S1', 'S2', 'S10')
    """
    def key(name: str):
        return [(0, int(part), "") if part.isdigit() else (1, 0, part.lower())
                for part in re.split(r"(\d+)", str(name)) if part]

    return tuple(sorted((str(n) for n in names), key=key))


def get_task(name: str, class_names=None, ordinal: bool | None = None) -> TaskSpec:
    """Return the :class:`TaskSpec` for ``name``, optionally with other classes.

    Parameters
    ----------
    name : str
        One of :data:`TASKS`.
    class_names : sequence of str, optional
        Replace the default classes (e.g. ``["P2", "P4", "P6"]`` for passage, or
        ``["neuron", "glia"]`` for ``nsc_fate``). For ``osteogenic``, two
        classes keep ``P(positive_class)`` as OsScore (the positive class is the
        default one if present, else the last class); more than two classes
        are read as an ordered day series.
    ordinal : bool, optional
        Override whether the classes are ordered.

    Returns
    -------
    TaskSpec

    Examples
    --------
    >>> get_task("passage").class_names[:3]
    ('P1', 'P2', 'P3')
    >>> get_task("nsc_fate", ["neuron", "glia"]).num_classes
    2
    """
    if name not in TASKS:
        raise BadInputError(f"Unknown task {name!r}; known tasks: {', '.join(TASKS)}.")
    base = TASKS.get(name)
    if class_names is None and ordinal is None:
        return base
    names = tuple(str(c) for c in (class_names if class_names is not None else base.class_names))
    changes: dict = {"class_names": names}
    if ordinal is not None:
        changes["ordinal"] = bool(ordinal)
    if base.score == "os_score":
        if len(names) > 2 and ordinal is None:
            changes["ordinal"] = True
        is_ordinal = changes.get("ordinal", base.ordinal)
        if is_ordinal:
            changes["positive_class"] = None
        elif base.positive_class in names:
            changes["positive_class"] = base.positive_class
        else:
            changes["positive_class"] = names[-1]
    elif base.positive_class is not None and base.positive_class not in names:
        changes["positive_class"] = None
    return replace(base, **changes)
