"""The train step's MLflow side, in its own process, through MLflow's public API: the logged
model (skops with this model's trusted types, pinned requirements and no inference
subprocess, the project's code, signature and input example), the serialization check,
registration and how a run ends, the embedded store's template, and `using`."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest
import yaml

from modelci.errors import InputError
from modelci.registry.connection import RetryPolicy
from modelci.registry.location import Location, embedded
from modelci.registry.orphans import Known
from modelci.registry.store import template, using
from modelci.training import environment, serialization
from modelci.training.tracking import KILLED, ModelSpec, RunRef, Tracking, opened

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")

USER_MODEL = """
import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

class MeanRegressor(BaseEstimator, RegressorMixin):
    def fit(self, x, y):
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, x):
        return np.full(len(x), self.mean_)
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith(("MLFLOW_", "MODELCI_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MODELCI_HOME", str(tmp_path / "home"))
    return tmp_path


@pytest.fixture
def tracked(home: Path) -> Iterator[tuple[Tracking, RunRef, Location]]:
    target = embedded(home / "run")
    with opened(target, RetryPolicy(), dict(os.environ)) as tracking:
        run = tracking.start("exp", run_name="r", tags={"k": "v"})
        yield tracking, run, target


def _spec(model: Any, example: pd.DataFrame, fmt: str, estimator: Any = None) -> ModelSpec:
    checked = serialization.check(model, example, fmt, "train.serialization")
    return ModelSpec(
        model=model,
        example=example,
        serialization=fmt,
        trusted_types=checked.trusted_types,
        requirements=environment.requirements(fmt, estimator if estimator is not None else model),
        code_paths=environment.code_paths(estimator if estimator is not None else model),
    )


@contextlib.contextmanager
def pythons_started() -> Iterator[list[str]]:
    """The Python processes started in the block (an audit hook cannot be removed, so it is
    switched off instead)."""
    started: list[str] = []
    watching = [True]

    def audit(event: str, args: tuple[Any, ...]) -> None:
        if watching[0] and event == "subprocess.Popen" and sys.executable in map(str, args[1]):
            started.append(" ".join(map(str, args[1])))

    sys.addaudithook(audit)
    try:
        yield started
    finally:
        watching[0] = False


def _mlmodel(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((folder / "MLmodel").read_text())
    return data


def test_a_user_model_is_logged_with_skops_its_trusted_types_and_its_code(
    tracked: tuple[Tracking, RunRef, Location], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import skops.io

    tracking, run, _ = tracked
    code = tmp_path / "code"
    code.mkdir()
    (code / "meanmodels.py").write_text(USER_MODEL)
    monkeypatch.syspath_prepend(str(code))
    import meanmodels  # type: ignore[import-not-found]

    x = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0, 1, 0, 1]})
    model = meanmodels.MeanRegressor().fit(x, np.array([1.0, 2.0, 3.0, 4.0]))
    spec = _spec(model, x.head(2), "skops")
    # skops' own answer for this model, trusted exactly
    expected = sorted(skops.io.get_untrusted_types(data=skops.io.dumps(model)))
    assert "meanmodels.MeanRegressor" in expected
    assert spec.trusted_types == tuple(expected)
    assert spec.code_paths == (str(code / "meanmodels.py"),)

    # Pinned requirements spare MLflow its inference: a Python subprocess loading the model.
    with pythons_started() as started:
        model_uri = tracking.log_model(run, spec)
    assert started == []
    with pythons_started() as inferred:  # what the check would see without the pins
        import mlflow.sklearn

        mlflow.sklearn.save_model(
            model,
            str(tmp_path / "inferred"),
            serialization_format="skops",
            skops_trusted_types=list(expected),
            code_paths=list(spec.code_paths),
        )
    assert inferred

    folder = tracking.download(model_uri, tmp_path / "fetched")
    meta = _mlmodel(folder)
    flavor = meta["flavors"]["sklearn"]
    assert flavor["serialization_format"] == "skops"
    assert flavor["skops_trusted_types"] == expected
    assert (folder / "model.skops").is_file()
    assert (folder / "code" / "meanmodels.py").is_file()
    assert meta["signature"]["inputs"] and meta["signature"]["outputs"]
    assert (folder / "input_example.json").is_file()
    pins = (folder / "requirements.txt").read_text().split()
    import mlflow
    import sklearn

    assert pins == sorted(
        [f"mlflow=={mlflow.__version__}", f"scikit-learn=={sklearn.__version__}",
         f"skops=={skops.__version__}"]
    )  # fmt: skip
    # filed under the run's experiment (MLflow's default would be "Default")
    found = tracking.client.search_logged_models(experiment_ids=[run.experiment_id])
    assert [f"models:/{m.model_id}" for m in found] == [model_uri]

    sys.modules.pop("meanmodels", None)
    monkeypatch.syspath_prepend(str(tmp_path / "elsewhere"))  # the code now comes from the model
    import mlflow.pyfunc

    loaded = mlflow.pyfunc.load_model(str(folder))
    assert loaded.predict(x).tolist() == [2.5] * 4
    sys.modules.pop("meanmodels", None)


def test_a_cloudpickled_regressor_is_pinned_with_cloudpickle(
    tracked: tuple[Tracking, RunRef, Location], tmp_path: Path
) -> None:
    from sklearn.datasets import load_diabetes
    from sklearn.tree import DecisionTreeRegressor

    tracking, run, _ = tracked
    x, y = load_diabetes(return_X_y=True, as_frame=True)
    model = DecisionTreeRegressor(max_depth=3, random_state=0).fit(x, y)
    spec = _spec(model, x.head(5), "cloudpickle")
    assert spec.trusted_types is None and spec.code_paths == ()
    folder = tracking.download(tracking.log_model(run, spec), tmp_path / "fetched")
    assert _mlmodel(folder)["flavors"]["sklearn"]["serialization_format"] == "cloudpickle"
    assert "cloudpickle==" in (folder / "requirements.txt").read_text()
    assert "skops" not in (folder / "requirements.txt").read_text()


def test_a_model_skops_cannot_hold_is_refused_with_the_setting_to_change() -> None:
    from sklearn.preprocessing import FunctionTransformer

    model = FunctionTransformer(func=lambda v: v + 1).fit(pd.DataFrame({"a": [1.0, 2.0]}))
    with pytest.raises(InputError, match=r"train.serialization: the model saved with skops "
                       r"cannot be loaded back .*train.serialization: cloudpickle"):  # fmt: skip
        serialization.check(model, None, "skops", "train.serialization")


def test_a_model_pickle_cannot_hold_is_refused() -> None:
    from sklearn.preprocessing import FunctionTransformer

    model = FunctionTransformer(func=lambda v: v + 1).fit(pd.DataFrame({"a": [1.0, 2.0]}))
    with pytest.raises(InputError, match=r"^train.serialization: the model cannot be saved "
                       r"with pickle .*top level of an importable module"):  # fmt: skip
        serialization.check(model, None, "pickle", "train.serialization")


def test_a_command_that_logged_no_model_is_an_input_error(
    tracked: tuple[Tracking, RunRef, Location],
) -> None:
    tracking, run, _ = tracked
    with pytest.raises(InputError, match=r"^train.command: the command logged no model to "):
        tracking.command_model(run, "train.command")


def test_a_stopped_step_takes_its_version_back_and_marks_the_run_killed(
    tracked: tuple[Tracking, RunRef, Location],
) -> None:
    from sklearn.tree import DecisionTreeClassifier

    tracking, run, _ = tracked
    x = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    model = DecisionTreeClassifier().fit(x, [0, 0, 1, 1])
    model_uri = tracking.log_model(run, _spec(model, x, "skops"))
    registered = tracking.register(
        run.run_id, model_uri, "m", digest="sha256:" + "1" * 64, tags={"modelci.state": "pending"},
        description="d", known=Known(None, None),
    )  # fmt: skip
    assert registered.version == "1"
    assert tracking.client.get_run(run.run_id).info.status == "FINISHED"
    tracking.end(run.run_id, KILLED, "m", registered.version)
    assert tracking.client.search_model_versions("name = 'm'") == []
    assert tracking.client.get_run(run.run_id).info.status == "KILLED"


def test_registering_sweeps_a_model_that_exists_and_not_one_it_creates(
    tracked: tuple[Tracking, RunRef, Location],
) -> None:
    import socket

    from sklearn.tree import DecisionTreeClassifier

    from modelci.registry import client as registry
    from modelci.registry import tags

    tracking, run, target = tracked
    x = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    model_uri = tracking.log_model(run, _spec(DecisionTreeClassifier().fit(x, [0, 0, 1, 1]), x,
                                              "skops"))  # fmt: skip
    first = tracking.register(
        run.run_id, model_uri, "m", digest="sha256:" + "1" * 64, description="d",
        tags={tags.STATE: tags.PENDING, tags.OWNER: f"{socket.gethostname()}:999999999:"},
        known=Known(None, None),
    )  # fmt: skip
    assert first.notes == ()  # a model this train created has nothing to sweep
    assert registry.create_model(tracking.client, "m") is False
    # the first version's owner is gone: the next train against the model archives it
    second = tracking.register(
        run.run_id, model_uri, "m", digest="sha256:" + "1" * 64, description="d",
        tags={}, known=Known(None, None),
    )  # fmt: skip
    assert [n.split(":")[0] for n in second.notes] == ["archived m version 1"]
    states = {
        v.version: v.tags.get(tags.STATE) for v in registry.versions(tracking.client, target, "m")
    }
    assert states["1"] == tags.ORPHANED


def test_the_empty_store_template_is_built_through_the_client(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient

    monkeypatch.chdir(home)
    built = template(dict(os.environ))
    assert built is not None and built.name.endswith("-empty.db")
    assert template(dict(os.environ)) == built  # cached
    assert not (home / "mlruns").exists()  # nothing written where the process happens to be
    target = embedded(home / "run")
    with opened(target, RetryPolicy(), dict(os.environ)) as tracking:
        run = tracking.start("exp", run_name="r", tags={})
    assert (home / "run" / "mlflow.db").read_bytes() != b""
    client = MlflowClient(tracking_uri=target.uri)
    default = client.get_experiment("0")
    assert target.artifact_location is not None
    assert default.artifact_location == target.artifact_location + "/0"
    assert client.get_run(run.run_id).info.status == "RUNNING"


def _unset() -> str:
    return cast(str, None)


@pytest.fixture
def mlflow_uris(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import mlflow

    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.delenv(name, raising=False)
    mlflow.set_tracking_uri(_unset())
    mlflow.set_registry_uri(_unset())
    yield
    mlflow.set_tracking_uri(_unset())
    mlflow.set_registry_uri(_unset())


@pytest.mark.usefixtures("mlflow_uris")
def test_using_leaves_an_unset_uri_unset() -> None:
    import mlflow

    with using("sqlite:////tmp/elsewhere.db"):
        assert (
            mlflow.get_tracking_uri() == mlflow.get_registry_uri() == "sqlite:////tmp/elsewhere.db"
        )
        assert os.environ["MLFLOW_TRACKING_URI"] == "sqlite:////tmp/elsewhere.db"
    assert not mlflow.is_tracking_uri_set()  # type: ignore[no-untyped-call]
    assert "MLFLOW_TRACKING_URI" not in os.environ and "MLFLOW_REGISTRY_URI" not in os.environ


@pytest.mark.usefixtures("mlflow_uris")
def test_using_gives_the_environment_back_its_uris(monkeypatch: pytest.MonkeyPatch) -> None:
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://team:5000")
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", "http://registry:5000")
    with using("sqlite:////tmp/elsewhere.db"):
        assert mlflow.get_registry_uri() == "sqlite:////tmp/elsewhere.db"
    assert os.environ["MLFLOW_TRACKING_URI"] == "http://team:5000"
    assert os.environ["MLFLOW_REGISTRY_URI"] == "http://registry:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://later:5000")  # still the environment's
    assert mlflow.get_tracking_uri() == "http://later:5000"
    assert mlflow.get_registry_uri() == "http://registry:5000"


@pytest.mark.usefixtures("mlflow_uris")
def test_using_restores_uris_set_in_code() -> None:
    import mlflow

    mlflow.set_tracking_uri("sqlite:////tmp/mine.db")
    mlflow.set_registry_uri("sqlite:////tmp/my-registry.db")
    with using("sqlite:////tmp/elsewhere.db"):
        pass
    assert mlflow.get_tracking_uri() == "sqlite:////tmp/mine.db"
    assert mlflow.get_registry_uri() == "sqlite:////tmp/my-registry.db"
