"""`modelci train` in declarative mode, end to end against the embedded sqlite MLflow store.

Datasets are sklearn's bundled breast_cancer (classification) and diabetes (regression),
written to CSV in a temporary folder; models are small (DecisionTree, LogisticRegression).
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from modelci.metrics import compute_metrics
from tests.conftest import CliResult, CliRunner

TREE = ("--estimator", "sklearn.tree.DecisionTreeClassifier", "--params", '{"max_depth": 3}')
LOGREG = ("--estimator", "sklearn.linear_model.LogisticRegression", "--params", '{"max_iter": 200}')


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from sklearn.datasets import load_breast_cancer, load_diabetes

    folder = tmp_path_factory.mktemp("train-data")
    bc = load_breast_cancer(as_frame=True).frame
    bc.to_csv(folder / "bc.csv", index=False)
    load_diabetes(as_frame=True).frame.to_csv(folder / "diabetes.csv", index=False)
    bc.iloc[:400].to_csv(folder / "bc-train.csv", index=False)
    bc.iloc[400:].to_csv(folder / "bc-test.csv", index=False)
    one_class = bc.assign(target=1)
    one_class.to_csv(folder / "one-class.csv", index=False)
    # Mixed kinds: an id, a categorical text column with gaps, an integer code that the
    # contract declares categorical, a string target.
    rng = np.random.default_rng(3)
    n = 240
    site = rng.choice(["north", "south", "east"], n).astype(object)
    site[rng.random(n) < 0.1] = None
    code = rng.choice([10, 20, 30], n)
    x = rng.normal(size=n)
    label = np.where((site == "north") | (x > 0.8) | (code == 30), "yes", "no")
    pd.DataFrame({"id": np.arange(1, n + 1), "site": site, "code": code, "x": x,
                  "label": label}).to_csv(folder / "mixed.csv", index=False)  # fmt: skip
    (folder / "mixed.contract.yaml").write_text(
        "version: 1\ncolumns:\n"
        "  id: {dtype: integer, unique: true}\n"
        "  site: {dtype: string}\n"
        "  code: {dtype: category}\n"
        "  x: {dtype: float}\n"
        "  label: {dtype: string}\n"
        "table:\n  primary_key: [id]\n",
        encoding="utf-8",
    )
    return {p.stem: p for p in folder.iterdir()}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("modelci-home"))


def train(run_cli: CliRunner, home: str, workdir: Path, *args: str, **env: str) -> CliResult:
    return run_cli("--workdir", str(workdir), "train", *args, env={"MODELCI_HOME": home, **env})


def manifest(workdir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((workdir / "manifest.json").read_text())
    return data


def client(workdir: Path) -> Any:
    from mlflow import MlflowClient

    uri = f"sqlite:///{workdir.resolve() / 'mlflow.db'}"
    return MlflowClient(uri, registry_uri=uri)


def test_classifier_on_breast_cancer(
    run_cli: CliRunner, home: str, data: dict[str, Path], tmp_path: Path
) -> None:
    work = tmp_path / "run"
    result = train(run_cli, home, work, str(data["bc"]), "--target", "target",
                   "--model-name", "bc", *LOGREG)  # fmt: skip
    assert result.code == 0, result.err
    assert "registered models:/bc/1" in result.out
    facts = manifest(work)["train"]
    assert facts["task"] == "classification"
    assert facts["classes"] == [0, 1]
    assert facts["model_uri"] == "models:/bc/1"
    assert facts["registered_model"] == "bc" and facts["model_version"] == "1"
    assert facts["run_model_uri"].startswith("models:/m-")
    assert facts["tracking_uri"] == f"sqlite:///{work.resolve() / 'mlflow.db'}"
    assert facts["model_path"] == "train/model"
    assert (work / "train/model/MLmodel").is_file()
    assert facts["model_digest"].startswith("sha256:") and len(facts["model_digest"]) == 71
    assert facts["params"]["max_iter"] == 200 and facts["params"]["random_state"] == 42
    assert manifest(work)["steps"]["train"] == {
        "passed": True, "finished": manifest(work)["steps"]["train"]["finished"],
        "report": "train/report.json",
    }  # fmt: skip

    # The holdout: 20 % of 569 rows, stratified, original column order plus __row.
    evaluation = pq.read_table(work / facts["eval_data"]).to_pandas()
    original = pd.read_csv(data["bc"])
    assert list(evaluation.columns) == [*original.columns, "__row"]
    assert len(evaluation) == 114
    pd.testing.assert_frame_equal(
        evaluation.drop(columns="__row").reset_index(drop=True),
        original.iloc[evaluation["__row"]].reset_index(drop=True),
        check_dtype=False,
    )
    overall = original["target"].mean()
    assert abs(evaluation["target"].mean() - overall) < 1 / 114 + 1e-9

    # Predictions: one row per holdout row; the manifest's metrics are recomputable from them.
    predictions = pq.read_table(work / facts["predictions"]).to_pandas()
    assert list(predictions.columns) == ["__row", "y_true", "y_pred", "proba_0", "proba_1"]
    assert predictions["__row"].tolist() == evaluation["__row"].tolist()
    assert predictions["y_true"].tolist() == evaluation["target"].tolist()
    np.testing.assert_allclose(predictions[["proba_0", "proba_1"]].sum(axis=1), 1.0)
    proba = predictions[["proba_0", "proba_1"]].to_numpy()
    again = compute_metrics(
        "classification", predictions["y_true"], predictions["y_pred"], proba, classes=[0, 1]
    )
    assert again == pytest.approx(facts["metrics"])
    assert set(facts["metrics"]) == {"accuracy", "balanced_accuracy", "precision", "recall",
                                     "f1", "roc_auc", "log_loss"}  # fmt: skip
    assert facts["metrics"]["accuracy"] > 0.9

    # MLflow: the run holds params, metrics, dataset and tags; the version links the run.
    mlflow_client = client(work)
    run = mlflow_client.get_run(facts["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.params["max_iter"] == "200"
    assert run.data.metrics["accuracy"] == pytest.approx(facts["metrics"]["accuracy"])
    assert run.data.tags["modelci.dataset.digest"] == facts["data_digest"]
    assert run.data.tags["modelci.model.digest"] == facts["model_digest"]
    assert run.data.tags["modelci.ci.provider"] == "local"
    inputs = run.inputs.dataset_inputs
    assert len(inputs) == 1
    assert inputs[0].dataset.digest == facts["data_digest"].removeprefix("sha256:")[:32]
    assert {t.key: t.value for t in inputs[0].tags}["modelci.digest"] == facts["data_digest"]
    version = mlflow_client.get_model_version("bc", "1")
    assert version.run_id == facts["run_id"]
    assert version.tags["modelci.run_id"] == facts["run_id"]
    assert version.tags["modelci.model.digest"] == facts["model_digest"]

    # The registered model loads and predicts the raw columns (preprocessing included).
    import mlflow.sklearn

    model = mlflow.sklearn.load_model(str(work / "train/model"))
    features = original.drop(columns="target").iloc[evaluation["__row"]]
    assert model.predict(features).tolist() == predictions["y_pred"].tolist()
    requirements = (work / "train/model/requirements.txt").read_text()
    assert "scikit-learn==" in requirements


def test_regressor_on_diabetes_with_cross_validation(
    run_cli: CliRunner, home: str, data: dict[str, Path], tmp_path: Path
) -> None:
    work = tmp_path / "run"
    result = train(run_cli, home, work, str(data["diabetes"]), "--target", "target",
                   "--cv-folds", "3", "--estimator", "sklearn.tree.DecisionTreeRegressor",
                   "--params", '{"max_depth": 3}')  # fmt: skip
    assert result.code == 0, result.err
    facts = manifest(work)["train"]
    assert facts["task"] == "regression"
    assert "classes" not in facts
    metrics = facts["metrics"]
    assert {"rmse", "mae", "r2", "mape"} <= set(metrics)
    assert {f"cv_{m}_{s}" for m in ("rmse", "mae", "r2", "mape") for s in ("mean", "std")} <= set(
        metrics
    )
    assert metrics["rmse"] > metrics["mae"] > 0
    assert metrics["cv_rmse_std"] > 0
    predictions = pq.read_table(work / facts["predictions"]).to_pandas()
    assert list(predictions.columns) == ["__row", "y_true", "y_pred"]
    assert len(predictions) == 89  # 20 % of 442, rounded up


def test_same_data_config_and_seed_give_the_same_model(
    run_cli: CliRunner, home: str, data: dict[str, Path], tmp_path: Path
) -> None:
    args = (str(data["bc"]), "--target", "target", *TREE)
    first, second, other_seed = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for work in (first, second):
        assert train(run_cli, home, work, *args).code == 0
    assert train(run_cli, home, other_seed, *args, "--seed", "7").code == 0
    a, b, c = (manifest(w)["train"] for w in (first, second, other_seed))
    assert a["run_id"] != b["run_id"]
    assert a["metrics"] == b["metrics"]
    assert a["model_digest"] == b["model_digest"]
    assert c["model_digest"] != a["model_digest"]
    assert (first / "train/predictions.parquet").read_bytes() == (
        second / "train/predictions.parquet"
    ).read_bytes()


def test_contract_kinds_drive_preprocessing(
    run_cli: CliRunner, home: str, data: dict[str, Path], tmp_path: Path
) -> None:
    work = tmp_path / "run"
    result = train(run_cli, home, work, str(data["mixed"]), "--target", "label",
                   "--contract", str(data["mixed.contract"]), *LOGREG)  # fmt: skip
    assert result.code == 0, result.err
    facts = manifest(work)["train"]
    assert facts["classes"] == ["no", "yes"]
    assert facts["metrics"]["accuracy"] > 0.8
    evaluation = pq.read_table(work / facts["eval_data"])
    # the primary key is not a feature, so it is not in the evaluation rows either
    assert evaluation.column_names == ["site", "code", "x", "label", "__row"]

    import mlflow.sklearn

    model = mlflow.sklearn.load_model(str(work / "train/model"))
    pre = model.named_steps["preprocess"]
    assert {name: cols for name, _, cols in pre.transformers} == {
        "numeric": ["x"], "categorical": ["site", "code"],
    }  # fmt: skip
    # unseen category and missing values are handled by the pipeline itself
    fresh = pd.DataFrame({"site": ["west", None], "code": [40, 10], "x": [0.1, 2.0]})
    assert model.predict(fresh).tolist()[1] == "yes"


def test_explicit_test_file(
    run_cli: CliRunner, home: str, data: dict[str, Path], tmp_path: Path
) -> None:
    work = tmp_path / "run"
    result = train(run_cli, home, work, str(data["bc-train"]), "--target", "target",
                   "--test-data", str(data["bc-test"]), *TREE)  # fmt: skip
    assert result.code == 0, result.err
    facts = manifest(work)["train"]
    evaluation = pq.read_table(work / facts["eval_data"]).to_pandas()
    assert evaluation["__row"].tolist() == list(range(169))
    run = client(work).get_run(facts["run_id"])
    contexts = sorted(
        next(t.value for t in i.tags if t.key == "mlflow.data.context")
        for i in run.inputs.dataset_inputs
    )
    assert contexts == ["evaluation", "training"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--target", "target", "--estimator", "sklearn.linear_model.LogisticRegresion"),
         "--estimator: module 'sklearn.linear_model' has no 'LogisticRegresion'"),
        (("--target", "target", "--estimator", "sklearn.tree.DecisionTreeClassifier",
          "--params", '{"max_dept": 3}'), "--params: sklearn.tree.DecisionTreeClassifier has no "
         "parameter 'max_dept'"),
        (("--target", "target", "--estimator", "sklearn.tree.DecisionTreeClassifier",
          "--params", '{"max_depth": -3}'), "'max_depth' parameter"),
        (("--target", "diagnosis", *TREE), "no target column 'diagnosis' (--target)"),
        (("--target", "target"), "nothing to train: set train.estimator"),
        (TREE, "no target column: pass --target COLUMN"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(
    run_cli: CliRunner,
    home: str,
    data: dict[str, Path],
    tmp_path: Path,
    args: tuple[str, ...],
    message: str,
) -> None:
    work = tmp_path / "run"
    result = train(run_cli, home, work, str(data["bc"]), *args)
    assert result.code == 2
    assert message in result.err
    assert result.err.count("\n") == 1
    # failed before any tracking: no store, no registered version
    assert not (work / "mlflow.db").exists()


def test_single_class_target(
    run_cli: CliRunner, home: str, data: dict[str, Path], tmp_path: Path
) -> None:
    result = train(run_cli, home, tmp_path / "run", str(data["one-class"]), "--target", "target",
                   *TREE)  # fmt: skip
    assert result.code == 2
    assert "target column 'target' has a single class (1)" in result.err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_tracking_server_is_exit_3_after_bounded_retries(
    run_cli: CliRunner, home: str, data: dict[str, Path], tmp_path: Path
) -> None:
    uri = f"http://127.0.0.1:{_free_port()}"
    started = time.monotonic()
    result = train(run_cli, home, tmp_path / "run", str(data["bc"]), "--target", "target", *TREE,
                   MLFLOW_TRACKING_URI=uri, MODELCI_TRAIN__TRACKING__RETRIES="2",
                   MODELCI_TRAIN__TRACKING__BACKOFF="0.1")  # fmt: skip
    elapsed = time.monotonic() - started
    assert result.code == 3
    assert f"MLflow tracking server {uri} unreachable after 3 attempts" in result.err
    assert "MLFLOW_TRACKING_URI" in result.err
    assert elapsed < 10


def test_failure_after_registration_leaves_no_model_version(
    run_cli: CliRunner,
    home: str,
    data: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import builtins
    import errno
    import os

    from modelci import runfolder

    work = tmp_path / "run"

    def full_disk(path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        # The disk fills while the tail stages the record: after the version was registered.
        if "w" in mode and ".staging-" in str(path):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return builtins.open(path, mode, *args, **kwargs)

    monkeypatch.setattr(runfolder, "open", full_disk, raising=False)
    result = train(run_cli, home, work, str(data["bc"]), "--target", "target",
                   "--model-name", "half", *TREE)  # fmt: skip
    monkeypatch.undo()
    assert result.code == 2, result.err
    assert "No space left on device" in result.err
    mlflow_client = client(work)
    assert mlflow_client.search_model_versions("name = 'half'") == []
    runs = mlflow_client.search_runs([mlflow_client.get_experiment_by_name("half").experiment_id])
    assert [r.info.status for r in runs] == ["FAILED"]
    assert not (work / "manifest.json").exists()
    assert not (work / "train" / "model").exists()
    assert not list((work / "train").glob(".staging-*"))


def test_digest_of_validated_data_is_compared(
    run_cli: CliRunner, home: str, data: dict[str, Path], tmp_path: Path
) -> None:
    from modelci.data.reader import read_dataset

    digest = read_dataset(data["bc"]).digest
    for name, recorded in (("same", digest), ("changed", "sha256:" + "0" * 64)):
        work = tmp_path / name
        work.mkdir()
        (work / "manifest.json").write_text(json.dumps(
            {"schema_version": 2, "modelci_version": "0.1.0", "created": "2026-01-01T00:00:00Z",
             "datasets": {"data": {"source": "x.csv", "digest": recorded}}}
        ))  # fmt: skip
        assert train(run_cli, home, work, str(data["bc"]), "--target", "target", *TREE).code == 0
        report = json.loads((work / "train/report.json").read_text())
        check = next(c for c in report["checks"] if c["rule"] == "same data as validate-data")
        assert check["passed"] is (name == "same")
        assert manifest(work)["train"]["data_digest"] == digest


def test_mlflow_tracking_uri_from_the_environment(
    run_cli: CliRunner, home: str, data: dict[str, Path], tmp_path: Path, in_tmp: Path
) -> None:
    uri = f"sqlite:///{tmp_path / 'team.db'}"
    work = tmp_path / "run"
    result = train(run_cli, home, work, str(data["bc"]), "--target", "target", *TREE,
                   MLFLOW_TRACKING_URI=uri)  # fmt: skip
    assert result.code == 0, result.err
    assert manifest(work)["train"]["tracking_uri"] == uri
    assert not (work / "mlflow.db").exists()
    assert (tmp_path / "team.db").is_file()


USER_MODEL = '''
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


class NearestMean(BaseEstimator, ClassifierMixin):
    """A team's own classifier: the class whose mean is nearest."""

    def __init__(self, shrink=0.0):
        self.shrink = shrink

    def fit(self, x, y):
        self.classes_ = np.unique(y)
        x = np.asarray(x, dtype=float)
        self.means_ = np.array([x[y == c].mean(axis=0) * (1 - self.shrink) for c in self.classes_])
        return self

    def predict(self, x):
        d = ((np.asarray(x, dtype=float)[:, None, :] - self.means_[None]) ** 2).sum(axis=2)
        return self.classes_[d.argmin(axis=1)]
'''


def test_a_user_estimator_class_travels_with_the_model(
    run_cli: CliRunner,
    home: str,
    data: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import subprocess
    import sys

    code = tmp_path / "src"
    code.mkdir()
    (code / "teammodels.py").write_text(USER_MODEL)
    monkeypatch.syspath_prepend(str(code))
    work = tmp_path / "run"
    estimator = ("--estimator", "teammodels:NearestMean", "--params", '{"shrink": 0}')
    result = train(run_cli, home, work, str(data["bc"]), "--target", "target", *estimator)
    assert result.code == 0, result.err
    facts = manifest(work)["train"]
    assert facts["params"]["shrink"] == 0
    assert "roc_auc" not in facts["metrics"]  # no predict_proba: left out, not guessed
    assert facts["metrics"]["accuracy"] > 0.85
    assert (work / "train/model/code/teammodels.py").is_file()
    # a fresh Python without the project's code on its path loads and uses the model
    probe = (
        "import sys, mlflow.pyfunc, pandas as pd; "
        f"m = mlflow.pyfunc.load_model({str(work / 'train/model')!r}); "
        f"x = pd.read_csv({str(data['bc'])!r}).drop(columns='target').head(3); "
        "print(type(m).__name__, m.predict(x).tolist())"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=tmp_path, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "PyFuncModel [0, 0, 0]" in done.stdout


def test_feature_selection_and_exclusion(
    run_cli: CliRunner, home: str, data: dict[str, Path], tmp_path: Path
) -> None:
    chosen = tmp_path / "chosen"
    result = train(run_cli, home, chosen, str(data["bc"]), "--target", "target", *TREE,
                   MODELCI_TRAIN__FEATURES='["worst area", "mean radius"]')  # fmt: skip
    assert result.code == 0, result.err
    # original column order, whatever order the features were listed in
    evaluation = pq.read_table(chosen / "train/eval.parquet")
    assert evaluation.column_names == ["mean radius", "worst area", "target", "__row"]

    excluded = tmp_path / "excluded"
    result = train(run_cli, home, excluded, str(data["mixed"]), "--target", "label", *TREE,
                   MODELCI_TRAIN__FEATURES="", MODELCI_TRAIN__EXCLUDE='["id", "code"]')  # fmt: skip
    assert result.code == 0, result.err
    evaluation = pq.read_table(excluded / "train/eval.parquet")
    assert evaluation.column_names == ["site", "x", "label", "__row"]

    missing = train(run_cli, home, tmp_path / "missing", str(data["bc"]), "--target", "target",
                    *TREE, MODELCI_TRAIN__FEATURES='["mean radius", "nope"]')  # fmt: skip
    assert missing.code == 2
    assert "MODELCI_TRAIN__FEATURES: no column 'nope' in" in missing.err


def test_text_target_cannot_be_regressed(
    run_cli: CliRunner, home: str, data: dict[str, Path], tmp_path: Path
) -> None:
    result = train(run_cli, home, tmp_path / "run", str(data["mixed"]), "--target", "label",
                   "--estimator", "sklearn.tree.DecisionTreeRegressor")  # fmt: skip
    assert result.code == 2
    assert "target column 'label' is not numeric, so it cannot be regressed on" in result.err


def test_a_failed_rerun_leaves_the_run_folder_as_its_manifest_says(
    run_cli: CliRunner, home: str, data: dict[str, Path], tmp_path: Path
) -> None:
    from modelci.digests import model_digest

    work = tmp_path / "run"
    first = train(run_cli, home, work, str(data["bc"]), "--target", "target", *TREE)
    assert first.code == 0, first.err
    before = manifest(work)
    files = {name: (work / "train" / name).read_bytes()
             for name in ("eval.parquet", "predictions.parquet", "report.json")}  # fmt: skip
    # Another seed (other holdout rows) against a server that is not there: fails at "start",
    # after the model was fitted and saved.
    again = train(run_cli, home, work, str(data["bc"]), "--target", "target", *TREE,
                  "--seed", "7", MLFLOW_TRACKING_URI=f"http://127.0.0.1:{_free_port()}",
                  MODELCI_TRAIN__TRACKING__RETRIES="0")  # fmt: skip
    assert again.code == 3, again.err
    assert manifest(work) == before
    for name, content in files.items():
        assert (work / "train" / name).read_bytes() == content, name
    assert model_digest(work / "train" / "model") == before["train"]["model_digest"]
    assert not list((work / "train").glob(".train-*"))  # the scratch folder is gone
