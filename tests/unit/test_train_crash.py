"""A train killed between registering its version and recording it: the version is never
promotable, the next train archives it and says so, and no staging (raw rows) is left in
the run folder, which travels as an artifact."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning"),
]


def _client(db: Path) -> Any:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{db}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _project(base: Path) -> tuple[Path, dict[str, str]]:
    from sklearn.datasets import load_breast_cancer

    base.mkdir(parents=True, exist_ok=True)
    frame = load_breast_cancer(as_frame=True).frame.iloc[:, [*range(6), 30]]
    frame.to_csv(base / "train.csv", index=False)
    db = base.parent / "registry" / "mlflow.db"
    db.parent.mkdir(exist_ok=True)
    (base / "modelci.yaml").write_text(
        "version: 1\n"
        "data: {path: train.csv, target: target}\n"
        "registry: {model_name: bc}\n"
        "train: {estimator: sklearn.linear_model.LogisticRegression, params: {max_iter: 300}}\n",
        encoding="utf-8",
    )
    tmp = base.parent / "tmp"
    tmp.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELCI_", "MLFLOW_"))}
    env.update(
        {
            "MLFLOW_TRACKING_URI": f"sqlite:///{db}",
            "TMPDIR": str(tmp),
            "MODELCI_HOME": str(base.parent / "home"),
        }
    )
    for name in ("CI", "GITHUB_ACTIONS", "GITLAB_CI"):
        env.pop(name, None)
    return db, env


def _modelci(base: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelci", *args],
        cwd=base, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def _pending(db: Path) -> list[str]:
    """Pending versions, read without MLflow: opening the store with a client while train
    creates it would race train's own table creation."""
    if not db.exists():
        return []
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            rows = conn.execute(
                "SELECT version FROM model_version_tags WHERE name = 'bc' "
                "AND key = 'modelci.state' AND value = 'pending'"
            ).fetchall()
    except sqlite3.Error:  # not created yet
        return []
    return [str(row[0]) for row in rows]


def test_a_train_killed_after_registration_leaves_an_unpromotable_version_that_is_archived(
    tmp_path: Path,
) -> None:
    base = tmp_path / "project"
    db, env = _project(base)
    run = base / ".modelci"
    run.mkdir()
    # Hold the manifest lock: train registers, then waits here to record the version.
    lock = os.open(run / ".manifest.lock", os.O_CREAT | os.O_RDWR, 0o644)
    fcntl.flock(lock, fcntl.LOCK_EX)
    process = subprocess.Popen(
        [sys.executable, "-m", "modelci", "train"],
        cwd=base, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not _pending(db):
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "train never registered a version"
            time.sleep(0.2)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        fcntl.flock(lock, fcntl.LOCK_UN)
        os.close(lock)
    assert _pending(db) == ["1"]
    # Nothing that travels with the artifact holds staging: no raw rows left behind.
    leftovers = [p for p in run.rglob("*") if p.name.startswith((".train-", "modelci-"))]
    assert leftovers == []
    manifest = run / "manifest.json"
    assert not manifest.exists() or '"train"' not in manifest.read_text()
    staged = list((tmp_path / "tmp").glob(f"modelci-train-{process.pid}-*"))
    assert staged, "the killed train's staging folder is where the next train will find it"

    # the next step that meets the registry archives it, and --version cannot put it back
    refused = _modelci(base, env, "promote", "--version", "1", "--force", "--reason", "try")
    assert refused.returncode == 1, refused.stderr
    assert "warning: archived bc version 1: run" in refused.stdout
    assert "version 1 was archived" in refused.stderr

    again = _modelci(base, env, "train")
    assert again.returncode == 0, again.stderr
    client = _client(db)
    archived = client.get_model_version("bc", "1")
    assert archived.tags["modelci.state"] == "orphaned"
    assert client.get_run(archived.run_id).data.tags["modelci.state"] == "orphaned"
    assert client.get_model_version("bc", "2").tags["modelci.state"] == "ready"
    assert not list((tmp_path / "tmp").glob(f"modelci-train-{process.pid}-*"))
    forced_back = _modelci(base, env, "promote", "--version", "1")
    assert forced_back.returncode == 1
    assert "was archived" in forced_back.stderr


def test_a_pending_version_the_run_folder_records_is_adopted(tmp_path: Path) -> None:
    base = tmp_path / "project"
    db, env = _project(base)
    assert _modelci(base, env, "train").returncode == 0
    client = _client(db)
    # as if train died between writing the manifest and marking the version ready
    client.set_model_version_tag("bc", "1", "modelci.state", "pending")
    client.set_model_version_tag("bc", "1", "modelci.owner", f"{os.uname().nodename}:999999:0")
    promoted = _modelci(base, env, "promote", "--version", "1", "--dry-run")
    assert "adopted bc version 1" in promoted.stdout + promoted.stderr
    assert client.get_model_version("bc", "1").tags["modelci.state"] == "ready"
