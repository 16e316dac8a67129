"""A train step that is stopped (train.timeout, SIGTERM from a cancelled CI job, Ctrl-C):
the team's command goes with its whole process group, the MLflow run is marked KILLED, no
model version is left, staging is removed, and the run folder stays as it was."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from modelci.errors import InputError
from modelci.training import deadline
from tests.conftest import CliRunner

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")

#: a training command that starts a helper of its own, says so, then takes forever
SLOW_SCRIPT = """
    import os, subprocess, sys, time
    helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    with open(sys.argv[1], "w") as f:
        f.write(f"{os.getpid()} {helper.pid}")
    print("training...", flush=True)
    time.sleep(600)
"""


def _client(work: Path) -> Any:
    from mlflow import MlflowClient

    uri = f"sqlite:///{work.resolve() / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes: it only waits for its parent to read its status
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def _gone(*pids: int, within: float = 30.0) -> bool:
    deadline_at = time.monotonic() + within
    while any(_alive(pid) for pid in pids):
        if time.monotonic() > deadline_at:
            return False
        time.sleep(0.1)
    return True


def _project(tmp_path: Path) -> tuple[Path, Path, str]:
    script = tmp_path / "slow_train.py"
    script.write_text(textwrap.dedent(SLOW_SCRIPT))
    pids = tmp_path / "pids.txt"
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} {shlex.quote(str(pids))}"
    return script, pids, command


def _assert_killed_and_clean(work: Path, model_name: str, pids: Path, staging_root: Path) -> None:
    client = _client(work)
    experiment = client.get_experiment_by_name(model_name)
    runs = client.search_runs([experiment.experiment_id])
    assert [r.info.status for r in runs] == ["KILLED"]
    assert client.search_model_versions(f"name = '{model_name}'") == []
    assert not (work / "manifest.json").exists()
    command_pid, helper_pid = map(int, pids.read_text().split())
    assert _gone(command_pid, helper_pid), "the command's process group outlived the step"
    assert list(staging_root.glob("modelci-train-*")) == []


def test_train_timeout_stops_the_command_and_its_group_and_kills_the_run(
    run_cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, pids, command = _project(tmp_path)
    staging_root = tmp_path / "tmp"
    staging_root.mkdir()
    monkeypatch.setenv("TMPDIR", str(staging_root))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    work = tmp_path / "run"
    home = str(tmp_path / "home")
    from modelci.registry.store import template

    # Built (and MLflow imported) beforehand, so the limit is spent in the command.
    assert template({"MODELCI_HOME": home}) is not None
    started = time.monotonic()
    result = run_cli(
        "--workdir", str(work), "train", "--command", command, "--model-name", "slow",
        env={"MODELCI_HOME": home, "MODELCI_TRAIN__TIMEOUT": "8",
             "MODELCI_TRAIN__AUTOLOG": "false"},
    )  # fmt: skip
    assert time.monotonic() - started < 120
    assert result.code == 2, result.err
    assert result.err.count("\n") == 1
    assert result.err.startswith("modelci: error: MODELCI_TRAIN__TIMEOUT: the train step ran past ")
    assert "train.timeout (8 s)" in result.err
    assert "training..." in result.out  # the command had started
    _assert_killed_and_clean(work, "slow", pids, staging_root)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_command_and_kills_the_run(tmp_path: Path, stop: int) -> None:
    _, pids, command = _project(tmp_path)
    staging_root = tmp_path / "tmp"
    staging_root.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELCI_", "MLFLOW_"))}
    for name in ("CI", "GITHUB_ACTIONS", "GITLAB_CI"):
        env.pop(name, None)
    env.update(
        {"TMPDIR": str(staging_root), "MODELCI_HOME": str(tmp_path / "home"),
         "MODELCI_TRAIN__AUTOLOG": "false"}
    )  # fmt: skip
    work = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "modelci", "--workdir", str(work), "train", "--command", command,
         "--model-name", "stopped"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        give_up = time.monotonic() + 300
        while not (pids.exists() and pids.read_text().strip()):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < give_up, "the command never started"
            time.sleep(0.1)
        process.send_signal(stop)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1] == "modelci: aborted"
    assert "Traceback" not in err
    _assert_killed_and_clean(work, "stopped", pids, staging_root)


def _sleep_in(limit: float, unwound: list[str]) -> None:
    with deadline.limit(limit, "modelci.yaml: train.timeout"):
        try:
            time.sleep(30)
        finally:
            unwound.append("finally")


def test_an_expired_limit_unwinds_the_block_and_names_the_setting() -> None:
    unwound: list[str] = []
    started = time.monotonic()
    expected = (
        r"^modelci.yaml: train.timeout: the train step ran past train.timeout \(0.2 s\) and "
        r"was stopped; raise train.timeout"
    )
    with pytest.raises(InputError, match=expected):
        _sleep_in(0.2, unwound)
    assert unwound == ["finally"]
    assert time.monotonic() - started < 10
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_cancelled_limit_does_not_fire_and_no_limit_is_no_timer() -> None:
    with deadline.limit(0.2) as timer:
        timer.cancel()
        time.sleep(0.4)
    with deadline.limit(None):
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_timer_set_before_is_put_back() -> None:
    fired: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(signum))
    try:
        signal.setitimer(signal.ITIMER_REAL, 30)
        with deadline.limit(5):
            pass
        left = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 20 < left <= 30
        assert fired == []
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
