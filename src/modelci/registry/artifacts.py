"""Documents attached to a model version's MLflow run, so they travel with the version."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from modelci.config import Config
from modelci.registry import client as registry
from modelci.registry.connection import RetryPolicy, reachable
from modelci.registry.location import locate
from modelci.registry.store import check_inside


def attach(
    config: Config,
    run_dir: Path,
    env: Mapping[str, str],
    run_id: str,
    files: Mapping[str, bytes],
    where: str,
) -> None:
    """Log ``files`` (name → bytes) as artifacts of ``run_id`` under ``where``."""
    from modelci import staging

    location = locate(config, run_dir, env)
    if location.missing():
        return
    policy = RetryPolicy.from_settings(config.get("train.tracking"))
    with reachable(location, policy, env), staging.folder("attach") as scratch:
        mlflow = registry.client(location)
        if location.artifact_location is not None:  # the store in the run folder
            run_root = mlflow.get_run(run_id).info.artifact_uri
            check_inside(location, run_root, f"run {run_id}'s artifact location")
        for name, content in files.items():
            (scratch / name).write_bytes(content)
            mlflow.log_artifact(run_id, str(scratch / name), where)
