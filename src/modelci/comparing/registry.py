"""The MLflow model registry as compare and promote see it: a name, an alias, versions."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelci.config import Config
from modelci.errors import InfraError, InputError
from modelci.runfolder import RunFolder

# one implementation of the URI switch for train, compare and promote (re-exported)
from modelci.training.tracking import using as using

#: the store used when nothing names one; the train step writes to the same place
DEFAULT_STORE = "mlflow.db"


def tracking_uri(
    config: Config, manifest: Mapping[str, Any], runfolder: RunFolder, env: Mapping[str, str]
) -> str:
    """Where the registry is, in train's order: ``registry.tracking_uri``,
    ``MLFLOW_TRACKING_URI`` (which may carry credentials the manifest leaves out), the store
    train recorded, then the run folder's own store.
    """
    if configured := config.get("registry.tracking_uri"):
        return str(configured)
    if from_env := env.get("MLFLOW_TRACKING_URI"):
        return from_env
    own = runfolder.path / DEFAULT_STORE
    recorded = str((manifest.get("train") or {}).get("tracking_uri") or "")
    if recorded.startswith("sqlite:///"):
        # a run folder that travelled between CI jobs may sit at another absolute path
        if Path(recorded[len("sqlite:///") :]).exists() or not own.exists():
            return recorded
    elif recorded:
        return recorded
    return f"sqlite:///{own.resolve()}"


@contextlib.contextmanager
def reachable(
    uri: str, config: Config, runfolder: RunFolder, env: Mapping[str, str]
) -> Iterator[None]:
    """Fail fast on a tracking server that does not answer, and bound MLflow's own retries.

    Left alone, MLflow retries every registry call for minutes; a CI job should instead stop
    after train's bounded retries (``train.tracking``) with exit 3 naming the URI.
    """
    from modelci.training import tracking

    if config.get("registry.tracking_uri"):
        origin = config.where("registry.tracking_uri")
    elif env.get("MLFLOW_TRACKING_URI"):
        origin = "MLFLOW_TRACKING_URI"
    else:
        origin = f"train.tracking_uri in {runfolder.manifest_path}"
    policy = tracking.RetryPolicy.from_settings(config.get("train.tracking"))
    target = tracking.Target(uri, None, origin)
    with tracking.bounded_http(policy):
        if target.remote:
            tracking.probe(target, policy, env)
        yield


def client(uri: str) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def model_name(config: Config, manifest: Mapping[str, Any]) -> str | None:
    name = config.get("registry.model_name") or (manifest.get("train") or {}).get(
        "registered_model"
    )
    return str(name) if name else None


@dataclass(frozen=True)
class VersionRef:
    name: str
    version: str
    alias: str | None = None

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


def is_missing(exc: BaseException) -> bool:
    """True when mlflow says the model, version or alias does not exist."""
    code = getattr(exc, "error_code", "")
    return code in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"}


def registry_call_failed(what: str, uri: str, exc: BaseException) -> InfraError:
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return InfraError(f"model registry at {uri}: {what} failed ({first}); check the server")


def store_missing(uri: str) -> bool:
    """True for a sqlite store that does not exist yet: nothing is registered there, and
    asking MLflow would create an empty database (and narrate it on stderr)."""
    if not uri.startswith("sqlite:///"):
        return False
    return not Path(uri[len("sqlite:///") :]).exists()


def alias_version(mlflow_client: Any, uri: str, name: str, alias: str) -> VersionRef | None:
    """The version behind ``name@alias``; ``None`` when the model or the alias does not exist."""
    from mlflow.exceptions import MlflowException

    if store_missing(uri):
        return None

    try:
        mlflow_client.get_registered_model(name)
    except MlflowException as exc:
        if is_missing(exc):
            return None
        raise registry_call_failed(f"reading registered model {name!r}", uri, exc) from None
    try:
        found = mlflow_client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        if is_missing(exc):
            return None
        raise registry_call_failed(f"reading alias {alias!r} of {name!r}", uri, exc) from None
    return VersionRef(name, str(found.version), alias)


def parse_models_uri(uri: str) -> tuple[str, str | None, str | None]:
    """``models:/name@alias`` → (name, None, alias); ``models:/name/3`` → (name, "3", None)."""
    rest = uri[len("models:/") :].strip("/")
    if "@" in rest:
        name, _, alias = rest.partition("@")
        return name, None, alias
    name, _, version = rest.rpartition("/")
    return (name, version, None) if name else (rest, None, None)


def require_alias(mlflow_client: Any, uri: str, name: str, alias: str, where: str) -> VersionRef:
    found = alias_version(mlflow_client, uri, name, alias)
    if found is None:
        raise InputError(
            f"{where}: alias {alias!r} of registered model {name!r} points nowhere "
            f"(no such model or alias in {uri}); set the alias or pass another URI"
        )
    return found


def local_model_path(uri: str) -> Path | None:
    """A model URI that is already a folder on this machine."""
    path = Path(uri[len("file://") :] if uri.startswith("file://") else uri)
    if "://" not in str(path) and ":/" not in str(path) and path.is_dir():
        return path
    return None


def actor(env: Mapping[str, str]) -> str:
    for name in ("GITHUB_ACTOR", "GITLAB_USER_LOGIN", "USER", "USERNAME"):
        if env.get(name):
            return env[name]
    return os.getenv("USER", "unknown")
