"""MLflow tracking for the train step: where to track, reaching the server, tags, registry.

The tracking URI is ``registry.tracking_uri``, else ``MLFLOW_TRACKING_URI``, else a sqlite
store in the run folder (``<run folder>/mlflow.db``, artifacts in ``<run folder>/mlartifacts``),
so a pipeline with no MLflow server still gets a full, inspectable tracking store that
travels with the run folder.

A remote server is probed before any work, with a bounded number of retries, and MLflow's
own HTTP retries are bounded the same way: an unreachable server fails the step with exit 3
in seconds, naming the URI, instead of after MLflow's default of minutes.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from modelci.errors import InfraError, first_line

EMBEDDED_DB = "mlflow.db"
EMBEDDED_ARTIFACTS = "mlartifacts"


@dataclass(frozen=True)
class Target:
    """Where a run is tracked."""

    uri: str
    #: artifact location for new experiments (set for the embedded store only)
    artifact_location: str | None
    #: where the URI came from: a config key, MLFLOW_TRACKING_URI or "embedded"
    origin: str

    @property
    def remote(self) -> bool:
        return urlparse(self.uri).scheme in ("http", "https")

    @property
    def display(self) -> str:
        """The URI without credentials, for messages and the manifest."""
        parsed = urlparse(self.uri)
        if parsed.password or parsed.username:
            host = parsed.hostname or ""
            netloc = f"{host}:{parsed.port}" if parsed.port else host
            return parsed._replace(netloc=netloc).geturl()
        return self.uri


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3
    backoff: float = 0.5
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> RetryPolicy:
        s = settings or {}
        return cls(
            retries=int(s.get("retries", 3)),
            backoff=float(s.get("backoff", 0.5)),
            timeout=float(s.get("timeout", 10.0)),
        )


def resolve_target(
    configured: str | None, origin: str, run_dir: Path, env: Mapping[str, str]
) -> Target:
    if configured:
        return Target(configured, None, origin)
    if env.get("MLFLOW_TRACKING_URI"):
        return Target(env["MLFLOW_TRACKING_URI"], None, "MLFLOW_TRACKING_URI")
    folder = run_dir.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    artifacts = folder / EMBEDDED_ARTIFACTS
    return Target(f"sqlite:///{folder / EMBEDDED_DB}", artifacts.as_uri(), "embedded")


def prepare(target: Target, policy: RetryPolicy, env: Mapping[str, str]) -> None:
    """Make the store usable: probe a server, or create a sqlite store from a template."""
    if target.remote:
        probe(target, policy, env)
        return
    parsed = urlparse(target.uri)
    if parsed.scheme == "sqlite" and target.origin == "embedded":
        _embedded_sqlite(Path(parsed.path), target.artifact_location or "", env)


def probe(target: Target, policy: RetryPolicy, env: Mapping[str, str] | None = None) -> None:
    """Any HTTP answer means the server is there; refused, timed out or 5xx is retried.

    The probe goes through ``requests`` with MLflow's own TLS settings
    (``MLFLOW_TRACKING_INSECURE_TLS``, ``MLFLOW_TRACKING_SERVER_CERT_PATH``) and the usual
    proxy variables, so it reaches the server exactly when MLflow would.
    """
    import requests

    env = os.environ if env is None else env
    verify: bool | str = True
    if env.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() == "true":
        verify = False
    elif env.get("MLFLOW_TRACKING_SERVER_CERT_PATH"):
        verify = env["MLFLOW_TRACKING_SERVER_CERT_PATH"]
    url = target.uri.rstrip("/") + "/api/2.0/mlflow/experiments/search?max_results=1"
    last = ""
    delay = policy.backoff
    for attempt in range(policy.retries + 1):
        try:
            response = requests.get(url, timeout=policy.timeout, verify=verify)
        except requests.exceptions.SSLError as exc:
            raise InfraError(
                f"MLflow tracking server {target.display}: TLS failed ({_reason(exc)}); set "
                "MLFLOW_TRACKING_SERVER_CERT_PATH to your CA bundle"
            ) from None
        except requests.exceptions.RequestException as exc:
            last = _reason(exc)
        else:
            if response.status_code < 500:
                return  # up, perhaps asking for credentials: MLflow reports that itself
            last = f"HTTP {response.status_code}"
        if attempt < policy.retries:
            time.sleep(delay)
            delay *= 2
    raise InfraError(
        f"MLflow tracking server {target.display} unreachable after {policy.retries + 1} "
        f"attempts ({last}); check the URI ({target.origin}) and that the server is running"
    )


def _reason(exc: BaseException) -> str:
    """The innermost cause, without the URL (which may carry credentials)."""
    text = str(exc)
    for marker in (
        "Connection refused",
        "Name or service not known",
        "timed out",
        "No route to host",
        "CERTIFICATE_VERIFY_FAILED",
        "Connection reset",
    ):
        if marker in text:
            return marker
    return type(exc).__name__


@contextlib.contextmanager
def bounded_http(policy: RetryPolicy) -> Iterator[None]:
    """Bound MLflow's own HTTP retries and timeouts for the step (unless the user set them)."""
    wanted = {
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(policy.retries),
        # MLflow reads this one as an integer
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": str(math.ceil(policy.backoff)),
        "MLFLOW_HTTP_REQUEST_TIMEOUT": str(max(1, round(policy.timeout))),
    }
    added = [k for k in wanted if k not in os.environ]
    for key in added:
        os.environ[key] = wanted[key]
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


@contextlib.contextmanager
def infra_errors(target: Target) -> Iterator[None]:
    """Connection failures while tracking become InfraError naming the URI."""
    import requests

    try:
        yield
    except requests.exceptions.RequestException as exc:
        raise InfraError(
            f"MLflow tracking server {target.display} failed: {type(exc).__name__}; "
            "check that the server is running and reachable"
        ) from exc
    except Exception as exc:
        from mlflow.exceptions import MlflowException

        if isinstance(exc, MlflowException) and _is_connection_error(exc):
            raise InfraError(
                f"MLflow tracking server {target.display} failed: {first_line(exc, 300)}"
            ) from exc
        raise


def _is_connection_error(exc: BaseException) -> bool:
    text = str(exc)
    return any(
        marker in text
        for marker in ("Max retries exceeded", "Connection refused", "API request to", "timed out")
    )


# --- the embedded sqlite store ------------------------------------------------------------


def _embedded_sqlite(db: Path, artifact_location: str, env: Mapping[str, str]) -> None:
    """Start the run folder's store from an empty, migrated template when there is one.

    Creating an MLflow sqlite store runs every schema migration (seconds); copying a
    migrated empty database made once per MLflow version takes milliseconds.
    """
    if db.exists():
        return
    db.parent.mkdir(parents=True, exist_ok=True)
    template_db = template(env)
    if template_db is None:
        return
    shutil.copyfile(template_db, db)
    # The template's Default experiment points at the template's folder; point it here.
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        conn.execute(
            "UPDATE experiments SET artifact_location = ? WHERE experiment_id = 0",
            (artifact_location.rstrip("/") + "/0",),
        )


def cache_dir(env: Mapping[str, str]) -> Path:
    if env.get("MODELCI_HOME"):
        return Path(env["MODELCI_HOME"]) / "cache"
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "modelci"


def template(env: Mapping[str, str]) -> Path | None:
    """The migrated empty MLflow database of this MLflow version, built once per machine."""
    import mlflow

    folder = cache_dir(env)
    cached = folder / f"mlflow-{mlflow.__version__}-empty.db"
    if cached.exists():
        return cached
    # MLflow narrates its migrations at INFO; building a cache is not news for a CI log.
    quiet = logging.getLogger("mlflow.store.db.utils")
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            path = Path(tmp) / "empty.db"
            from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

            store = SqlAlchemyStore(  # type: ignore[no-untyped-call]
                f"sqlite:///{path}", Path(tmp).as_uri()
            )
            store.engine.dispose()
            os.replace(path, cached)
    except Exception:  # a read-only or odd home: MLflow creates the store in place, slower
        return None
    finally:
        quiet.setLevel(level)
    return cached


# --- tags ----------------------------------------------------------------------------------


def source_tags(env: Mapping[str, str], cwd: Path) -> dict[str, str]:
    """Git commit and branch and the CI run URL: from the CI system's variables (detected as
    the CI adapters do, ``MODELCI_CI`` first), else from the local checkout."""
    provider = _provider(env)
    commit = branch = url = None
    if provider == "github":
        commit = env.get("GITHUB_SHA")
        branch = env.get("GITHUB_HEAD_REF") or env.get("GITHUB_REF_NAME")
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        repo, run = env.get("GITHUB_REPOSITORY"), env.get("GITHUB_RUN_ID")
        url = f"{server}/{repo}/actions/runs/{run}" if repo and run else None
    elif provider == "gitlab":
        commit = env.get("CI_COMMIT_SHA")
        branch = env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME") or env.get("CI_COMMIT_REF_NAME")
        url = env.get("CI_JOB_URL") or env.get("CI_PIPELINE_URL")
    commit = commit or _git(cwd, "rev-parse", "HEAD")
    branch = branch or _git(cwd, "symbolic-ref", "--short", "HEAD")
    tags: dict[str, str] = {}
    if commit:
        tags["mlflow.source.git.commit"] = commit
        tags["modelci.git.commit"] = commit
    if branch:
        tags["mlflow.source.git.branch"] = branch
        tags["modelci.git.branch"] = branch
    if url:
        tags["modelci.ci.run_url"] = url
    tags["modelci.ci.provider"] = provider
    return tags


def _provider(env: Mapping[str, str]) -> str:
    forced = env.get("MODELCI_CI", "").strip().lower()
    if forced in ("github", "gitlab", "local"):
        return forced
    if env.get("GITHUB_ACTIONS") == "true":
        return "github"
    if env.get("GITLAB_CI") == "true":
        return "gitlab"
    return "local"


def _git(cwd: Path, *args: str) -> str | None:
    if shutil.which("git") is None:
        return None
    try:
        done = subprocess.run(
            ["git", "-C", str(cwd), *args], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = done.stdout.strip()
    return value if done.returncode == 0 and value else None


# --- experiments and the registry ----------------------------------------------------------


def experiment_id(client: Any, name: str, artifact_location: str | None) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            client.restore_experiment(found.experiment_id)
        return str(found.experiment_id)
    location = f"{artifact_location.rstrip('/')}/{_safe(name)}" if artifact_location else None
    return str(client.create_experiment(name, artifact_location=location))


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "experiment"


def register(
    client: Any,
    model_uri: str,
    name: str,
    run_id: str,
    tags: Mapping[str, str],
    description: str,
) -> str:
    """Create a model version (and the registered model when new); returns the version.

    ``model_uri`` is a logged model's ``models:/<model_id>`` URI (MLflow 3) or a
    ``runs:/`` URI.
    """
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(name)
    except MlflowException as exc:
        if "RESOURCE_ALREADY_EXISTS" not in str(exc.error_code):
            raise
    model_id = model_uri.removeprefix("models:/") if model_uri.startswith("models:/m-") else None
    version = client.create_model_version(
        name,
        model_uri,
        run_id=run_id,
        tags=dict(tags),
        description=description,
        await_creation_for=0,
        model_id=model_id,
    )
    try:
        _await_ready(client, name, str(version.version))
    except BaseException:
        delete_version(client, name, str(version.version))
        raise
    return str(version.version)


def _await_ready(client: Any, name: str, version: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        status = client.get_model_version(name, version).status
        if status == "READY":
            return
        if status == "FAILED_REGISTRATION" or time.monotonic() > deadline:
            raise InfraError(f"model version {name}/{version} did not become ready ({status})")
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def delete_version(client: Any, name: str, version: str) -> None:
    """Undo a registration; never mask the error that made us undo it."""
    with contextlib.suppress(Exception):
        client.delete_model_version(name, version)


@contextlib.contextmanager
def using(uri: str) -> Iterator[None]:
    """Point MLflow's module-level API (fluent logging, ``models:/`` URIs) at ``uri`` for a
    step, then restore exactly what was there.

    ``mlflow.set_tracking_uri``/``set_registry_uri`` also export MLFLOW_TRACKING_URI and
    MLFLOW_REGISTRY_URI; restoring through them would drop variables the user had set, and
    leaving them behind would outrank the settings of the next run in the same process. So
    the module globals and the variables are both put back by hand.
    """
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    saved = (tracking_utils._tracking_uri, registry_utils._registry_uri)
    names = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    saved_env = {name: os.environ.get(name) for name in names}
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield
    finally:
        tracking_utils._tracking_uri, registry_utils._registry_uri = saved
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
