"""The training data: read, choose features and target, derive kinds and the task, split.

Reading goes through the same reader as validate-data, so the digest recorded here is the
digest validate-data recorded for the same file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from modelci.config import Config, env_name
from modelci.errors import ConfigError, DataError, InputError
from modelci.training.preprocess import Kind, arrow_kinds
from modelci.training.split import IntArray, holdout

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from modelci.data.reader import Dataset

#: an integer target with at most this many values is taken as class labels (task: auto)
MAX_INTEGER_CLASSES = 20


@dataclass
class Prepared:
    """Everything the fit needs, with the original rows for the evaluation file."""

    dataset: Dataset
    frame: pd.DataFrame  # all columns, original order
    target: str
    features: list[str]
    kinds: dict[str, Kind]
    task: str
    y: npt.NDArray[Any]
    train_rows: IntArray
    test_rows: IntArray
    #: set when train.split.test_path gives the test rows: they come from this dataset
    test_dataset: Dataset | None = None
    test_frame: pd.DataFrame | None = None
    test_y: npt.NDArray[Any] | None = None

    @property
    def eval_table(self) -> pa.Table:
        """Holdout rows (features + target, original column order) and their row index."""
        import pyarrow as pa

        source = self.test_dataset.table if self.test_dataset is not None else self.dataset.table
        keep = [c for c in source.column_names if c in self.features or c == self.target]
        rows = self.test_rows
        table = source.select(keep).take(pa.array(rows))
        return table.append_column("__row", pa.array(rows, type=pa.int64()))


def read(config: Config, key: str) -> Dataset:
    from modelci.data.configured import read_configured

    path = config.path(key)
    assert path is not None
    return read_configured(config, path)


def prepare(config: Config, estimator: Any | None) -> Prepared:
    data_path = config.path("data.path")
    if data_path is None:
        raise InputError(
            "no training data: pass DATA, or set data.path in modelci.yaml "
            f"or {env_name('data.path')}"
        )
    target = config.get("data.target")
    if not target:
        raise InputError(
            "no target column: pass --target COLUMN, or set data.target in modelci.yaml "
            f"or {env_name('data.target')}"
        )
    dataset = read(config, "data.path")
    source = dataset.source
    if target not in dataset.columns:
        raise DataError(
            source,
            f"no target column {target!r} ({config.where('data.target')}); "
            f"columns: {', '.join(dataset.columns[:20])}"
            + (", …" if len(dataset.columns) > 20 else ""),
        )
    if dataset.rows == 0:
        raise DataError(source, "has a header but no rows; export the data again with its rows")
    kinds, excluded = _kinds(config, dataset.table.schema)
    features = _features(config, dataset, target, kinds, excluded)
    frame = dataset.table.to_pandas()
    y = _target_values(frame, target, source)
    task = _task(config, estimator, y, source, target)
    _check_metrics(config, task)
    if task == "classification":
        _check_classes(y, source, target)
    test_path = config.path("train.split.test_path")
    seed = int(config.get("train.seed", 42))
    if test_path is not None:
        test = read(config, "train.split.test_path")
        if test.rows == 0:
            raise DataError(test.source, "has a header but no rows; give a test file with rows")
        missing = [c for c in [*features, target] if c not in test.columns]
        if missing:
            raise DataError(
                test.source,
                f"test file lacks column(s) {', '.join(missing)} of the training data",
            )
        test_frame = test.table.to_pandas()
        return Prepared(
            dataset, frame, target, features, kinds, task, y,
            np.arange(len(frame), dtype=np.int64), np.arange(len(test_frame), dtype=np.int64),
            test, test_frame, _target_values(test_frame, target, test.source),
        )  # fmt: skip
    stratify_setting = config.get("train.split.stratify", "auto")
    stratify = task == "classification" if stratify_setting == "auto" else bool(stratify_setting)
    train_rows, test_rows = holdout(
        y,
        test_size=float(config.get("train.split.test_size", 0.2)),
        seed=seed,
        stratify=stratify,
        source=source,
    )
    return Prepared(dataset, frame, target, features, kinds, task, y, train_rows, test_rows)


def _kinds(config: Config, schema: pa.Schema) -> tuple[dict[str, Kind], set[str]]:
    """Arrow kinds, overridden by the contract; contract datetime columns and primary-key
    columns (identifiers, not signal) are excluded."""
    kinds = arrow_kinds(schema)
    excluded: set[str] = set()
    contract_path = config.path("contract")
    if contract_path is None:
        return kinds, excluded
    from modelci.contract.model import column_kinds, load_contract

    contract = load_contract(contract_path)
    declared = column_kinds(contract)
    for name, spec in contract.columns.items():
        if name in declared:
            kinds[name] = declared[name]
        elif spec.dtype is not None:
            kinds.pop(name, None)  # datetime and other non-feature types
    excluded.update(contract.table.primary_key)
    return kinds, excluded


def _features(
    config: Config, dataset: Dataset, target: str, kinds: Mapping[str, Kind], excluded: set[str]
) -> list[str]:
    chosen: Sequence[str] | None = config.get("train.features")
    exclude = set(config.get("train.exclude") or [])
    if chosen:
        missing = [c for c in chosen if c not in dataset.columns]
        if missing:
            raise ConfigError(
                f"no column {', '.join(map(repr, missing))} in {dataset.source}",
                source=config.where("train.features"),
            )
        untyped = [c for c in chosen if c not in kinds]
        if untyped:
            raise ConfigError(
                f"column(s) {', '.join(untyped)} are neither numeric nor categorical; "
                "declare their dtype in the contract or leave them out",
                source=config.where("train.features"),
            )
        features = [c for c in chosen if c != target]
    else:
        features = [
            c
            for c in dataset.columns
            if c != target and c in kinds and c not in exclude and c not in excluded
        ]
    if not features:
        raise DataError(
            dataset.source,
            f"no feature columns left besides target {target!r}; check train.features, "
            "train.exclude and the contract's column types",
        )
    return features


def _target_values(frame: pd.DataFrame, target: str, source: str) -> npt.NDArray[Any]:
    column = frame[target]
    missing = int(column.isna().sum())
    if missing:
        raise DataError(
            source,
            f"target column {target!r} has {missing} missing value(s); drop or fill those rows",
        )
    import pandas as pd

    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        return column.to_numpy()
    return column.astype(str).to_numpy(dtype=object)


def _task(
    config: Config, estimator: Any | None, y: npt.NDArray[Any], source: str, target: str
) -> str:
    setting = config.get("train.task", "auto")
    if setting != "auto":
        task = str(setting)
    elif estimator is not None and _estimator_type(estimator) is not None:
        task = str(_estimator_type(estimator))
    elif _looks_categorical(y):
        task = "classification"
    else:
        task = "regression"
    if task == "regression" and (y.dtype == object or y.dtype == bool):
        raise DataError(
            source,
            f"target column {target!r} is not numeric, so it cannot be regressed on; "
            "use a classifier or set train.task: classification",
        )
    return task


def _check_metrics(config: Config, task: str) -> None:
    """Refuse metrics of the other task now, before an MLflow run is started for nothing."""
    from modelci.metrics import check_names

    try:
        check_names(task, config.get("train.metrics") or [], base_dir=config.base_dir)
    except ValueError as exc:
        raise ConfigError(str(exc), source=config.where("train.metrics")) from None


def _looks_categorical(y: npt.NDArray[Any]) -> bool:
    if y.dtype == object or y.dtype == bool:
        return True
    return bool(np.issubdtype(y.dtype, np.integer) and len(np.unique(y)) <= MAX_INTEGER_CLASSES)


def _estimator_type(estimator: Any) -> str | None:
    from sklearn.base import is_classifier, is_regressor

    if is_classifier(estimator):
        return "classification"
    if is_regressor(estimator):
        return "regression"
    return None


def _check_classes(y: npt.NDArray[Any], source: str, target: str) -> None:
    values = np.unique(y)
    if len(values) < 2:
        only = values[0].item() if hasattr(values[0], "item") else values[0]
        raise DataError(
            source,
            f"target column {target!r} has a single class ({only!r}); a classifier needs "
            "at least two: check the data or the target column",
        )
