"""The one list of metrics modelci knows: name, task, direction, need for probabilities.

Train (one value per holdout) and compare (a bootstrap distribution) both read this table,
so they cannot disagree on which metrics exist, which task they belong to or which way is
better. The computation lives in :mod:`modelci.comparing.metrics`, one vectorised function
per metric; importing that module fails if a metric here has no function or vice versa.

Kept free of numpy and friends so config checks and the CLI can use it without cost.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Task = Literal["classification", "regression"]
Direction = Literal["higher", "lower"]

TASKS: tuple[Task, ...] = ("classification", "regression")


@dataclass(frozen=True)
class MetricSpec:
    name: str
    task: Task
    direction: Direction
    #: for tables and reports
    display: str
    #: computed from class probabilities; left out when the model gives none
    needs_proba: bool = False
    #: per-row correctness makes McNemar's test meaningful
    accuracy_type: bool = False

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "higher"


# Order matters: it is the order of metrics in train's outputs and compare's tables.
SPECS: dict[str, MetricSpec] = {
    s.name: s
    for s in (
        MetricSpec("accuracy", "classification", "higher", "Accuracy", accuracy_type=True),
        MetricSpec("balanced_accuracy", "classification", "higher", "Balanced accuracy"),
        MetricSpec("precision", "classification", "higher", "Precision"),
        MetricSpec("recall", "classification", "higher", "Recall"),
        MetricSpec("f1", "classification", "higher", "F1"),
        MetricSpec("roc_auc", "classification", "higher", "ROC AUC", needs_proba=True),
        MetricSpec("log_loss", "classification", "lower", "Log loss", needs_proba=True),
        MetricSpec("rmse", "regression", "lower", "RMSE"),
        MetricSpec("mae", "regression", "lower", "MAE"),
        MetricSpec("r2", "regression", "higher", "R²"),
        MetricSpec("mape", "regression", "lower", "MAPE"),
    )
}

#: the rule compare uses when modelci.yaml names none, per task
DEFAULT_METRIC: dict[str, str] = {"classification": "accuracy", "regression": "rmse"}


def names_for(task: str) -> list[str]:
    """The task's metrics in table order (empty for an unknown task)."""
    return [name for name, spec in SPECS.items() if spec.task == task]


def check_names(task: str, names: Iterable[str]) -> list[str]:
    """``names`` as a list, or ValueError naming the unknown task or the misfit metrics."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    wanted = list(names)
    allowed = names_for(task)
    unknown = [n for n in wanted if n not in allowed]
    if unknown:
        raise ValueError(
            f"metric(s) {', '.join(unknown)} do not apply to {task}; "
            f"choose from {', '.join(allowed)}"
        )
    return wanted
