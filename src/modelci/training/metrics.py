"""Metrics by task, computed on the holdout; the compare step imports these same functions.

Definitions follow scikit-learn. Binary precision, recall and F1 score the second of the
sorted class labels (the "positive" one for 0/1 or False/True targets); with more classes
they are macro averages. ROC AUC is one-vs-rest macro for more than two classes. Log loss
and ROC AUC need class probabilities: without them (``proba=None``) they are left out
rather than guessed, and so is ROC AUC when the holdout holds a single class.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Task = Literal["classification", "regression"]

METRICS: dict[str, list[str]] = {
    "classification": [
        "accuracy",
        "balanced_accuracy",
        "precision",
        "recall",
        "f1",
        "roc_auc",
        "log_loss",
    ],
    "regression": ["rmse", "mae", "r2", "mape"],
}

#: which way is better, for gates and tables
HIGHER_IS_BETTER: dict[str, bool] = {
    "accuracy": True,
    "balanced_accuracy": True,
    "precision": True,
    "recall": True,
    "f1": True,
    "roc_auc": True,
    "log_loss": False,
    "rmse": False,
    "mae": False,
    "r2": True,
    "mape": False,
}

_NEEDS_PROBA = frozenset({"roc_auc", "log_loss"})


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
    when the model saw every label).
    """
    if task not in METRICS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(METRICS)}")
    wanted = list(names) if names is not None else METRICS[task]
    unknown = [n for n in wanted if n not in METRICS[task]]
    if unknown:
        raise ValueError(
            f"metric(s) {', '.join(unknown)} do not apply to {task}; "
            f"choose from {', '.join(METRICS[task])}"
        )
    truth = np.asarray(y_true)
    pred = np.asarray(y_pred)
    if task == "regression":
        return {name: _regression(name, truth.astype(float), pred.astype(float)) for name in wanted}
    seen = set(truth.tolist()) | set(pred.tolist())
    labels = list(classes) if classes is not None else sorted(seen)
    out: dict[str, float] = {}
    for name in wanted:
        if name in _NEEDS_PROBA and proba is None:
            continue
        value = _classification(name, truth, pred, proba, labels)
        if value is not None:
            out[name] = value
    return out


def _regression(name: str, y: npt.NDArray[Any], p: npt.NDArray[Any]) -> float:
    from sklearn import metrics as skm

    if name == "rmse":
        return float(math.sqrt(skm.mean_squared_error(y, p)))
    if name == "mae":
        return float(skm.mean_absolute_error(y, p))
    if name == "r2":
        return float(skm.r2_score(y, p))
    return float(skm.mean_absolute_percentage_error(y, p))


def _classification(
    name: str,
    y: npt.NDArray[Any],
    p: npt.NDArray[Any],
    proba: npt.NDArray[Any] | None,
    labels: list[Any],
) -> float | None:
    from sklearn import metrics as skm

    binary = len(labels) == 2
    if name == "accuracy":
        return float(skm.accuracy_score(y, p))
    if name == "balanced_accuracy":
        return float(skm.balanced_accuracy_score(y, p))
    if name in ("precision", "recall", "f1"):
        func = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score}
        kwargs: dict[str, Any] = (
            {"average": "binary", "pos_label": labels[1]}
            if binary
            else {"average": "macro", "labels": labels}
        )
        return float(func[name](y, p, zero_division=0, **kwargs))
    assert proba is not None
    scores = np.asarray(proba, dtype=float)
    if name == "log_loss":
        return float(skm.log_loss(y, np.clip(scores, 1e-15, 1.0), labels=labels))
    # roc_auc
    if len(set(y.tolist())) < 2:
        return None
    if binary:
        positive = scores[:, 1] if scores.ndim == 2 else scores
        return float(skm.roc_auc_score(y == labels[1], positive))
    return float(
        skm.roc_auc_score(y, scores, multi_class="ovr", average="macro", labels=labels)
    )
