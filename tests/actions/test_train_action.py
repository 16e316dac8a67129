"""actions/train and gitlab-templates/train.yml, run for real on breast_cancer.

Each run must track into its own run folder's sqlite store, so every test expects version 1
of ``bc``. Anything that points MLflow elsewhere (an MLFLOW_TRACKING_URI left in this
process by in-process mlflow calls, and inherited by the runs) would show as version 4, 5...
against another test's registry: the ``clean_env`` fixture drops MLFLOW_* first, and each
test checks which store the run used.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.actions.ghrunner import Runner
from tests.actions.gitlabci import make_project, run_pipeline
from tests.actions.harness import REPO

pytestmark = [pytest.mark.actions, pytest.mark.slow, pytest.mark.usefixtures("clean_env")]

INPUTS = {
    "data": "bc.csv",
    "target": "target",
    "estimator": "sklearn.tree.DecisionTreeClassifier",
    "params": '{"max_depth": 3}',
    "model-name": "bc",
}


def _data(folder: Path) -> Path:
    from sklearn.datasets import load_breast_cancer

    folder.mkdir(parents=True, exist_ok=True)
    load_breast_cancer(as_frame=True).frame.to_csv(folder / "bc.csv", index=False)
    return folder


def test_train_action_registers_a_model(runner: Runner, action_checkout: Path) -> None:
    _data(runner.workspace)
    run = runner.run(action_checkout / "actions" / "train", INPUTS)

    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.outputs["passed"] == "true"
    assert run.outputs["model-uri"] == "models:/bc/1"
    assert run.outputs["model-version"] == "1"
    assert run.outputs["model-digest"].startswith("sha256:")
    metrics = json.loads(run.outputs["metrics"])
    assert 0.85 < metrics["accuracy"] <= 1
    manifest = json.loads((runner.workspace / ".modelci" / "manifest.json").read_text())
    assert manifest["train"]["run_id"] == run.outputs["run-id"]
    assert manifest["train"]["model_digest"] == run.outputs["model-digest"]
    store = runner.workspace.resolve() / ".modelci" / "mlflow.db"
    assert manifest["train"]["tracking_uri"] == f"sqlite:///{store}"
    assert store.is_file()
    assert (runner.workspace / run.outputs["report"]).is_file()
    assert "## modelci train" in run.summary and "models:/bc/1" in run.summary
    # train's own extras (MLflow, scikit-learn): a venv of its own, beside validate-data's
    install = next(s for s in run.steps if s.id == "install")
    assert install.outcome == "success"
    assert "[train]" in install.stdout or "reusing" in install.stdout


def test_train_action_bad_estimator_is_exit_2(runner: Runner, action_checkout: Path) -> None:
    _data(runner.workspace)
    run = runner.run(
        action_checkout / "actions" / "train",
        {**INPUTS, "estimator": "sklearn.tree.DecisionTreeClasifier"},
    )

    assert run.exit_code == 2
    assert run.failed_step is not None and run.failed_step.id == "run"
    assert "has no 'DecisionTreeClasifier'" in run.stderr + run.stdout
    assert not (runner.workspace / ".modelci" / "mlflow.db").exists()


def test_train_action_refuses_a_bad_task_before_installing(
    runner: Runner, action_checkout: Path
) -> None:
    run = runner.run(action_checkout / "actions" / "train", {**INPUTS, "task": "clustering"})

    assert run.exit_code == 2
    assert run.failed_step is not None and run.failed_step.id == "setup"
    messages = " ".join(a.message for a in run.annotations)
    assert "input 'task' must be one of auto, classification, regression" in messages


def test_train_template_job_with_gitlab_reports(tmp_path: Path, modelci_bin: Path) -> None:
    folder = _data(tmp_path / "p")
    gitlab = make_project(folder, REPO / "gitlab-templates" / "train.yml", INPUTS)

    run = run_pipeline(gitlab, [modelci_bin])

    job = "modelci-train"
    assert run.passed(job), run.output
    out = run.artifacts(job) / ".modelci"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["train"]["model_uri"] == "models:/bc/1"
    assert (out / "mlflow.db").is_file() and (out / "train" / "model" / "MLmodel").is_file()
    dotenv = (out / "train" / "outputs.env").read_text().splitlines()
    assert "MODELCI_TRAIN_MODEL_VERSION=1" in dotenv
    assert 'failures="0"' in (out / "train" / "junit.xml").read_text()
    assert "accuracy" in (out / "train" / "metrics.txt").read_text()
    assert manifest["train"]["run_id"] in run.job_log(job)
    # the MLflow run is tagged with the pipeline's commit and job
    import subprocess

    from mlflow import MlflowClient

    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, check=True,
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    # both URIs given: this process's mlflow may still point at another test's registry
    store = f"sqlite:///{out / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=store, registry_uri=store)
    assert client.get_model_version("bc", "1").run_id == manifest["train"]["run_id"]
    tags = client.get_run(manifest["train"]["run_id"])
    assert tags.data.tags["modelci.git.commit"] == head
    assert tags.data.tags["modelci.ci.provider"] == "gitlab"
