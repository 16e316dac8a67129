"""Declarative training: preprocessing + estimator in one Pipeline, fitted on the training
rows, evaluated on the holdout, optionally cross-validated on the training rows."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from modelci.errors import DataError, InputError
from modelci.metrics import compute_metrics
from modelci.training.preprocess import build_preprocessor, to_features
from modelci.training.split import folds

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from modelci.training.data import Prepared


@dataclass
class Fitted:
    model: Any
    metrics: dict[str, float]
    cv_metrics: dict[str, float]
    y_pred: npt.NDArray[Any]
    proba: npt.NDArray[Any] | None
    classes: list[Any]
    input_example: pd.DataFrame
    #: warnings the estimator raised while fitting (convergence, ...), one line each
    fit_warnings: list[str] = field(default_factory=list)


def pipeline(estimator: Any, prepared: Prepared, preprocess: Mapping[str, Any]) -> Any:
    from sklearn.pipeline import Pipeline

    if not preprocess.get("enabled", True):
        return Pipeline([("model", estimator)])
    pre = build_preprocessor(prepared.features, prepared.kinds, preprocess)
    return Pipeline([("preprocess", pre), ("model", estimator)])


def train(
    estimator: Any,
    prepared: Prepared,
    *,
    preprocess: Mapping[str, Any],
    metric_names: Sequence[str] | None,
    cv_folds: int,
    seed: int,
    estimator_path: str,
) -> Fitted:
    model = pipeline(estimator, prepared, preprocess)
    x_all = to_features(prepared.frame[prepared.features], prepared.kinds)
    x_train = x_all.iloc[prepared.train_rows]
    y_train = prepared.y[prepared.train_rows]
    if prepared.test_frame is not None and prepared.test_y is not None:
        x_test = to_features(prepared.test_frame[prepared.features], prepared.kinds)
        y_test = prepared.test_y
    else:
        x_test = x_all.iloc[prepared.test_rows]
        y_test = prepared.y[prepared.test_rows]

    cv_metrics: dict[str, float] = {}
    if cv_folds >= 2:
        cv_metrics = _cross_validate(
            model, x_train, y_train, prepared, metric_names, cv_folds, seed, estimator_path
        )
    fit_warnings = _fit(model, x_train, y_train, prepared.dataset.source, estimator_path)
    y_pred, proba, classes = predict(model, x_test, prepared.task)
    metrics = compute_metrics(prepared.task, y_test, y_pred, proba, metric_names, classes=classes)
    return Fitted(
        model=model,
        metrics=metrics,
        cv_metrics=cv_metrics,
        y_pred=y_pred,
        proba=proba,
        classes=classes,
        input_example=x_train.head(5).reset_index(drop=True),
        fit_warnings=fit_warnings,
    )


def _fit(model: Any, x: pd.DataFrame, y: npt.NDArray[Any], source: str, path: str) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.fit(x, y)
        except (ValueError, TypeError) as exc:
            text = str(exc).strip().splitlines()
            raise DataError(
                source, f"{path} cannot be fitted on this data: {text[0] if text else exc}"
            ) from None
    seen: list[str] = []
    for w in caught:
        if issubclass(w.category, DeprecationWarning | PendingDeprecationWarning):
            continue
        line = f"{w.category.__name__}: {str(w.message).strip().splitlines()[0]}"
        if line not in seen:
            seen.append(line)
    return seen


def predict(
    model: Any, x: pd.DataFrame, task: str
) -> tuple[npt.NDArray[Any], npt.NDArray[Any] | None, list[Any]]:
    y_pred = np.asarray(model.predict(x))
    if task != "classification":
        return y_pred, None, []
    classes = [_plain(c) for c in getattr(model, "classes_", np.unique(y_pred))]
    proba = None
    if hasattr(model, "predict_proba"):
        try:
            proba = np.asarray(model.predict_proba(x), dtype=float)
        except (AttributeError, NotImplementedError):
            proba = None  # e.g. SVC(probability=False) exposes the method but cannot answer
    return y_pred, proba, classes


def _cross_validate(
    model: Any,
    x: pd.DataFrame,
    y: npt.NDArray[Any],
    prepared: Prepared,
    metric_names: Sequence[str] | None,
    k: int,
    seed: int,
    path: str,
) -> dict[str, float]:
    from sklearn.base import clone

    classification = prepared.task == "classification"
    scores: dict[str, list[float]] = {}
    for train_idx, val_idx in folds(
        y, k=k, seed=seed, stratify=classification, source=prepared.dataset.source
    ):
        fold_model = clone(model)
        _fit(fold_model, x.iloc[train_idx], y[train_idx], prepared.dataset.source, path)
        y_pred, proba, classes = predict(fold_model, x.iloc[val_idx], prepared.task)
        fold = compute_metrics(
            prepared.task, y[val_idx], y_pred, proba, metric_names, classes=classes
        )
        for name, value in fold.items():
            scores.setdefault(name, []).append(value)
    out: dict[str, float] = {}
    for name, values in scores.items():
        out[f"cv_{name}_mean"] = float(np.mean(values))
        out[f"cv_{name}_std"] = float(np.std(values))
    return out


def predictions_table(
    rows: npt.NDArray[Any],
    y_true: npt.NDArray[Any],
    y_pred: npt.NDArray[Any],
    proba: npt.NDArray[Any] | None,
    classes: Sequence[Any],
) -> pa.Table:
    """``__row``, ``y_true``, ``y_pred`` and one ``proba_<class>`` column per class."""
    import pyarrow as pa

    columns: dict[str, Any] = {
        "__row": pa.array(rows, type=pa.int64()),
        "y_true": pa.array(_list(y_true)),
        "y_pred": pa.array(_list(y_pred)),
    }
    if proba is not None:
        if proba.ndim != 2 or proba.shape[1] != len(classes):
            raise InputError(
                f"the model gave {proba.shape[-1]} probability columns for {len(classes)} classes"
            )
        for i, label in enumerate(classes):
            columns[f"proba_{label}"] = pa.array(proba[:, i], type=pa.float64())
    return pa.table(columns)


def _list(values: npt.NDArray[Any]) -> list[Any]:
    return [_plain(v) for v in values.tolist()]


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)
    return item() if callable(item) and not isinstance(value, str | bytes) else value
