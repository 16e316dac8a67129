"""Model versions and aliases in an MLflow registry: reading, registering, moving.

Every function takes the :class:`~modelci.registry.location.Location` so that a failure
names the registry by its display URI (never with credentials).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelci.config import Config
from modelci.errors import InfraError, InputError, ModelciError, first_line
from modelci.registry.location import Location


def client(location: Location) -> Any:
    from mlflow.tracking import MlflowClient

    from modelci.registry.store import rebase

    rebase(location)
    return MlflowClient(tracking_uri=location.uri, registry_uri=location.uri)


@dataclass(frozen=True)
class VersionRef:
    """A registered model version as the registry describes it."""

    name: str
    version: str
    alias: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    run_id: str | None = None
    source: str | None = None
    #: when the version was created, in milliseconds since the epoch
    created_ms: int | None = None

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


def model_name(config: Config, manifest_name: str | None) -> str | None:
    """The registered model: ``registry.model_name``, else the one train registered."""
    name = config.get("registry.model_name") or manifest_name
    return str(name) if name else None


def is_missing(exc: BaseException) -> bool:
    """True when mlflow says the model, version or alias does not exist."""
    code = getattr(exc, "error_code", "")
    return code in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"}


def call_failed(what: str, location: Location, exc: BaseException) -> ModelciError:
    """A registry call that failed: a store that cannot be written says so (exit 2), any
    other failure names the registry and the call (exit 3)."""
    from modelci.registry.connection import store_error
    from modelci.secrets import hide_credentials

    if (problem := store_error(location, exc)) is not None:
        return problem
    return InfraError(
        f"model registry at {location.display}: {what} failed "
        f"({hide_credentials(first_line(exc))}); check the server"
    )


def _ref(found: Any, alias: str | None = None) -> VersionRef:
    return VersionRef(
        str(found.name),
        str(found.version),
        alias,
        dict(getattr(found, "tags", None) or {}),
        getattr(found, "run_id", None),
        getattr(found, "source", None),
        getattr(found, "creation_timestamp", None),
    )


def version(mlflow_client: Any, location: Location, name: str, number: str) -> VersionRef | None:
    """Version ``number`` of ``name``; ``None`` when there is no such model or version."""
    from mlflow.exceptions import MlflowException

    if location.missing():
        return None
    try:
        return _ref(mlflow_client.get_model_version(name, number))
    except MlflowException as exc:
        if is_missing(exc):
            return None
        raise call_failed(f"reading {name} version {number}", location, exc) from None


def alias_version(
    mlflow_client: Any, location: Location, name: str, alias: str
) -> VersionRef | None:
    """The version behind ``name@alias``; ``None`` when the model or the alias does not exist."""
    from mlflow.exceptions import MlflowException

    if location.missing():
        return None
    try:
        mlflow_client.get_registered_model(name)
    except MlflowException as exc:
        if is_missing(exc):
            return None
        raise call_failed(f"reading registered model {name!r}", location, exc) from None
    try:
        found = mlflow_client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        if is_missing(exc):
            return None
        raise call_failed(f"reading alias {alias!r} of {name!r}", location, exc) from None
    return _ref(found, alias)


def require_alias(
    mlflow_client: Any, location: Location, name: str, alias: str, where: str
) -> VersionRef:
    found = alias_version(mlflow_client, location, name, alias)
    if found is None:
        raise InputError(
            f"{where}: alias {alias!r} of registered model {name!r} points nowhere "
            f"(no such model or alias in {location.display}); set the alias or pass another URI"
        )
    return found


def versions(mlflow_client: Any, location: Location, name: str) -> list[VersionRef]:
    """Every version of ``name`` (none when the model does not exist)."""
    from mlflow.exceptions import MlflowException

    if location.missing():
        return []
    try:
        found = mlflow_client.search_model_versions(f"name = '{_quoted(name)}'")
    except MlflowException as exc:
        if is_missing(exc):
            return []
        raise call_failed(f"listing versions of {name!r}", location, exc) from None
    return [_ref(v) for v in found]


def _quoted(name: str) -> str:
    return name.replace("\\", "\\\\").replace("'", "\\'")


def set_tags(
    mlflow_client: Any, location: Location, name: str, number: str, tags: Mapping[str, str]
) -> None:
    from mlflow.exceptions import MlflowException

    try:
        for key, value in tags.items():
            mlflow_client.set_model_version_tag(name, number, key, value)
    except MlflowException as exc:
        raise call_failed(f"tagging {name} version {number}", location, exc) from None


def parse_models_uri(uri: str) -> tuple[str, str | None, str | None]:
    """``models:/name@alias`` → (name, None, alias); ``models:/name/3`` → (name, "3", None)."""
    rest = uri[len("models:/") :].strip("/")
    if "@" in rest:
        name, _, alias = rest.partition("@")
        return name, None, alias
    name, _, number = rest.rpartition("/")
    return (name, number, None) if name else (rest, None, None)


def local_model_path(uri: str) -> Path | None:
    """A model URI that is already a folder on this machine."""
    path = Path(uri[len("file://") :] if uri.startswith("file://") else uri)
    if "://" not in str(path) and ":/" not in str(path) and path.is_dir():
        return path
    return None


# --- experiments and registration ----------------------------------------------------------


def experiment_id(mlflow_client: Any, name: str, artifact_location: str | None) -> str:
    found = mlflow_client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            mlflow_client.restore_experiment(found.experiment_id)
        return str(found.experiment_id)
    location = f"{artifact_location.rstrip('/')}/{_safe(name)}" if artifact_location else None
    return str(mlflow_client.create_experiment(name, artifact_location=location))


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "experiment"


def create_model(mlflow_client: Any, name: str) -> bool:
    """Create the registered model ``name`` unless it exists; whether it was created (a new
    model has no versions, so nothing of an earlier run to look for)."""
    from mlflow.exceptions import MlflowException

    try:
        mlflow_client.create_registered_model(name)
    except MlflowException as exc:
        if "RESOURCE_ALREADY_EXISTS" not in str(exc.error_code):
            raise
        return False
    return True


def register(
    mlflow_client: Any,
    model_uri: str,
    name: str,
    run_id: str,
    tags: Mapping[str, str],
    description: str,
) -> str:
    """Create a model version of the registered model ``name`` (see :func:`create_model`);
    returns the version.

    ``model_uri`` is a logged model's ``models:/<model_id>`` URI (MLflow 3) or a
    ``runs:/`` URI.
    """
    model_id = model_uri.removeprefix("models:/") if model_uri.startswith("models:/m-") else None
    created = mlflow_client.create_model_version(
        name,
        model_uri,
        run_id=run_id,
        tags=dict(tags),
        description=description,
        await_creation_for=0,
        model_id=model_id,
    )
    try:
        # A store that registers synchronously (a database) says READY at once; a server
        # may still be copying the artifacts.
        if created.status != "READY":
            _await_ready(mlflow_client, name, str(created.version))
    except BaseException:
        delete_version(mlflow_client, name, str(created.version))
        raise
    return str(created.version)


def _await_ready(mlflow_client: Any, name: str, number: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        status = mlflow_client.get_model_version(name, number).status
        if status == "READY":
            return
        if status == "FAILED_REGISTRATION" or time.monotonic() > deadline:
            raise InfraError(f"model version {name}/{number} did not become ready ({status})")
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def delete_version(mlflow_client: Any, name: str, number: str) -> None:
    """Undo a registration; never mask the error that made us undo it."""
    with contextlib.suppress(Exception):
        mlflow_client.delete_model_version(name, number)
