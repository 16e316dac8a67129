"""Fetch a model folder, then, once the caller has checked it, load it.

The scikit-learn flavor is preferred because it keeps ``predict_proba`` (ROC AUC, log loss,
curves); any other flavor is loaded through pyfunc and gives labels or values only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelci.errors import InputError, first_line
from modelci.models.mlmodel import read_mlmodel
from modelci.registry.client import local_model_path
from modelci.secrets import hide_credentials

#: what to pass instead, in every "cannot be loaded" message
_HINT = "pass a models:/ URI or a folder holding an MLflow model (with its MLmodel file)"


@dataclass(frozen=True)
class LoadedModel:
    #: how messages name it: candidate, production, logged
    role: str
    uri: str
    local_path: Path
    model: Any
    flavor: str
    #: the signature's input columns as (name, type), when the model was logged with one
    inputs: tuple[tuple[str, str], ...] | None
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
            f"{role} model {uri}: cannot be fetched ({hide_credentials(first_line(exc))}); " + _HINT
        ) from None


def load(role: str, uri: str, local: Path, *, version: str | None = None) -> LoadedModel:
    """Load the fetched (and checked) folder; bad models are input errors naming the role."""
    try:
        meta = read_mlmodel(local)
    except InputError as exc:
        raise InputError(f"{role} model {uri}: cannot be loaded ({exc}); {_HINT}") from None
    try:
        if meta.has_flavor("sklearn"):
            import mlflow.sklearn

            model = mlflow.sklearn.load_model(str(local))
            flavor = "sklearn"
        else:
            import mlflow.pyfunc

            model = mlflow.pyfunc.load_model(str(local))
            flavor = "pyfunc"
    except Exception as exc:  # a model is arbitrary code: any failure means "cannot load"
        raise InputError(f"{role} model {uri}: cannot be loaded ({first_line(exc)})") from None
    return LoadedModel(role, uri, local, model, flavor, meta.input_columns, version)
