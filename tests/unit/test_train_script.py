"""`modelci train --command`: the team's own script, unchanged, inside modelci's MLflow run."""

from __future__ import annotations

import json
import shlex
import sys
import textwrap
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.conftest import CliResult, CliRunner

PYTHON = shlex.quote(sys.executable)

#: a training script that knows nothing of MLflow: autologging must capture its model
PLAIN_SCRIPT = """
    import json, os, sys
    import pandas as pd
    from sklearn.tree import DecisionTreeClassifier

    seen = {k: os.environ.get(k) for k in ("MLFLOW_RUN_ID", "MODELCI_RUN_ID",
            "MODELCI_RUN_FOLDER", "MLFLOW_TRACKING_URI", "MODELCI_AUTOLOG")}
    with open("seen.json", "w") as f:
        json.dump(seen, f)
    df = pd.read_csv(os.environ["MODELCI_DATA_PATH"])
    y = df.pop(os.environ["MODELCI_TARGET"])
    depth = int(sys.argv[1])
    DecisionTreeClassifier(max_depth=depth, random_state=0).fit(df, y)
    print("trained with depth", depth)
"""

#: a script that does its own MLflow logging, as most teams' scripts already do
MLFLOW_SCRIPT = """
    import mlflow, mlflow.sklearn, pandas as pd
    from sklearn.linear_model import LogisticRegression

    df = pd.read_csv("data.csv")
    y = df.pop("target")
    with mlflow.start_run() as run:
        model = LogisticRegression(max_iter=200).fit(df, y)
        mlflow.log_metric("train_acc", model.score(df, y))
        mlflow.sklearn.log_model(model, name="clf", serialization_format="skops",
                                 pip_requirements=["scikit-learn"])
        print("run", run.info.run_id)
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sklearn.datasets import load_breast_cancer

    folder = tmp_path_factory.mktemp("script-project")
    load_breast_cancer(as_frame=True).frame.to_csv(folder / "data.csv", index=False)
    (folder / "train_plain.py").write_text(textwrap.dedent(PLAIN_SCRIPT))
    (folder / "train_mlflow.py").write_text(textwrap.dedent(MLFLOW_SCRIPT))
    return folder


def train(run_cli: CliRunner, project: Path, work: Path, *args: str, **env: str) -> CliResult:
    home = str(project / ".home")
    return run_cli("--workdir", str(work), "train", *args, env={"MODELCI_HOME": home, **env})


def manifest(work: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((work / "manifest.json").read_text())
    return data


@pytest.mark.slow  # the script's own Python imports MLflow and autologs (~10 s)
def test_unchanged_script_is_autologged_and_registered(
    run_cli: CliRunner, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    work = tmp_path / "run"
    command = f"{PYTHON} train_plain.py 3"
    result = train(run_cli, project, work, "data.csv", "--target", "target",
                   "--model-name", "scripted", "--command", command)  # fmt: skip
    assert result.code == 0, result.err
    assert "trained with depth 3" in result.out  # the script's output is streamed
    facts = manifest(work)["train"]
    seen = json.loads((project / "seen.json").read_text())
    assert seen["MLFLOW_RUN_ID"] == seen["MODELCI_RUN_ID"] == facts["run_id"]
    assert seen["MODELCI_RUN_FOLDER"] == str(work.resolve())
    assert seen["MLFLOW_TRACKING_URI"] == f"sqlite:///{work.resolve() / 'mlflow.db'}"
    assert seen["MODELCI_AUTOLOG"] is None  # consumed, so grandchildren do not autolog
    assert facts["model_uri"] == "models:/scripted/1"
    assert facts["task"] == "classification" and facts["classes"] == [0, 1]
    # autolog's own metrics, and modelci's holdout metrics under the plain names
    assert "training_accuracy_score" in facts["metrics"]
    assert 0.8 < facts["metrics"]["accuracy"] <= 1
    assert facts["params"]["max_depth"] == "3"
    assert (work / "train/model/MLmodel").is_file()
    predictions = pq.read_table(work / facts["predictions"])
    assert predictions.column_names == ["__row", "y_true", "y_pred", "proba_0", "proba_1"]
    assert predictions.num_rows == 114

    from mlflow import MlflowClient

    uri = f"sqlite:///{work.resolve() / 'mlflow.db'}"
    client = MlflowClient(uri, registry_uri=uri)
    run = client.get_run(facts["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.tags["modelci.mode"] == "command"
    assert run.data.metrics["holdout_accuracy"] == pytest.approx(facts["metrics"]["accuracy"])
    assert client.get_model_version("scripted", "1").run_id == facts["run_id"]
    # one run only: the script's fit went into modelci's run, not a run of its own
    assert len(client.search_runs([facts["experiment_id"]])) == 1


@pytest.mark.slow
def test_script_with_its_own_start_run_resumes_modelcis_run(
    run_cli: CliRunner, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    work = tmp_path / "run"
    result = train(run_cli, project, work, "--command", f"{PYTHON} train_mlflow.py",
                   MODELCI_TRAIN__AUTOLOG="false")  # fmt: skip
    assert result.code == 0, result.err
    facts = manifest(work)["train"]
    assert f"run {facts['run_id']}" in result.out
    assert "train_acc" in facts["metrics"]
    # no data.path/target configured: nothing to evaluate on, so no holdout files
    assert "predictions" not in facts and facts.get("task") is None


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (f"{PYTHON} -c \"import sys; print('loading'); print('bad epochs'); sys.exit(4)\"",
         "exited with code 4; last output: bad epochs"),
        (f"{PYTHON} -c \"print('nothing logged')\"", "the command logged no model to MLflow run"),
        ("no-such-training-binary --epochs 3", "cannot start 'no-such-training-binary'"),
        ("python 'unbalanced", "cannot parse"),
    ],
)  # fmt: skip
def test_failing_commands_are_exit_2_and_register_nothing(
    run_cli: CliRunner, project: Path, tmp_path: Path, command: str, message: str
) -> None:
    work = tmp_path / "run"
    result = train(run_cli, project, work, "--command", command, "--model-name", "never",
                   MODELCI_TRAIN__AUTOLOG="false")  # fmt: skip
    assert result.code == 2
    assert message in result.err
    assert result.err.count("\n") == 1
    assert "--command:" in result.err
    from mlflow import MlflowClient

    uri = f"sqlite:///{work.resolve() / 'mlflow.db'}"
    client = MlflowClient(uri, registry_uri=uri)
    assert client.search_registered_models() == []
    runs = client.search_runs([client.get_experiment_by_name("never").experiment_id])
    assert [r.info.status for r in runs] == ["FAILED"]


def test_autolog_hook_hands_over_to_the_environments_own_sitecustomize(tmp_path: Path) -> None:
    import os
    import subprocess

    from modelci.training.script import AUTOLOG_DIR, child_env

    theirs = tmp_path / "site"
    theirs.mkdir()
    (theirs / "sitecustomize.py").write_text("import os\nos.environ['THEIRS_RAN'] = 'yes'\n")
    env = child_env(
        {**os.environ, "PYTHONPATH": str(theirs)},
        tracking_uri="sqlite:///x.db", run_id="r1", experiment_id="1",
        run_folder=tmp_path, autolog=False,
    )  # fmt: skip
    env["PYTHONPATH"] = os.pathsep.join([str(AUTOLOG_DIR), env["PYTHONPATH"]])
    probe = "import os, sys; print(os.environ.get('THEIRS_RAN'), 'mlflow' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                          text=True, check=True)  # fmt: skip
    # theirs still runs; without MODELCI_AUTOLOG=1 the hook does not even import MLflow
    assert done.stdout.split() == ["yes", "False"]
    assert env["MLFLOW_RUN_ID"] == env["MODELCI_RUN_ID"] == "r1"
    assert env["MLFLOW_TRACKING_URI"] == env["MLFLOW_REGISTRY_URI"] == "sqlite:///x.db"
    assert "MODELCI_AUTOLOG" not in env
