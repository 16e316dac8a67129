"""Command mode: evaluate the model the team's script logged on modelci's holdout.

The compare step needs predictions on known rows, whatever trained the model. When
``data.path`` and ``data.target`` are set, the logged model is loaded from the local copy
and scored on the same holdout the declarative mode would use (or on
``train.split.test_path``, which the script never sees: it is given ``MODELCI_DATA_PATH``
only, so that is the honest setup). The model's inputs are the columns of its signature,
or every column but the target.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from modelci.config import Config
from modelci.errors import DataError
from modelci.training.metrics import compute_metrics

if TYPE_CHECKING:
    import pyarrow as pa

    from modelci.training.data import Prepared


@dataclass
class Evaluation:
    prepared: Prepared
    metrics: dict[str, float]
    classes: list[Any]
    predictions: pa.Table


def evaluate_logged(config: Config, model_dir: Path) -> Evaluation | None:
    if config.path("data.path") is None or not config.get("data.target"):
        return None
    import mlflow.pyfunc

    from modelci.training import data
    from modelci.training.fit import predict, predictions_table

    pyfunc_model = mlflow.pyfunc.load_model(str(model_dir))
    sk_model = _sklearn_model(model_dir)
    prepared = data.prepare(config, sk_model)
    inputs = _input_columns(pyfunc_model, prepared)
    prepared.features = inputs
    frame = prepared.test_frame if prepared.test_frame is not None else prepared.frame
    x = frame[inputs].iloc[prepared.test_rows]
    y_true = prepared.test_y if prepared.test_y is not None else prepared.y[prepared.test_rows]
    try:
        if sk_model is not None:
            y_pred, proba, classes = predict(sk_model, x, prepared.task)
        else:
            y_pred, proba = np.asarray(pyfunc_model.predict(x)).ravel(), None
            classes = _labels(y_true, y_pred) if prepared.task == "classification" else []
    except Exception as exc:  # the user's model on the user's data: say which, not how
        raise DataError(
            prepared.dataset.source,
            f"the logged model cannot predict the holdout rows: {type(exc).__name__}: "
            f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}",
        ) from None
    metrics = compute_metrics(
        prepared.task, y_true, y_pred, proba, config.get("train.metrics"), classes=classes
    )
    table = predictions_table(prepared.test_rows, y_true, y_pred, proba, classes)
    return Evaluation(prepared, metrics, classes, table)


def _sklearn_model(model_dir: Path) -> Any | None:
    import yaml

    meta = yaml.safe_load((model_dir / "MLmodel").read_text(encoding="utf-8")) or {}
    if "sklearn" not in (meta.get("flavors") or {}):
        return None
    import mlflow.sklearn

    return mlflow.sklearn.load_model(str(model_dir))


def _input_columns(model: Any, prepared: Prepared) -> list[str]:
    columns = list(prepared.frame.columns)
    schema = model.metadata.get_input_schema() if model.metadata is not None else None
    names = schema.input_names() if schema is not None and schema.has_input_names() else None
    if names:
        missing = [n for n in names if n not in columns]
        if missing:
            raise DataError(
                prepared.dataset.source,
                f"the logged model expects column(s) {', '.join(map(str, missing))} "
                "that the data lacks",
            )
        return [str(n) for n in names]
    return [c for c in columns if c != prepared.target]


def _labels(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> list[Any]:
    return sorted(set(y_true.tolist()) | set(y_pred.tolist()))
