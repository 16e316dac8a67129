"""Fixtures for running the actions and GitLab templates for real.

Expensive things happen once per test session and are shared by pytest-xdist workers
through a folder beside the workers' own temp folders, guarded by a file lock:
- a snapshot of the action's checkout (what the runner fetches for ``uses: .../modelci@tag``),
  so edits to the working tree during a run do not change the source hash mid-session;
- the runner tool cache holding the virtual environment the actions install (about a
  minute and a half the first time; every later action run reuses it).
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.actions.ghrunner import Runner
from tests.actions.harness import REPO, clean_env, write_project


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    base = tmp_path_factory.getbasetemp()
    # Under xdist every worker has its own basetemp inside one common folder.
    root = base if worker_id == "master" else base.parent
    shared = root / "modelci-actions-shared"
    shared.mkdir(exist_ok=True)
    return shared


@contextmanager
def locked(path: Path) -> Iterator[None]:
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_CHECKOUT_PARTS = ("action.yml", "actions", "pyproject.toml", "src", "README.md", "LICENSE")


@pytest.fixture(scope="session")
def action_checkout(shared_dir: Path) -> Path:
    """A snapshot of the repository as the runner would check out the action."""
    target = shared_dir / "checkout"
    with locked(shared_dir / "checkout.lock"):
        if not (target / ".complete").exists():
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
            for part in _CHECKOUT_PARTS:
                src = REPO / part
                if src.is_dir():
                    shutil.copytree(src, target / part, ignore=ignore)
                elif src.is_file():
                    shutil.copy2(src, target / part)
            (target / ".complete").touch()
    return target


@pytest.fixture(scope="session")
def tool_cache(shared_dir: Path, action_checkout: Path) -> Path:
    """The runner tool cache, with modelci installed by the action itself once per session."""
    cache = shared_dir / "toolcache"
    with locked(shared_dir / "toolcache.lock"):
        if not (cache / ".warm").exists():
            cache.mkdir(exist_ok=True)
            work = shared_dir / "warmup"
            runner = Runner(work / "ws", work / "tmp", cache, clean_env())
            runner.workspace.mkdir(parents=True, exist_ok=True)
            runner.temp.mkdir(parents=True, exist_ok=True)
            run = runner.run(action_checkout / "actions" / "validate-data", {"data": "none.csv"})
            install = next(s for s in run.steps if s.id == "install")
            assert install.outcome == "success", install.stdout + install.stderr
            (cache / ".warm").touch()
    return cache


@pytest.fixture
def runner(tmp_path: Path, tool_cache: Path) -> Runner:
    """A fresh job: its own workspace (with the tiny project) and runner temp."""
    workspace = write_project(tmp_path / "workspace")
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    return Runner(workspace, temp, tool_cache, clean_env())


@pytest.fixture(scope="session")
def modelci_bin(shared_dir: Path, action_checkout: Path) -> Path:
    """The bin folder of a modelci with every extra, installed by the actions' install script
    (an installed modelci on PATH, as a runner image with modelci would have)."""
    folder = shared_dir / "all-extras"
    with locked(shared_dir / "all-extras.lock"):
        if not (folder / ".warm").exists():
            output = folder / "github-output"
            folder.mkdir(exist_ok=True)
            env = {
                **clean_env(),
                "ACTION_PYTHON": sys.executable,
                "ACTION_CACHE_DIR": str(folder / "venv"),
                "ACTION_VERSION": "0.1.0",
                "ACTION_EXTRAS": "all",
                "GITHUB_OUTPUT": str(output),
            }
            script = action_checkout / "actions" / "_shared" / "install.sh"
            done = subprocess.run(
                ["bash", str(script)], env=env, capture_output=True, text=True, check=False
            )
            assert done.returncode == 0, done.stdout + done.stderr
            (folder / ".warm").touch()
    found = sorted(folder.glob("venv/active/bin/modelci"))
    assert found, f"no installed modelci under {folder}"
    return found[0].parent
