"""Where the registry is: from configuration and the environment, never from the run folder.

The run folder travels between CI jobs as an artifact that anyone able to write it can
change, so a URI recorded there must not decide which server a step talks to (and sends
``MLFLOW_TRACKING_TOKEN`` to). Precedence: ``registry.tracking_uri`` (file, ``MODELCI_*``
or flag), then ``MLFLOW_TRACKING_URI``, else a sqlite store inside the run folder.

A store inside the run folder is *ephemeral*: every CI job starts with an empty one, so a
gate against it always finds "no production model". Compare and promote refuse it in CI
unless ``registry.ephemeral: true`` says the user accepts a gate that cannot compare.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from modelci import secrets
from modelci.cicontext import CIContext
from modelci.config import Config
from modelci.errors import InputError

EMBEDDED_DB = "mlflow.db"
EMBEDDED_ARTIFACTS = "mlartifacts"
#: where an ephemeral store is said to come from in messages
EMBEDDED_ORIGIN = "the run folder (no registry.tracking_uri or MLFLOW_TRACKING_URI set)"


@dataclass(frozen=True)
class Location:
    """A tracking store and registry: its URI (which may hold credentials: never print it),
    where that URI came from, and whether the store lives and dies with the run folder."""

    uri: str
    origin: str
    ephemeral: bool
    #: artifact location for new experiments (the embedded store only)
    artifact_location: str | None = None

    @property
    def display(self) -> str:
        """The URI without credentials, for messages, reports and the manifest."""
        return secrets.uri_display(self.uri)

    @property
    def remote(self) -> bool:
        return urlparse(self.uri).scheme in ("http", "https")

    @property
    def sqlite_path(self) -> Path | None:
        return sqlite_path(self.uri)

    def missing(self) -> bool:
        """True for a sqlite store that does not exist yet: nothing is registered there, and
        opening it would create an empty database (and narrate it on stderr)."""
        path = self.sqlite_path
        return path is not None and not path.exists()


def locate(config: Config, run_dir: Path, env: Mapping[str, str]) -> Location:
    """The registry of this run, from configuration and environment only."""
    configured = config.get("registry.tracking_uri")
    if configured:
        uri, origin = str(configured), config.where("registry.tracking_uri")
    elif env.get("MLFLOW_TRACKING_URI"):
        uri, origin = env["MLFLOW_TRACKING_URI"], "MLFLOW_TRACKING_URI"
    else:
        return embedded(run_dir)
    secrets.register(secrets.uri_secrets(uri))
    return Location(uri, origin, ephemeral=_inside(uri, run_dir))


def embedded(run_dir: Path) -> Location:
    """The sqlite store inside the run folder (artifacts beside it)."""
    folder = run_dir.resolve()
    return Location(
        f"sqlite:///{folder / EMBEDDED_DB}",
        EMBEDDED_ORIGIN,
        ephemeral=True,
        artifact_location=(folder / EMBEDDED_ARTIFACTS).as_uri(),
    )


def _inside(uri: str, run_dir: Path) -> bool:
    """A file or sqlite store configured inside the run folder is as ephemeral as the
    embedded one."""
    parsed = urlparse(uri)
    path = sqlite_path(uri)
    if path is None and parsed.scheme in ("", "file"):
        path = Path(unquote(parsed.path or uri))
    if path is None:
        return False
    try:
        path.resolve().relative_to(run_dir.resolve())
    except ValueError:
        return False
    return True


def require_lasting(location: Location, config: Config, ci: CIContext, step: str) -> None:
    """In CI, a gate needs a registry that outlives the job (or the user's explicit opt-in)."""
    if not (ci.in_ci and location.ephemeral) or config.get("registry.ephemeral"):
        return
    raise InputError(
        f"{step}: the model registry {location.display} lives in the run folder, which every "
        "CI job starts afresh, so the gate would never find a production model; point "
        "MLFLOW_TRACKING_URI (or registry.tracking_uri) at a registry that outlives the job, "
        "or set registry.ephemeral: true to accept a gate that cannot compare"
    )


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///<absolute path>`` URI."""
    return Path(unquote(uri[len("sqlite:///") :])) if uri.startswith("sqlite:///") else None
