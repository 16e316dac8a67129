"""Where a comparison came from, for the people who open its report later: the commit and CI
run, the data digests, and the MLflow pages of the models (never with credentials)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from modelci.secrets import uri_display


@dataclass(frozen=True)
class ReportContext:
    #: the commit compare ran for
    commit: str | None = None
    #: the CI run's page
    ci_run: str | None = None
    #: the candidate's training data, as the registry records it
    training_data_digest: str | None = None
    #: MLflow pages: the candidate's run and model version, production's model version
    candidate_run: str | None = None
    candidate_version: str | None = None
    production_version: str | None = None


def mlflow_base(tracking_uri: str) -> str | None:
    """The MLflow UI behind a tracking URI, in its display form (user, password and secret
    query parameters removed); ``None`` for a store with no UI (sqlite, a folder)."""
    shown = uri_display(tracking_uri)
    parts = urlsplit(shown)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def run_page(base: str, experiment_id: str, run_id: str) -> str:
    return f"{base}/#/experiments/{quote(experiment_id, safe='')}/runs/{quote(run_id, safe='')}"


def version_page(base: str, name: str, version: str) -> str:
    return f"{base}/#/models/{quote(name, safe='')}/versions/{quote(version, safe='')}"
