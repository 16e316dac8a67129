"""The model folder the step writes (model file here, the rest in the tracking worker) equals
what ``mlflow.sklearn.save_model`` writes for the same model, and loads the same way."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from modelci.errors import InputError
from modelci.training import model_file
from modelci.training.mlflow_model import ModelSpec, complete, requirements_for

#: what differs between any two saves of the same model
PER_SAVE = {"utc_time_created", "model_uuid", "model_id", "run_id", "artifact_path"}


def _ours(model: Any, example: pd.DataFrame, tmp: Path, fmt: str, **kw: Any) -> ModelSpec:
    from mlflow.models import Model

    scratch = tmp / "scratch"
    scratch.mkdir()
    spec = model_file.save(
        model, example, folder=tmp / "ours", scratch=scratch, fmt=fmt, where="train.serialization",
        **kw,
    )  # fmt: skip
    complete(spec, Model())
    return spec


def _theirs(model: Any, example: pd.DataFrame, tmp: Path, spec: ModelSpec) -> Path:
    import mlflow.sklearn

    path = tmp / "theirs"
    mlflow.sklearn.save_model(
        model,
        str(path),
        serialization_format=spec.format,
        skops_trusted_types=spec.skops_trusted_types,
        input_example=example,
        pip_requirements=requirements_for(spec),
        code_paths=spec.code_paths,
    )
    return path


def _mlmodel(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((folder / "MLmodel").read_text())
    return {k: v for k, v in data.items() if k not in PER_SAVE}


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def assert_same_folder(ours: Path, theirs: Path) -> None:
    assert _files(ours) == _files(theirs)
    mine, reference = _mlmodel(ours), _mlmodel(theirs)
    # the skops archive holds timestamps, so its size may differ by a few bytes
    assert abs(mine.pop("model_size_bytes") - reference.pop("model_size_bytes")) < 64
    assert mine == reference
    for name in ("requirements.txt", "conda.yaml", "python_env.yaml", "input_example.json",
                 "serving_input_example.json"):  # fmt: skip
        assert (ours / name).read_text() == (theirs / name).read_text(), name


def test_a_skops_pipeline_matches_mlflow_sklearn(tmp_path: Path) -> None:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)).fit(x, y)
    example = x.head(5)
    spec = _ours(model, example, tmp_path, "skops")
    assert spec.skops_trusted_types is None  # nothing beyond skops' defaults here
    theirs = _theirs(model, example, tmp_path, spec)
    assert_same_folder(Path(spec.folder), theirs)

    import mlflow.pyfunc

    loaded = mlflow.pyfunc.load_model(spec.folder)
    assert loaded.predict(x.head(50)).tolist() == model.predict(x.head(50)).tolist()
    signature = loaded.metadata.signature
    assert signature.inputs.input_names() == list(x.columns)
    assert signature.outputs.to_dict() == [{"type": "long", "required": True}]


def test_a_cloudpickled_regressor_matches_mlflow_sklearn(tmp_path: Path) -> None:
    from sklearn.datasets import load_diabetes
    from sklearn.tree import DecisionTreeRegressor

    x, y = load_diabetes(return_X_y=True, as_frame=True)
    model = DecisionTreeRegressor(max_depth=3, random_state=0).fit(x, y)
    spec = _ours(model, x.head(5), tmp_path, "cloudpickle")
    assert spec.skops_trusted_types is None
    assert_same_folder(Path(spec.folder), _theirs(model, x.head(5), tmp_path, spec))
    assert "cloudpickle==" in (Path(spec.folder) / "requirements.txt").read_text()


def test_text_labels_give_a_string_output_schema(tmp_path: Path) -> None:
    from sklearn.datasets import load_wine
    from sklearn.tree import DecisionTreeClassifier

    x, y = load_wine(return_X_y=True, as_frame=True)
    labels = np.array(["barolo", "grignolino", "barbera"], dtype=object)[y]
    model = DecisionTreeClassifier(random_state=0).fit(x, labels)
    spec = _ours(model, x.head(5), tmp_path, "skops")
    assert_same_folder(Path(spec.folder), _theirs(model, x.head(5), tmp_path, spec))
    outputs = yaml.safe_load((Path(spec.folder) / "MLmodel").read_text())["signature"]["outputs"]
    assert '"type": "string"' in outputs


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


def test_project_code_travels_in_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "meanmodels.py").write_text(USER_MODEL)
    monkeypatch.syspath_prepend(str(code))
    import meanmodels  # type: ignore[import-not-found]

    x = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]})
    model = meanmodels.MeanRegressor().fit(x, np.array([1.0, 2.0, 3.0, 4.0]))
    spec = _ours(model, x.head(2), tmp_path, "cloudpickle",
                 code_paths=[str(code / "meanmodels.py")])  # fmt: skip
    assert (Path(spec.folder) / "code" / "meanmodels.py").is_file()
    assert_same_folder(Path(spec.folder), _theirs(model, x.head(2), tmp_path, spec))
    sys.modules.pop("meanmodels", None)


def test_a_model_skops_cannot_hold_is_refused_with_the_setting_to_change(
    tmp_path: Path,
) -> None:
    from sklearn.preprocessing import FunctionTransformer

    model = FunctionTransformer(func=lambda v: v + 1).fit(pd.DataFrame({"a": [1.0, 2.0]}))
    with pytest.raises(InputError, match=r"train.serialization: the model saved with skops "
                       r"cannot be loaded back .*train.serialization: cloudpickle"):  # fmt: skip
        _ours(model, None, tmp_path, "skops")
