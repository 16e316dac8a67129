"""`modelci train` against a real `mlflow server` (sqlite backend, served artifact root)."""

from __future__ import annotations

import json
import shlex
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliRunner
from tests.integration.conftest import MlflowServer

pytestmark = pytest.mark.integration

GITHUB = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
    "GITHUB_REF_NAME": "feature/better-model",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "acme/churn",
    "GITHUB_RUN_ID": "4242",
}


@pytest.fixture(scope="module")
def bc_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sklearn.datasets import load_breast_cancer

    path = tmp_path_factory.mktemp("data") / "bc.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(path, index=False)
    return path


def _client(server: MlflowServer) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(server.uri, registry_uri=server.uri)


def _manifest(work: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((work / "manifest.json").read_text())
    return data


def test_declarative_run_is_tracked_and_registered_on_the_server(
    run_cli: CliRunner, mlflow_server: MlflowServer, bc_csv: Path, tmp_path: Path
) -> None:
    work = tmp_path / "run"
    result = run_cli(
        "--workdir", str(work), "train", str(bc_csv), "--target", "target",
        "--estimator", "sklearn.linear_model.LogisticRegression", "--params", '{"max_iter": 200}',
        "--model-name", "bc-server",
        env={"MLFLOW_TRACKING_URI": mlflow_server.uri, "MODELCI_HOME": str(tmp_path / "home"),
             **GITHUB},
    )  # fmt: skip
    assert result.code == 0, result.err
    facts = _manifest(work)["train"]
    assert facts["tracking_uri"] == mlflow_server.uri
    assert not (work / "mlflow.db").exists()  # nothing embedded when a server is given

    client = _client(mlflow_server)
    run = client.get_run(facts["run_id"])
    tags = run.data.tags
    assert tags["mlflow.source.git.commit"] == GITHUB["GITHUB_SHA"]
    assert tags["modelci.git.branch"] == "feature/better-model"
    assert tags["modelci.ci.run_url"] == "https://github.com/acme/churn/actions/runs/4242"
    assert tags["modelci.ci.provider"] == "github"
    assert run.data.metrics["roc_auc"] == pytest.approx(facts["metrics"]["roc_auc"])
    assert run.data.params["estimator"] == "sklearn.linear_model.LogisticRegression"

    (dataset_input,) = run.inputs.dataset_inputs
    assert dataset_input.dataset.digest == facts["data_digest"].removeprefix("sha256:")[:32]
    assert json.loads(dataset_input.dataset.source)["uri"].endswith("bc.csv")
    assert {t.key: t.value for t in dataset_input.tags}["modelci.digest"] == facts["data_digest"]

    version = client.get_model_version("bc-server", facts["model_version"])
    assert version.status == "READY"
    assert version.run_id == facts["run_id"]
    assert version.tags["modelci.run_id"] == facts["run_id"]
    assert version.tags["modelci.git.commit"] == GITHUB["GITHUB_SHA"]
    assert version.tags["modelci.model.digest"] == facts["model_digest"]
    assert version.tags["modelci.ci.run_url"].endswith("/runs/4242")

    # the artifacts went through the server into its artifact store
    assert any(mlflow_server.artifacts.rglob("model.skops"))
    import mlflow.pyfunc

    loaded = mlflow.pyfunc.load_model(f"models:/bc-server/{facts['model_version']}")
    assert loaded.metadata.get_input_schema().input_names()[0] == "mean radius"

    # a second run registers the next version of the same model
    again = run_cli(
        "--workdir", str(tmp_path / "again"), "train", str(bc_csv), "--target", "target",
        "--estimator", "sklearn.tree.DecisionTreeClassifier", "--model-name", "bc-server",
        env={"MLFLOW_TRACKING_URI": mlflow_server.uri, "MODELCI_HOME": str(tmp_path / "home")},
    )  # fmt: skip
    assert again.code == 0, again.err
    second = _manifest(tmp_path / "again")["train"]
    assert int(second["model_version"]) == int(facts["model_version"]) + 1


def test_script_mode_against_the_server(
    run_cli: CliRunner, mlflow_server: MlflowServer, bc_csv: Path, tmp_path: Path
) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent("""
        import os, pandas as pd
        from sklearn.tree import DecisionTreeClassifier
        df = pd.read_csv(os.environ["MODELCI_DATA_PATH"])
        y = df.pop(os.environ["MODELCI_TARGET"])
        DecisionTreeClassifier(max_depth=2, random_state=0).fit(df, y)
    """)
    )
    config = tmp_path / "modelci.yaml"
    config.write_text(
        f"version: 1\ndata:\n  path: {bc_csv}\n  target: target\n"
        f"train:\n  command: {shlex.quote(sys.executable)} {script}\n"
        "registry:\n  model_name: bc-script\n"
    )
    work = tmp_path / "run"
    result = run_cli(
        "--workdir", str(work), "--config", str(config), "train",
        env={"MLFLOW_TRACKING_URI": mlflow_server.uri, "MODELCI_HOME": str(tmp_path / "home")},
    )  # fmt: skip
    assert result.code == 0, result.err
    facts = _manifest(work)["train"]
    client = _client(mlflow_server)
    version = client.get_model_version("bc-script", facts["model_version"])
    assert version.run_id == facts["run_id"]
    assert client.get_run(facts["run_id"]).data.params["max_depth"] == "2"
    assert "accuracy" in facts["metrics"]
