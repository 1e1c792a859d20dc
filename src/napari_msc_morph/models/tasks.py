"""Prediction tasks, and the result columns they produce, as data.

The engine, CLI, widgets, training and analysis read :class:`TaskSpec` fields
instead of branching on task names, so a new task is one entry in :data:`TASKS`.
Scores are computed by :func:`napari_msc_morph.inference.ordinal.task_score`.
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
    """The table column (and score-map name) of one class's probability: ``p_<class>``."""
    return f"p_{class_name}"


@dataclass(frozen=True)
class TaskSpec:
    """What a model predicts.

    Parameters
    ----------
    name : str
        Task identifier stored in the bundle.
    class_names : tuple of str
        Output classes in head order; for ordinal tasks, from low to high.
    ordinal : bool
        Whether the classes are ordered (enables interval probabilities).
    score : str or None
        One of :data:`SCORES`.
    positive_class : str or None
        For a two-class ``os_score``, the class whose probability is the score.
    description : str
        One line for users.
    classes_from_data : bool
        The classes are the manifest's labels; ``class_names`` are only examples.
    label_definition : str
        Where the classes' meaning comes from: the paper, or this tool.
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
        """The classes a model gets from a manifest's ``labels``: the task's that occur, or
        every label (naturally ordered) for classes from the data; fewer than two: all."""
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
        """What summarises a field best: the score, else the class probabilities."""
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
    """The number ending each class name (``"P7"`` -> 7) if all have one and they increase."""
    matches = [_TRAILING_NUMBER.search(str(c)) for c in class_names]
    values = [float(m.group(1)) for m in matches if m]
    if len(values) == len(matches) and all(b > a for a, b in zip(values, values[1:])):
        return tuple(values)
    return None


def natural_order(names) -> tuple[str, ...]:
    """``names`` sorted with their numbers read as numbers (S2 before S10)."""
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
        Replace the default classes. For ``osteogenic``, two classes keep
        ``P(positive_class)`` as OsScore (else the last class is positive); more
        are an ordered day series.
    ordinal : bool, optional
        Override whether the classes are ordered.

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
