"""Metrics by task, computed once on the holdout with the compare step's own functions.

Which metrics exist and which way is better comes from the registry, :mod:`modelci.metrics`;
the values come from :mod:`modelci.comparing.metrics` applied to all rows (the bootstrap's
point estimate), so a metric the train step reports is exactly the one compare gates on.

Definitions follow scikit-learn. Binary precision, recall and F1 score the second of the
sorted class labels (the "positive" one for 0/1 or False/True targets); with more classes
they are macro averages. ROC AUC is one-vs-rest macro for more than two classes. Log loss
and ROC AUC need class probabilities: without them (``proba=None``) they are left out
rather than guessed, and so is any metric undefined on these rows (ROC AUC when the holdout
holds a single class, R² of a constant target).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from modelci.comparing.metrics import METRICS as _COMPUTE
from modelci.comparing.metrics import Predictions, point
from modelci.metrics import SPECS, TASKS, Task, check_names, names_for

__all__ = ["HIGHER_IS_BETTER", "METRICS", "Task", "compute_metrics"]

#: the metrics of each task, in output order
METRICS: dict[str, list[str]] = {task: names_for(task) for task in TASKS}

#: which way is better, for gates and tables
HIGHER_IS_BETTER: dict[str, bool] = {name: spec.higher_is_better for name, spec in SPECS.items()}


def compute_metrics(
    task: str,
    y_true: Sequence[Any] | npt.NDArray[Any],
    y_pred: Sequence[Any] | npt.NDArray[Any],
    proba: npt.NDArray[Any] | None = None,
    names: Sequence[str] | None = None,
    *,
    classes: Sequence[Any] | None = None,
) -> dict[str, float]:
    """``{metric: value}`` for ``names`` (default: every metric of ``task``).

    ``proba`` has one column per class in the order of ``classes`` (default: the sorted
    labels seen in ``y_true`` and ``y_pred``, which is scikit-learn's ``classes_`` order
    when the model saw every label). Labels outside ``classes`` are appended after them
    with probability zero, as the compare step does.
    """
    wanted = check_names(task, names if names is not None else names_for(task))
    predictions = _encode(task, y_true, y_pred, proba, classes)
    out: dict[str, float] = {}
    for name in wanted:
        metric = _COMPUTE[name]
        if metric.needs_proba and predictions.proba is None:
            continue
        value = point(metric, predictions)
        if not math.isnan(value):
            out[name] = value
    return out


def _encode(
    task: str,
    y_true: Sequence[Any] | npt.NDArray[Any],
    y_pred: Sequence[Any] | npt.NDArray[Any],
    proba: npt.NDArray[Any] | None,
    classes: Sequence[Any] | None,
) -> Predictions:
    """Labels as codes into the class order, probabilities as one column per code."""
    truth = np.asarray(y_true)
    pred = np.asarray(y_pred)
    if truth.shape[0] != pred.shape[0]:
        raise ValueError(f"{truth.shape[0]} true values but {pred.shape[0]} predictions")
    if truth.shape[0] == 0:
        raise ValueError("no rows to compute metrics on")
    if task == "regression":
        return Predictions("regression", truth.astype(np.float64), pred.astype(np.float64))
    true_list, pred_list = truth.tolist(), pred.tolist()
    seen = set(true_list) | set(pred_list)
    labels = list(classes) if classes is not None else _sorted(seen)
    labels += _sorted(seen - set(labels))
    index = {label: i for i, label in enumerate(labels)}
    scores = None
    if proba is not None:
        given = np.asarray(proba, dtype=np.float64)
        if given.ndim == 1:  # scikit-learn's binary convention: the positive class's column
            given = np.column_stack([1.0 - given, given])
        known = len(classes) if classes is not None else len(labels)
        if given.ndim != 2 or given.shape != (truth.shape[0], known):
            raise ValueError(
                f"proba has shape {given.shape}; expected ({truth.shape[0]}, {known}), "
                "one column per class"
            )
        scores = np.zeros((truth.shape[0], len(labels)))
        scores[:, :known] = given
    return Predictions(
        "classification",
        np.array([index[v] for v in true_list], dtype=np.int64),
        np.array([index[v] for v in pred_list], dtype=np.int64),
        scores,
        tuple(labels),
    )


def _sorted(labels: set[Any]) -> list[Any]:
    try:
        return sorted(labels)
    except TypeError:  # mixed label types: any fixed order will do
        return sorted(labels, key=str)
