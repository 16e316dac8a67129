"""A loaded model's predictions on a table, encoded for :mod:`modelci.metrics`.

Each model reads its own columns (from its signature, else the estimator's
``feature_names_in_``, else every column but the target and the row id), so two models
that read different columns (a feature added or dropped) are scored on the same rows. Classification
labels are encoded once for every model scored on the same rows, so codes and probability
columns line up between them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelci.errors import DataError, first_line
from modelci.metrics import Predictions, Task, encode, label_order
from modelci.models.loading import LoadedModel

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

#: the row id train writes into its holdout: not a feature
ROW_COLUMN = "__row"


@dataclass(frozen=True)
class RawOutput:
    """What the model said: predicted labels or values, and probabilities when it gives them
    (one column per label of ``classes``)."""

    values: npt.NDArray[Any]
    proba: npt.NDArray[np.float64] | None
    classes: list[Any] | None


def feature_frame(data: pd.DataFrame, source: str, target: str) -> pd.DataFrame:
    """Every column but the target and the row id: each model takes its own from here."""
    if target not in data.columns:
        raise DataError(source, f"no target column {target!r}; set data.target to the label column")
    return data[[c for c in data.columns if c not in (target, ROW_COLUMN)]]


def raw_predict(
    model: LoadedModel,
    features: pd.DataFrame,
    task: str,
    source: str,
    *,
    fix: str = "evaluate on data with the training columns",
) -> RawOutput:
    """The model's outputs on its own columns of ``features`` (all of them when it does not
    say); probabilities only from a scikit-learn classifier that can give them. A column
    the model reads but ``features`` lacks is a DataError naming it, then ``fix``."""
    import numpy as np

    columns = model.features or list(features.columns)
    missing = [name for name in columns if name not in features.columns]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise DataError(
            source, f"missing feature {missing[0]!r}{more} that the {model.role} model needs; {fix}"
        )
    frame = features[columns]
    try:
        values = np.asarray(model.model.predict(frame))
        proba = None
        if (
            task == "classification"
            and model.flavor == "sklearn"
            and hasattr(model.model, "predict_proba")
        ):
            try:
                proba = np.asarray(model.model.predict_proba(frame), dtype=np.float64)
            except (AttributeError, NotImplementedError):
                proba = None  # e.g. SVC(probability=False): labels only
    except Exception as exc:  # a model is arbitrary code: say which one broke and why
        raise DataError(
            source,
            f"the {model.role} model {model.uri} cannot predict these rows "
            f"({type(exc).__name__}: {first_line(exc)})",
        ) from None
    if values.ndim > 1:
        values = values.reshape(values.shape[0], -1)[:, 0]
    return RawOutput(values, proba, model.classes)


def infer_task(model: LoadedModel, y_true: npt.NDArray[Any]) -> Task:
    import numpy as np

    if model.flavor == "sklearn":
        from sklearn.base import is_classifier

        return "classification" if is_classifier(model.model) else "regression"
    # without an estimator to ask: fractional targets are values, anything else is labels
    if y_true.dtype.kind == "f" and not np.all(np.mod(y_true[np.isfinite(y_true)], 1) == 0):
        return "regression"
    return "classification"


def class_labels(
    y_true: npt.NDArray[Any], outputs: Sequence[RawOutput], known: Sequence[Any] | None
) -> list[Any]:
    """Label order: the training classes when known, else every label seen, sorted."""
    seen: set[Any] = set(y_true.tolist())
    for out in outputs:
        seen |= set(out.values.tolist())
        seen |= set(out.classes or [])
    return label_order(known, seen)


def predictions(
    task: Task, y_true: npt.NDArray[Any], out: RawOutput, labels: Sequence[Any]
) -> Predictions:
    """``out`` encoded in the shared label order; probabilities that do not come one column
    per known class are left out (the model said something else)."""
    proba = out.proba
    if (
        proba is None
        or out.classes is None
        or proba.ndim != 2
        or proba.shape[1] != len(out.classes)
    ):
        proba = None
    return encode(
        task,
        y_true,
        out.values,
        proba,
        classes=labels,
        proba_classes=out.classes if proba is not None else None,
    )
