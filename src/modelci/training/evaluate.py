"""Command mode: evaluate the model the team's script logged on modelci's holdout.

The compare step needs predictions on known rows, whatever trained the model. When
``data.path`` and ``data.target`` are set, the logged model is loaded from the local copy
(through :mod:`modelci.models`, as compare loads it) and scored on the same holdout the
declarative mode would use (or on ``train.split.test_path``, which the script never sees:
it is given ``MODELCI_DATA_PATH`` only, so that is the honest setup). The model's inputs
are the columns of its signature, or every column but the target.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelci.config import Config
from modelci.errors import DataError
from modelci.metrics import compute_metrics

if TYPE_CHECKING:
    import pyarrow as pa

    from modelci.models.loading import LoadedModel
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
    from modelci.models import loading, prediction
    from modelci.training import data
    from modelci.training.fit import predictions_table

    model = loading.load("logged", str(model_dir), model_dir)
    prepared = data.prepare(config, model.model if model.flavor == "sklearn" else None)
    prepared.features = _input_columns(model, prepared)
    frame = prepared.test_frame if prepared.test_frame is not None else prepared.frame
    x = frame[prepared.features].iloc[prepared.test_rows]
    y_true = prepared.test_y if prepared.test_y is not None else prepared.y[prepared.test_rows]
    out = prediction.raw_predict(model, x, prepared.task, prepared.dataset.source)
    classes: list[Any] = []
    if prepared.task == "classification":
        classes = out.classes or prediction.class_labels(y_true, [out], None)
    metrics = compute_metrics(
        prepared.task, y_true, out.values, out.proba, config.get("train.metrics"), classes=classes
    )
    table = predictions_table(prepared.test_rows, y_true, out.values, out.proba, classes)
    return Evaluation(prepared, metrics, classes, table)


def _input_columns(model: LoadedModel, prepared: Prepared) -> list[str]:
    columns = list(prepared.frame.columns)
    names = [name for name, _ in model.inputs or ()]
    if names:
        missing = [n for n in names if n not in columns]
        if missing:
            raise DataError(
                prepared.dataset.source,
                f"the logged model expects column(s) {', '.join(missing)} that the data lacks",
            )
        return names
    return [c for c in columns if c != prepared.target]
