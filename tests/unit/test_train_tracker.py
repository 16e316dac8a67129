"""The tracking worker: errors keep their meaning across the process boundary, a worker
nobody needs is stopped, and the step's own process never loads MLflow."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from modelci.errors import InfraError, InputError
from modelci.registry.connection import RetryPolicy
from modelci.registry.location import embedded
from modelci.training import tracker as tracker_mod
from modelci.training.tracker import (
    LocalTracker,
    TrackerCrashed,
    WorkerTracker,
    prestarted,
    running,
    usable_cpus,
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith(("MLFLOW_", "MODELCI_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MODELCI_HOME", str(tmp_path / "home"))
    return tmp_path


@pytest.mark.parametrize("mode", ["always", "never"])
def test_errors_keep_their_exit_code_and_crashes_say_what(home: Path, mode: str) -> None:
    target = embedded(home / "run")
    with running(target, RetryPolicy(), mode) as tracker:
        assert isinstance(tracker, WorkerTracker if mode == "always" else LocalTracker)
        opened = tracker.call("start", experiment="exp", run_name="r", tags={"k": "v"})
        run_id = opened["run_id"]
        # modelci's own error: same class of exit, same one-line message
        with pytest.raises(InputError, match=r"^train.command: the command logged no model to "):
            tracker.call("command_model", experiment_id=opened["experiment_id"], run_id=run_id,
                         where="train.command")  # fmt: skip
        with pytest.raises(TrackerCrashed, match="unknown tracking operation 'drop_tables'"):
            tracker.call("drop_tables")
        # answers are kept: asking again raises again, the tracker still serves
        ticket = tracker.submit("log", run_id=run_id, params={"alpha": "0.5"}, metrics={"m": 1.0})
        assert tracker.result(ticket) is None and tracker.result(ticket) is None
        tracker.call("fail", run_id=run_id, model_name="exp")
    from mlflow import MlflowClient

    run = MlflowClient(target.uri).get_run(run_id)
    assert run.data.params == {"alpha": "0.5"} and run.data.metrics == {"m": 1.0}
    assert run.data.tags["k"] == "v"
    assert run.info.status == "FAILED"


def test_a_worker_that_dies_is_an_infrastructure_error(home: Path) -> None:
    target = embedded(home / "run")

    def start_after_a_kill() -> None:
        with running(target, RetryPolicy(), "always") as tracker:
            tracker._process.kill()
            tracker.call("start", experiment="exp", run_name="r", tags={})

    with pytest.raises(InfraError, match=r"tracking worker stopped unexpectedly \(exit code -9\)"):
        start_after_a_kill()


def test_a_step_that_fails_before_tracking_stops_the_worker_at_once(home: Path) -> None:
    target = embedded(home / "run")
    processes: list[subprocess.Popen[str]] = []

    def fail_on_bad_data() -> None:
        with running(target, RetryPolicy(), "always") as tracker:
            processes.append(tracker._process)
            raise InputError("bad data")

    with pytest.raises(InputError, match="bad data"):
        fail_on_bad_data()
    # stopped by SIGTERM (through its handler, or before it was installed), not left to finish
    assert processes[0].returncode in (128 + signal.SIGTERM, -signal.SIGTERM)
    assert not (home / "run" / "mlflow.db").exists()  # nothing was written


def test_a_prestarted_worker_is_taken_by_the_step_or_stopped(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tracker_mod, "usable_cpus", lambda: 2.0)  # as on a 1-CPU runner too
    with prestarted():
        waiting = tracker_mod._waiting[-1]
    assert waiting.wait(timeout=10) is not None
    assert waiting not in tracker_mod._waiting

    target = embedded(home / "run")
    with prestarted():
        waiting = tracker_mod._waiting[-1]
        with running(target, RetryPolicy(), "always") as tracker:
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
    target = embedded(home / "run")
    with running(target, RetryPolicy(), "always") as tracker:
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
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "MODELCI_TRAIN__TRACKING__WORKER": "always"},
    )  # fmt: skip
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome == {"code": 0, "loaded": []}, done.stderr[-2000:]
    assert (home / "run" / "train" / "model" / "MLmodel").is_file()


def test_in_process_tracking_gives_the_same_registered_model(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sklearn.datasets import load_iris

    from modelci.cli import run

    data = home / "iris.csv"
    load_iris(as_frame=True).frame.to_csv(data, index=False)
    facts = {}
    for mode in ("never", "always"):
        monkeypatch.setenv("MODELCI_TRAIN__TRACKING__WORKER", mode)
        work = home / mode
        code = run(["--workdir", str(work), "train", str(data), "--target", "target",
                    "--estimator", "sklearn.tree.DecisionTreeClassifier",
                    "--model-name", "iris"])  # fmt: skip
        assert code == 0
        facts[mode] = json.loads((work / "manifest.json").read_text())["train"]
    assert facts["never"]["model_digest"] == facts["always"]["model_digest"]
    assert facts["never"]["metrics"] == facts["always"]["metrics"]
    assert facts["never"]["model_uri"] == facts["always"]["model_uri"] == "models:/iris/1"


def test_a_worker_started_early_is_dropped_when_the_settings_say_never(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tracker_mod, "usable_cpus", lambda: 2.0)
    target = embedded(home / "run")
    with prestarted():
        waiting = list(tracker_mod._waiting)
        assert waiting
        with running(target, RetryPolicy(), "never") as tracker:
            assert isinstance(tracker, LocalTracker)
            assert all(p.returncode is not None for p in waiting)


@pytest.mark.parametrize(
    ("cpu_max", "quota"),
    [("max 100000\n", None), ("50000 100000\n", 0.5), ("400000 100000\n", 4.0), ("", None)],
)
def test_usable_cpus_honours_a_container_quota(
    tmp_path: Path, cpu_max: str, quota: float | None
) -> None:
    cgroup = tmp_path / "cpu.max"
    cgroup.write_text(cpu_max)
    affinity = len(os.sched_getaffinity(0))
    assert usable_cpus(cgroup) == (affinity if quota is None else min(affinity, quota))
    assert usable_cpus(tmp_path / "missing") == affinity
