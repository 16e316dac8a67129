"""Estimators by import path: the class is found, parameters are checked before the fit."""

from __future__ import annotations

import pytest

from modelci.errors import ConfigError
from modelci.training.estimator import build, resolve


def test_dotted_and_colon_paths_resolve() -> None:
    from sklearn.tree import DecisionTreeClassifier

    assert resolve("sklearn.tree.DecisionTreeClassifier") is DecisionTreeClassifier
    assert resolve("sklearn.tree:DecisionTreeClassifier") is DecisionTreeClassifier


def test_seed_becomes_random_state_unless_set() -> None:
    assert build("sklearn.tree.DecisionTreeClassifier", {}, seed=7).random_state == 7
    est = build("sklearn.tree.DecisionTreeClassifier", {"random_state": 1}, seed=7)
    assert est.random_state == 1
    # no random_state parameter: nothing is added
    assert build("sklearn.linear_model.LinearRegression", {}, seed=7).get_params()["n_jobs"] is None


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("sklearn.linear_model.LogisticRegresion", {}, "has no 'LogisticRegresion'"),
        ("nosuchpkg.models.Model", {}, "cannot import module 'nosuchpkg.models'"),
        ("LogisticRegression", {}, "is not an import path"),
        ("sklearn.linear_model.LogisticRegression", {"maxiter": 5}, "no parameter 'maxiter'"),
        ("sklearn.linear_model.LogisticRegression", {"C": -1}, "'C' parameter"),
        ("sklearn.tree.DecisionTreeClassifier", {"criterion": "best"}, "'criterion' parameter"),
        ("sklearn.linear_model.enet_path", {}, "is not a class"),
        ("sklearn.preprocessing.StandardScaler", {}, "is not an estimator"),
    ],
)
def test_bad_estimators_are_config_errors(
    path: str, params: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        build(path, params, where="modelci.yaml: train.estimator", params_where="--params")
    assert "\n" not in str(info.value)
