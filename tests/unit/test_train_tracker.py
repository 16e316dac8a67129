"""The tracking worker: errors keep their meaning across the process boundary, a worker
nobody needs is stopped, and the step's own process never loads MLflow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelci.errors import InfraError, InputError
from modelci.training import tracker as tracker_mod
from modelci.training.tracker import Tracker, TrackerCrashed, prestarted
from modelci.training.tracking import RetryPolicy, resolve_target


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith(("MLFLOW_", "MODELCI_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MODELCI_HOME", str(tmp_path / "home"))
    return tmp_path


def test_errors_keep_their_exit_code_and_crashes_say_what(home: Path) -> None:
    target = resolve_target(None, "", home / "run", {})
    with Tracker.running(target, RetryPolicy()) as tracker:
        opened = tracker.call("start", experiment="exp", run_name="r", tags={"k": "v"})
        run_id = opened["run_id"]
        # modelci's own error in the worker: same class of exit, same one-line message
        with pytest.raises(InputError, match=r"^train.command: the command logged no model to "):
            tracker.call("command_model", experiment_id=opened["experiment_id"], run_id=run_id,
                         where="train.command")  # fmt: skip
        with pytest.raises(TrackerCrashed, match="unknown tracking operation 'drop_tables'"):
            tracker.call("drop_tables")
        # answers are kept: asking again raises again, the worker still serves
        ticket = tracker.submit("log", run_id=run_id, params={"alpha": "0.5"}, metrics={"m": 1.0})
        assert tracker.result(ticket) is None and tracker.result(ticket) is None
        tracker.call("fail", run_id=run_id, model_name="exp")
    from mlflow import MlflowClient

    run = MlflowClient(target.uri).get_run(run_id)
    assert run.data.params == {"alpha": "0.5"} and run.data.metrics == {"m": 1.0}
    assert run.data.tags["k"] == "v"
    assert run.info.status == "FAILED"


def test_a_worker_that_dies_is_an_infrastructure_error(home: Path) -> None:
    target = resolve_target(None, "", home / "run", {})

    def start_after_a_kill() -> None:
        with Tracker.running(target, RetryPolicy()) as tracker:
            tracker._process.kill()
            tracker.call("start", experiment="exp", run_name="r", tags={})

    with pytest.raises(InfraError, match=r"tracking worker stopped unexpectedly \(exit code -9\)"):
        start_after_a_kill()


def test_a_step_that_fails_before_tracking_stops_the_worker_at_once(home: Path) -> None:
    target = resolve_target(None, "", home / "run", {})
    processes: list[subprocess.Popen[str]] = []

    def fail_on_bad_data() -> None:
        with Tracker.running(target, RetryPolicy()) as tracker:
            processes.append(tracker._process)
            raise InputError("bad data")

    started = time.monotonic()
    with pytest.raises(InputError, match="bad data"):
        fail_on_bad_data()
    assert processes[0].returncode is not None
    assert time.monotonic() - started < 10
    assert not (home / "run" / "mlflow.db").exists()  # nothing was written


def test_a_prestarted_worker_is_taken_by_the_step_or_stopped(home: Path) -> None:
    with prestarted():
        waiting = tracker_mod._waiting[-1]
    assert waiting.wait(timeout=10) is not None
    assert waiting not in tracker_mod._waiting

    target = resolve_target(None, "", home / "run", {})
    with prestarted():
        waiting = tracker_mod._waiting[-1]
        with Tracker.running(target, RetryPolicy()) as tracker:
            assert tracker._process is waiting
            assert tracker.call("start", experiment="e", run_name="r", tags={})["run_id"]
        assert waiting.returncode == 0  # closed after its work, not killed


def test_what_a_sitecustomize_prints_goes_to_the_log_not_the_protocol(
    home: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    site = home / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("print('hello from sitecustomize', flush=True)\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    target = resolve_target(None, "", home / "run", {})
    with Tracker.running(target, RetryPolicy()) as tracker:
        assert tracker.call("start", experiment="e", run_name="r", tags={})["run_id"]
    assert "hello from sitecustomize" in capfd.readouterr().err


def test_the_step_process_never_loads_mlflow_in_declarative_mode(home: Path) -> None:
    from sklearn.datasets import load_iris

    data = home / "iris.csv"
    load_iris(as_frame=True).frame.to_csv(data, index=False)
    probe = (
        "import json, sys\n"
        "from modelci.cli import run\n"
        "code = run(sys.argv[1:])\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'mlflow', 'sqlalchemy', "
        "'alembic'})\n"
        "print(json.dumps({'code': code, 'loaded': loaded}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, "--workdir", str(home / "run"), "train", str(data),
         "--target", "target", "--estimator", "sklearn.tree.DecisionTreeClassifier"],
        capture_output=True, text=True, timeout=300, env=dict(os.environ), check=False,
    )  # fmt: skip
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome == {"code": 0, "loaded": []}, done.stderr[-2000:]
    assert (home / "run" / "train" / "model" / "MLmodel").is_file()
