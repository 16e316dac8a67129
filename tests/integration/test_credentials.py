"""No credential leaves the process: train, compare and promote against a real MLflow server
reached through a URI with a password, with token variables set, on a pull request whose
comment goes to a recording forge. Everything they print, every file of the run folder,
the MLflow run's params and tags, the version tags and the comment are searched for the
canaries."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLE
from tests.integration.conftest import MlflowServer
from tests.integration.test_comments_api import TOKEN, FakeForge, _github_env, _serve

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PASSWORD = "canary-password-7f3a"
USER = "canary-user-91bc"
MLFLOW_TOKEN = "canary-mlflow-token-55de"
OTHER_SECRET = "canary-aws-secret-0c1d"
CANARIES = (PASSWORD, USER, MLFLOW_TOKEN, OTHER_SECRET, TOKEN)


def _everything_under(folder: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in sorted(folder.rglob("*")) if p.is_file()]


def test_no_credential_reaches_output_files_mlflow_or_the_comment(
    mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    project = tmp_path / "project"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".modelci"))
    forge = FakeForge("github")
    served = _serve(forge)
    forge_url = next(served)
    host = mlflow_server.uri.removeprefix("http://")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELCI_", "MLFLOW_"))}
    env.update(_github_env(forge_url, tmp_path))
    env.update(
        {
            "MLFLOW_TRACKING_URI": f"http://{USER}:{PASSWORD}@{host}",
            "MLFLOW_TRACKING_TOKEN": MLFLOW_TOKEN,
            "AWS_SECRET_ACCESS_KEY": OTHER_SECRET,
            "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
            "GITHUB_RUN_ID": "77",
            "MODELCI_HOME": str(tmp_path / "home"),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    printed: list[str] = []
    try:
        for step in ("validate-data", "train", "compare", "promote"):
            done = subprocess.run(
                [sys.executable, "-m", "modelci", step],
                cwd=project, env=env, capture_output=True, text=True, timeout=600, check=False,
            )  # fmt: skip
            printed += [done.stdout, done.stderr]
            assert done.returncode == 0, f"{step}: {done.stderr[-2000:]}"
    finally:
        next(served, None)

    for text in printed:
        for canary in CANARIES:
            assert canary not in text, f"printed: {canary}"
    files = _everything_under(project / ".modelci")
    assert any(p.name == "decision.json" for p, _ in files)
    for path, data in files:
        for canary in CANARIES:
            assert canary.encode() not in data, f"{path} holds {canary}"

    client = MlflowClient(mlflow_server.uri, registry_uri=mlflow_server.uri)
    manifest: dict[str, Any] = json.loads((project / ".modelci" / "manifest.json").read_text())
    run = client.get_run(manifest["train"]["run_id"])
    recorded = json.dumps([run.data.params, run.data.tags])
    version = client.get_model_version("breast-cancer", manifest["train"]["model_version"])
    recorded += json.dumps([version.tags, version.description, version.source])
    for canary in CANARIES:
        assert canary not in recorded, f"MLflow holds {canary}"

    bodies = [json.dumps(payload) for _, _, _, payload in forge.requests if payload]
    assert bodies, "compare posted no comment"
    for body in bodies:
        for canary in CANARIES:
            assert canary not in body, f"comment holds {canary}"
