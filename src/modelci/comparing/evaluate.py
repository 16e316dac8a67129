"""Load both models and predict on the same evaluation rows.

The scikit-learn flavor is preferred because it keeps ``predict_proba`` (ROC AUC, log loss,
curves); any other flavor is loaded through pyfunc and gives labels or values only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from modelci.comparing.metrics import Predictions, Task
from modelci.errors import DataError, InputError, first_line
from modelci.registry.client import local_model_path
from modelci.secrets import hide_credentials

if TYPE_CHECKING:
    import pandas as pd

ROW_COLUMN = "__row"


@dataclass
class LoadedModel:
    role: str
    uri: str
    local_path: Path
    model: Any
    flavor: str
    #: the signature's input columns as (name, type), when the model was logged with one
    inputs: list[tuple[str, str]] | None
    version: str | None = None

    @property
    def features(self) -> list[str] | None:
        """Columns the model reads, from its signature or the estimator's fit."""
        if self.inputs:
            return [name for name, _ in self.inputs]
        names = getattr(self.model, "feature_names_in_", None)
        return [str(n) for n in names] if names is not None else None

    @property
    def classes(self) -> list[Any] | None:
        found = getattr(self.model, "classes_", None)
        return (
            list(found.tolist() if hasattr(found, "tolist") else found)
            if found is not None
            else None
        )


def fetch(role: str, uri: str, workspace: Path) -> Path:
    """The model's folder on this machine: a local folder as it is, anything else
    downloaded (once) into ``workspace``. Nothing is loaded: what is fetched is checked
    (digest, scan) before any of its code can run."""
    import mlflow
    from mlflow.exceptions import MlflowException

    local = local_model_path(uri)
    if local is not None:
        return local
    target = workspace / role
    target.mkdir(parents=True, exist_ok=True)
    try:
        return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(target)))
    except (MlflowException, OSError) as exc:
        raise InputError(
            f"{role} model {uri}: cannot be fetched ({hide_credentials(first_line(exc))}); pass "
            "a models:/ URI or a folder holding an MLflow model (with its MLmodel file)"
        ) from None


def load(role: str, uri: str, local: Path, *, version: str | None = None) -> LoadedModel:
    """Load the fetched folder; bad models are input errors naming the role."""
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.models import Model

    try:
        meta = Model.load(str(local))
    except (MlflowException, OSError) as exc:
        raise InputError(
            f"{role} model {uri}: cannot be loaded ({first_line(exc)}); pass a models:/ URI "
            "or a folder holding an MLflow model (with its MLmodel file)"
        ) from None
    inputs = _signature_inputs(meta)
    try:
        if "sklearn" in meta.flavors:
            model = mlflow.sklearn.load_model(str(local))
            flavor = "sklearn"
        else:
            model = mlflow.pyfunc.load_model(str(local))
            flavor = "pyfunc"
    except Exception as exc:  # a model is arbitrary code: any failure means "cannot load"
        raise InputError(f"{role} model {uri}: cannot be loaded ({first_line(exc)})") from None
    return LoadedModel(role, uri, local, model, flavor, inputs, version)


def _signature_inputs(meta: Any) -> list[tuple[str, str]] | None:
    signature = getattr(meta, "signature", None)
    if signature is None or signature.inputs is None:
        return None
    found: list[tuple[str, str]] = []
    for spec in signature.inputs.to_dict():
        if "name" not in spec:
            return None  # tensor signatures carry no column names
        found.append((str(spec["name"]), str(spec.get("type", ""))))
    return found


def check_same_inputs(candidate: LoadedModel, production: LoadedModel) -> None:
    """Both models must read the same columns with the same types, or rows mean different things."""
    if candidate.inputs is None or production.inputs is None:
        cand, prod = candidate.features, production.features
        if cand is None or prod is None or sorted(cand) == sorted(prod):
            return
        cand_types = dict.fromkeys(cand, "")
        prod_types = dict.fromkeys(prod, "")
    else:
        cand_types = dict(candidate.inputs)
        prod_types = dict(production.inputs)
    problems: list[str] = []
    for name in sorted(cand_types.keys() - prod_types.keys()):
        problems.append(f"candidate reads {name!r}, production does not")
    for name in sorted(prod_types.keys() - cand_types.keys()):
        problems.append(f"production reads {name!r}, candidate does not")
    for name in sorted(cand_types.keys() & prod_types.keys()):
        if cand_types[name] != prod_types[name]:
            problems.append(
                f"{name!r} is {cand_types[name]} for the candidate, "
                f"{prod_types[name]} for production"
            )
    if problems:
        raise InputError(
            f"candidate ({candidate.uri}) and production ({production.uri}) have different "
            f"input schemas: {'; '.join(problems[:3])}"
            f"{f' (+{len(problems) - 3} more)' if len(problems) > 3 else ''}; "
            "compare models trained on the same features"
        )


def feature_frame(
    data: pd.DataFrame, models: list[LoadedModel], source: str, target: str
) -> pd.DataFrame:
    """The columns each model needs, in its order; a missing one is named."""
    if target not in data.columns:
        raise DataError(source, f"no target column {target!r}; set data.target to the label column")
    wanted: list[str] = []
    for model in models:
        names = model.features
        if names is None:
            continue
        for name in names:
            if name not in data.columns:
                raise DataError(
                    source,
                    f"missing feature {name!r} that the {model.role} model needs; "
                    "evaluate on data with the training columns",
                )
            if name not in wanted:
                wanted.append(name)
    if not wanted:
        wanted = [c for c in data.columns if c not in (target, ROW_COLUMN)]
    return data[wanted]


@dataclass
class RawOutput:
    values: npt.NDArray[Any]
    proba: npt.NDArray[np.float64] | None
    classes: list[Any] | None


def raw_predict(model: LoadedModel, features: pd.DataFrame, task: Task) -> RawOutput:
    columns = model.features or list(features.columns)
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
    except Exception as exc:  # a model is arbitrary code: report which one broke and why
        raise InputError(
            f"{model.role} model {model.uri}: predict failed on the evaluation set "
            f"({first_line(exc)})"
        ) from None
    if values.ndim > 1:
        values = values.reshape(values.shape[0], -1)[:, 0]
    return RawOutput(values, proba, model.classes)


def infer_task(model: LoadedModel, y_true: npt.NDArray[Any]) -> Task:
    if model.flavor == "sklearn":
        from sklearn.base import is_classifier

        return "classification" if is_classifier(model.model) else "regression"
    # without an estimator to ask: fractional targets are values, anything else is labels
    if y_true.dtype.kind == "f" and not np.all(np.mod(y_true[np.isfinite(y_true)], 1) == 0):
        return "regression"
    return "classification"


def class_labels(
    y_true: npt.NDArray[Any], outputs: list[RawOutput], known: list[Any] | None
) -> list[Any]:
    """Label order: the training classes when known, else every label seen, sorted."""
    seen: set[Any] = set(_plain_list(y_true))
    for out in outputs:
        seen |= set(_plain_list(out.values))
        seen |= set(out.classes or [])
    labels = list(known or [])
    extra = seen - set(labels)
    try:
        labels += sorted(extra)
    except TypeError:
        labels += sorted(extra, key=str)
    return labels


def _plain_list(values: npt.NDArray[Any]) -> list[Any]:
    return list(values.tolist())


def encode(task: Task, y_true: npt.NDArray[Any], out: RawOutput, labels: list[Any]) -> Predictions:
    if task == "regression":
        return Predictions(
            "regression",
            np.asarray(y_true, dtype=np.float64),
            np.asarray(out.values, dtype=np.float64),
        )
    index = {label: i for i, label in enumerate(labels)}
    truth = np.array([index[v] for v in _plain_list(y_true)], dtype=np.int64)
    pred = np.array([index[v] for v in _plain_list(out.values)], dtype=np.int64)
    proba = None
    if out.proba is not None and out.classes is not None and out.proba.shape[1] == len(out.classes):
        proba = np.zeros((truth.shape[0], len(labels)))
        for col, label in enumerate(out.classes):
            proba[:, index[label]] = out.proba[:, col]
    return Predictions("classification", truth, pred, proba, tuple(labels))
