"""Corpora for the model scanner, shared by its tests and bench/bench_scan.py.

The benign corpus is every scikit-learn estimator that ``all_estimators()`` lists and that
fits on a small dataset, plus pipelines and column transformers, each written in every
format modelci meets (pickle protocols 2-5, joblib plain and compressed, cloudpickle,
skops). The malicious corpus lives in ``scan_payloads``.
"""

from __future__ import annotations

import inspect
import io
import pickle
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: joblib compressors the benign corpus cycles through (one per estimator, in turn)
JOBLIB_COMPRESSORS = ("zlib", "gzip", "bz2", "lzma", "xz", "lz4")

FORMATS = (
    "pickle2",
    "pickle3",
    "pickle4",
    "pickle5",
    "joblib",
    "joblib-compressed",
    "cloudpickle",
    "skops",
)

#: estimators all_estimators() lists that this corpus does not fit, and why. Kept empty on
#: purpose when every estimator fits: a new scikit-learn that adds one fails the corpus
#: test until it is fitted here or listed with its reason.
SKIPPED: dict[str, str] = {}


@dataclass(frozen=True)
class BenignFile:
    path: Path
    model: str
    format: str


def _data() -> dict[str, Any]:
    from sklearn.datasets import load_diabetes, load_iris

    iris = load_iris()
    x = iris.data.astype(np.float64)
    y3 = iris.target
    diabetes = load_diabetes()
    xr = diabetes.data[:150]
    yr = diabetes.target[:150]
    rng = np.random.default_rng(0)
    return {
        "X": x,
        "y3": y3,
        "y2": (y3 == 0).astype(int),
        "ylabels": np.array(["setosa", "versicolor", "virginica"], dtype=object)[y3],
        "Ymulti": np.column_stack([y3 == 0, y3 == 1, x[:, 0] > 5.8]).astype(int),
        "Xr": xr,
        "yr": yr,
        "Yr": np.column_stack([yr, yr * 0.5 + rng.normal(size=len(yr))]),
        "Xcounts": rng.poisson(2.0, size=(150, 6)),
        "docs": [f"model {w} scan {i % 7} text" for i, w in enumerate(["safe", "clean"] * 75)],
        "dicts": [{"a": float(i % 3), "b": str(i % 2)} for i in range(150)],
        "images": rng.random((4, 8, 8)),
    }


def _classifier() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000)


def _regressor() -> Any:
    from sklearn.linear_model import Ridge

    return Ridge()


def _required_params(name: str) -> dict[str, Any]:
    """Constructor arguments for estimators that have required ones."""
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    regression = "Regressor" in name
    base = _regressor() if regression else _classifier()
    if name in {"StackingClassifier", "VotingClassifier"}:
        return {
            "estimators": [("lr", _classifier()), ("tree", DecisionTreeClassifier(max_depth=3))]
        }
    if name in {"StackingRegressor", "VotingRegressor"}:
        return {
            "estimators": [("ridge", _regressor()), ("tree", DecisionTreeRegressor(max_depth=3))]
        }
    if name == "GridSearchCV":
        return {"estimator": base, "param_grid": {"C": [0.1, 1.0]}, "cv": 3}
    if name == "RandomizedSearchCV":
        return {"estimator": base, "param_distributions": {"C": [0.1, 1.0, 10.0]}, "n_iter": 2}
    if name == "ColumnTransformer":
        return {
            "transformers": [("scale", StandardScaler(), [0, 1]), ("keep", "passthrough", [2, 3])]
        }
    if name == "FeatureUnion":
        return {"transformer_list": [("pca", PCA(n_components=2)), ("scale", StandardScaler())]}
    if name == "Pipeline":
        return {"steps": [("scale", StandardScaler()), ("lr", _classifier())]}
    if name == "SparseCoder":
        rng = np.random.default_rng(1)
        dictionary = rng.normal(size=(5, 4))
        return {"dictionary": dictionary / np.linalg.norm(dictionary, axis=1, keepdims=True)}
    if name == "FrozenEstimator":
        data = _data()
        return {"estimator": _classifier().fit(data["X"], data["y3"])}
    return {"estimator": base}


def _extra_params(name: str) -> dict[str, Any]:
    """Arguments for estimators whose defaults do not suit a 150 x 4 dataset."""
    if name in {"GaussianRandomProjection", "SparseRandomProjection"}:
        return {"n_components": 2}
    if name == "SelfTrainingClassifier":
        return {"estimator": _classifier()}
    return {}


def _fit(name: str, cls: type, data: dict[str, Any]) -> Any:
    from sklearn.base import is_classifier, is_regressor

    params = inspect.signature(cls.__init__).parameters
    required = [
        p
        for p, v in params.items()
        if p != "self"
        and v.default is inspect.Parameter.empty
        and v.kind not in (v.VAR_POSITIONAL, v.VAR_KEYWORD)
    ]
    est = cls(**_required_params(name)) if required else cls(**_extra_params(name))
    # smaller ensembles: the corpus is about which types a model holds, not its size
    if "n_estimators" in params:
        est.set_params(n_estimators=5)
    if "random_state" in params:
        est.set_params(random_state=0)
    special: dict[str, Callable[[], Any]] = {
        "CountVectorizer": lambda: est.fit(data["docs"]),
        "TfidfVectorizer": lambda: est.fit(data["docs"]),
        "HashingVectorizer": lambda: est.fit(data["docs"]),
        "DictVectorizer": lambda: est.fit(data["dicts"]),
        "FeatureHasher": lambda: est.fit(data["dicts"]),
        "LabelEncoder": lambda: est.fit(data["ylabels"]),
        "LabelBinarizer": lambda: est.fit(data["ylabels"]),
        "MultiLabelBinarizer": lambda: est.fit([["a", "b"], ["b"], ["c"]]),
        "IsotonicRegression": lambda: est.fit(data["X"][:, 0], data["X"][:, 2]),
        "PatchExtractor": lambda: est.fit(data["images"]),
        "KernelCenterer": lambda: est.fit(data["X"] @ data["X"].T),
        "CategoricalNB": lambda: est.fit(data["Xcounts"], data["y3"]),
        "TfidfTransformer": lambda: est.fit(data["Xcounts"]),
    }
    if name in special:
        return special[name]()
    if is_classifier(est):
        attempts = [(data["X"], data["y3"]), (data["X"], data["y2"]), (data["X"], data["Ymulti"])]
    elif is_regressor(est):
        attempts = [(data["Xr"], data["yr"]), (data["Xr"], data["Yr"])]
    else:
        attempts = [(data["X"], None), (data["X"], data["y3"]), (data["X"], data["Ymulti"])]
    error: Exception | None = None
    for x, y in attempts:
        try:
            return est.fit(x) if y is None else est.fit(x, y)
        except Exception as exc:  # the next input shape may suit it
            error = exc
    raise RuntimeError(f"{name} fits on none of the corpus inputs: {error}")


def composite_models(data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Pipelines and column transformers as projects write them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _composite_models(data or _data())


def _composite_models(data: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.decomposition import PCA
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
    from sklearn.preprocessing import (
        FunctionTransformer,
        KBinsDiscretizer,
        OneHotEncoder,
        OrdinalEncoder,
        PolynomialFeatures,
        StandardScaler,
        TargetEncoder,
    )
    from sklearn.svm import SVC

    x, y3, labels = data["X"], data["y3"], data["ylabels"]
    frame = pd.DataFrame(x, columns=["sl", "sw", "pl", "pw"])
    frame["color"] = np.array(["red", "green", "blue"])[np.arange(len(frame)) % 3]
    frame.loc[::10, "sl"] = np.nan
    num = ["sl", "sw", "pl", "pw"]
    models: dict[str, Any] = {}
    models["pipeline-columntransformer-hgb"] = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [
                        ("num", make_pipeline(SimpleImputer(), StandardScaler()), num),
                        ("cat", OneHotEncoder(handle_unknown="ignore"), ["color"]),
                    ]
                ),
            ),
            ("model", HistGradientBoostingClassifier(max_iter=10, random_state=0)),
        ]
    ).fit(frame, labels)
    models["columntransformer-remainder"] = ColumnTransformer(
        [("ord", OrdinalEncoder(), ["color"])], remainder="passthrough"
    ).fit(frame.fillna(0.0))
    models["columntransformer-pandas-output"] = (
        ColumnTransformer([("scale", StandardScaler(), ["sw", "pl"])], remainder="drop")
        .set_output(transform="pandas")
        .fit(frame)
    )
    models["pipeline-log1p-pca-logreg"] = make_pipeline(
        FunctionTransformer(np.log1p, inverse_func=np.expm1),
        PCA(n_components=2),
        LogisticRegression(max_iter=500),
    ).fit(x, y3)
    models["transformed-target"] = TransformedTargetRegressor(
        regressor=Ridge(), func=np.log1p, inverse_func=np.expm1
    ).fit(data["Xr"], data["yr"])
    models["pipeline-svc-proba"] = make_pipeline(StandardScaler(), SVC(probability=True)).fit(
        x, labels
    )
    models["pipeline-union-poly"] = Pipeline(
        [
            (
                "union",
                FeatureUnion(
                    [("poly", PolynomialFeatures(2)), ("bins", KBinsDiscretizer(n_bins=3))]
                ),
            ),
            ("ridge", Ridge()),
        ]
    ).fit(data["Xr"], data["yr"])
    models["pipeline-target-encoder-forest"] = make_pipeline(
        ColumnTransformer([("te", TargetEncoder(), ["color"])], remainder="passthrough"),
        SimpleImputer(),
        RandomForestRegressor(n_estimators=5, random_state=0),
    ).fit(frame, x[:, 3])
    return models


def fitted_models() -> tuple[dict[str, Any], dict[str, str]]:
    """Every estimator all_estimators() lists, fitted; and those not fitted, with why."""
    from sklearn.utils import all_estimators

    data = _data()
    models: dict[str, Any] = {}
    failed: dict[str, str] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, cls in all_estimators():
            if name in SKIPPED:
                continue
            try:
                models[name] = _fit(name, cls, data)
            except Exception as exc:
                failed[name] = f"{type(exc).__name__}: {exc}"
        models.update(composite_models(data))
    return models, failed


def serialize(model: Any, fmt: str, *, compressor: str = "zlib") -> bytes:
    """``model`` in one of FORMATS; raises what the library raises when it cannot."""
    if fmt.startswith("pickle"):
        return pickle.dumps(model, protocol=int(fmt[-1]))
    if fmt.startswith("joblib"):
        import joblib

        buffer = io.BytesIO()
        joblib.dump(model, buffer, compress=(compressor, 3) if fmt == "joblib-compressed" else 0)
        return buffer.getvalue()
    if fmt == "cloudpickle":
        import cloudpickle  # type: ignore[import-untyped]

        data: bytes = cloudpickle.dumps(model)
        return data
    if fmt == "skops":
        import skops.io

        out: bytes = skops.io.dumps(model)
        return out
    raise ValueError(fmt)


_EXTENSIONS = {
    "joblib": "joblib",
    "joblib-compressed": "joblib",
    "cloudpickle": "pkl",
    "skops": "skops",
}


def write_benign(
    dest: Path, models: dict[str, Any], formats: Iterable[str] = FORMATS
) -> tuple[list[BenignFile], dict[str, str]]:
    """Write every model in every format under ``dest``; return the files and the
    (model/format: reason) pairs a serializer refused."""
    dest.mkdir(parents=True, exist_ok=True)
    files: list[BenignFile] = []
    refused: dict[str, str] = {}
    for index, (name, model) in enumerate(sorted(models.items())):
        for fmt in formats:
            compressor = JOBLIB_COMPRESSORS[index % len(JOBLIB_COMPRESSORS)]
            label = f"{fmt}-{compressor}" if fmt == "joblib-compressed" else fmt
            try:
                payload = serialize(model, fmt, compressor=compressor)
            except Exception as exc:
                refused[f"{name}/{label}"] = f"{type(exc).__name__}: {str(exc)[:200]}"
                continue
            path = dest / label / f"{name}.{_EXTENSIONS.get(fmt, 'pkl')}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(payload)
            files.append(BenignFile(path, name, label))
    return files, refused
