"""The embedded sqlite store, and pointing MLflow's module-level API at a store for a step.

Without a tracking server, runs are tracked in ``<run folder>/mlflow.db`` with artifacts in
``<run folder>/mlartifacts``: a full, inspectable store that travels with the run folder
(and is refused as a gate's registry in CI: see :mod:`modelci.registry.location`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import cast
from urllib.parse import unquote, urlparse

from modelci.errors import InputError
from modelci.registry.connection import RetryPolicy, probe
from modelci.registry.location import Location, sqlite_path


def prepare(location: Location, policy: RetryPolicy, env: Mapping[str, str]) -> None:
    """Make the store usable: probe a server, or create the embedded store from a template."""
    if location.remote:
        probe(location, policy, env)
        return
    parsed = urlparse(location.uri)
    if parsed.scheme == "sqlite" and location.artifact_location is not None:
        _embedded_sqlite(Path(parsed.path), location.artifact_location, env)


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


#: MLflow's columns that hold a location in the embedded store's artifact folder
_LOCATIONS = (
    ("experiments", "artifact_location"),
    ("runs", "artifact_uri"),
    ("logged_models", "artifact_location"),
    ("model_versions", "storage_location"),
    ("model_versions", "source"),
)


def rebase(location: Location) -> None:
    """Point the embedded store's artifact locations at the run folder where it is now.

    MLflow records absolute ``file://`` locations. The run folder travels between CI jobs
    (each in its own build folder) as an artifact: without this, a later step (sign, sbom,
    provenance attaching documents) would write into the folder where train ran, another
    job's, and read the model's artifacts from there.
    """
    db = sqlite_path(location.uri)
    if location.artifact_location is None or db is None or not db.is_file():
        return
    new = location.artifact_location.rstrip("/")
    # Best effort: a read-only run folder cannot be rebased, and then the step that needs
    # to write there fails on its own write, naming the store.
    with contextlib.suppress(sqlite3.Error), contextlib.closing(sqlite3.connect(db)) as conn:
        row = conn.execute(
            "SELECT artifact_location FROM experiments WHERE experiment_id = 0"
        ).fetchone()
        if row is None or not isinstance(row[0], str) or not row[0].endswith("/0"):
            return
        old = row[0][: -len("/0")]
        if old == new:
            return
        with conn:
            for table, column in _LOCATIONS:
                conn.execute(
                    f"UPDATE {table} SET {column} = ? || substr({column}, ?) "  # noqa: S608
                    f"WHERE substr({column}, 1, ?) = ?",
                    (new, len(old) + 1, len(old) + 1, old + "/"),
                )


def check_inside(location: Location, uri: str, what: str) -> None:
    """Refuse an artifact location of the embedded store outside its artifact folder: the
    store travels in the run folder, and an edited ``mlflow.db`` would otherwise make a step
    write its documents (or train its model) wherever the database says."""
    if location.artifact_location is None:
        return
    root = _file_path(location.artifact_location)
    path = _file_path(uri)
    inside = root is not None and path is not None and path.is_relative_to(root)
    if not inside:
        raise InputError(
            f"{location.display}: {what} is {uri}, outside the run folder's artifact folder "
            f"({location.artifact_location}); the store was edited: delete the run folder's "
            "mlflow.db and mlartifacts, or set MLFLOW_TRACKING_URI to your registry"
        )


def _file_path(uri: str) -> Path | None:
    """The real path of a ``file:`` URI (symbolic links and ``..`` resolved), else None."""
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file") or parsed.netloc not in ("", "localhost"):
        return None
    return Path(unquote(parsed.path)).resolve()


def cache_dir(env: Mapping[str, str]) -> Path:
    if env.get("MODELCI_HOME"):
        return Path(env["MODELCI_HOME"]) / "cache"
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "modelci"


def template(env: Mapping[str, str]) -> Path | None:
    """The migrated empty MLflow database of this MLflow version, built once per machine.

    Built through MLflow's public client: opening a store on an empty sqlite database
    creates its tables and runs every migration, which is the work the copy saves later.
    """
    import mlflow
    from mlflow import MlflowClient

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
            MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments(max_results=1)
            os.replace(path, cached)
    except Exception:  # a read-only or odd home: MLflow creates the store in place, slower
        return None
    finally:
        quiet.setLevel(level)
    return cached


#: the variables ``mlflow.set_tracking_uri``/``set_registry_uri`` export for subprocesses
URI_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


@contextlib.contextmanager
def using(uri: str) -> Iterator[None]:
    """Point MLflow's module-level API (``log_model``, ``models:/`` URIs) at ``uri`` for the
    block, then put back what it pointed at before, and MLFLOW_TRACKING_URI and
    MLFLOW_REGISTRY_URI exactly as they were.

    Only MLflow's public setters and getters are used. They cannot say whether a URI came
    from an earlier ``set_tracking_uri`` or from the environment, so a URI that equals the
    environment's (or MLflow's default) is taken to come from there and is left to the
    environment again; one set in code is set back.
    """
    import mlflow

    saved_env = {name: os.environ.get(name) for name in URI_VARIABLES}
    tracking = mlflow.get_tracking_uri()
    registry = mlflow.get_registry_uri()
    # set in code: differs from what the environment (or MLflow's default) gives
    set_tracking = tracking if tracking != saved_env["MLFLOW_TRACKING_URI"] else None
    if not mlflow.is_tracking_uri_set():  # type: ignore[no-untyped-call]
        set_tracking = None
    set_registry = (
        registry if registry not in (saved_env["MLFLOW_REGISTRY_URI"], tracking) else None
    )
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield
    finally:
        _unset = cast(str, None)  # what both setters take to mean "not set in code"
        mlflow.set_tracking_uri(set_tracking or _unset)
        mlflow.set_registry_uri(set_registry or _unset)
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
