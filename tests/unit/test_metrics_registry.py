"""modelci.metrics: one registry of names, tasks and directions, and values that agree with
scikit-learn and between train and compare."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics as skm

import modelci
from modelci import metrics
from modelci.errors import ConfigError
from modelci.models import prediction

SCHEMAS = Path(modelci.__file__).parent / "schemas" / "sections"


def test_one_registry_of_names_tasks_and_directions() -> None:
    for task in metrics.TASKS:
        names = metrics.names_for(task)
        assert names == [n for n, m in metrics.METRICS.items() if m.task == task]
        assert metrics.DEFAULT_METRIC[task] in names
    assert {name for name, m in metrics.METRICS.items() if m.needs_proba} == {"roc_auc", "log_loss"}
    lower = {name for name, m in metrics.METRICS.items() if not m.higher_is_better}
    assert lower == {"log_loss", "rmse", "mae", "mape"}


def test_the_registry_loads_without_numpy() -> None:
    # config checks and the CLI read metric names; they must not pay for numpy
    code = "import sys, modelci.metrics; print('numpy' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "False"


def test_config_schemas_check_metric_names_by_pattern_not_a_copied_list() -> None:
    # The names are decided in code (modelci's, scikit-learn's scorers, module:function);
    # the schemas only check their shape, with the registry's own pattern.
    from sklearn.metrics import get_scorer_names

    train = json.loads((SCHEMAS / "train.schema.json").read_text(encoding="utf-8"))
    compare = json.loads((SCHEMAS / "compare.schema.json").read_text(encoding="utf-8"))
    nodes = [
        train["properties"]["metrics"]["items"],
        compare["properties"]["rules"]["propertyNames"],
        compare["$defs"]["compareSlice"]["properties"]["metric"],
    ]
    for node in nodes:
        assert "enum" not in node
        assert node["pattern"] == metrics.NAME_PATTERN
    for name in [*metrics.METRICS, *get_scorer_names(), "team.metrics:profit", "m:f"]:
        assert re.match(metrics.NAME_PATTERN, name), name
    for bad in ("average precision", "m:", ":f", "a:b:c", "1x"):
        assert not re.match(metrics.NAME_PATTERN, bad), bad


def test_a_scorer_name_passes_the_config_schema(tmp_path: Path) -> None:
    from modelci import config

    (tmp_path / "modelci.yaml").write_text(
        "version: 1\ntrain:\n  metrics: [accuracy, average_precision, team.m:profit]\n"
        "compare:\n  rules:\n    average_precision: {}\n    team.m:profit: {direction: higher}\n"
    )
    loaded = config.load(tmp_path / "modelci.yaml", env={})
    assert loaded.get("train.metrics") == ["accuracy", "average_precision", "team.m:profit"]
    (tmp_path / "bad.yaml").write_text("version: 1\ntrain:\n  metrics: [average precision]\n")
    with pytest.raises(ConfigError, match=r"train\.metrics"):
        config.load(tmp_path / "bad.yaml", env={})


def test_names_resolve_to_modelci_scorers_or_functions(tmp_path: Path) -> None:
    (tmp_path / "resolve_fns.py").write_text(
        "def plain(y_true, y_pred):\n    return 1.0\n\n"
        "def scores(y_true, y_pred, y_proba, classes):\n    return 1.0\n"
    )
    assert metrics.resolve("accuracy", "classification") is metrics.METRICS["accuracy"]
    scorer = metrics.resolve("neg_mean_absolute_error", "regression")
    assert (scorer.direction, scorer.task, scorer.needs_proba) == ("higher", None, False)
    plain = metrics.resolve("resolve_fns:plain", "regression", base_dir=tmp_path)
    assert plain.direction is None
    declared = metrics.resolve(
        "resolve_fns:plain", "regression", direction="lower", base_dir=tmp_path
    )
    assert declared.direction == "lower"
    assert metrics.resolve("resolve_fns:scores", "classification", base_dir=tmp_path).needs_proba
    with pytest.raises(metrics.UnknownMetric, match="cannot be computed for a classification"):
        metrics.resolve("rmse", "classification")
    with pytest.raises(metrics.UnknownMetric, match="nor a scikit-learn scorer"):
        metrics.resolve("averge_precision", "classification")
    with pytest.raises(metrics.UnknownMetric, match="cannot import module 'no_such_module'"):
        metrics.resolve("no_such_module:f", "classification")
    with pytest.raises(metrics.UnknownMetric, match="has no function 'missing'"):
        metrics.resolve("resolve_fns:missing", "classification", base_dir=tmp_path)


def test_misfit_names_are_refused_naming_task_and_choices() -> None:
    with pytest.raises(ValueError, match=r"r2, f2 do not apply to classification; choose from"):
        metrics.check_names("classification", ["accuracy", "r2", "f2"])
    with pytest.raises(ValueError, match="unknown task 'ranking'"):
        metrics.compute_metrics("ranking", [1.0], [1.0])


def _sklearn_classification(
    y: np.ndarray, p: np.ndarray, proba: np.ndarray, labels: list[object]
) -> dict[str, float]:
    binary = len(labels) == 2
    avg: dict[str, object] = (
        {"average": "binary", "pos_label": labels[1]}
        if binary
        else {"average": "macro", "labels": labels}
    )
    auc = (
        skm.roc_auc_score(y == labels[1], proba[:, 1])
        if binary
        else skm.roc_auc_score(y, proba, multi_class="ovr", labels=labels)
    )
    return {
        "accuracy": skm.accuracy_score(y, p),
        "balanced_accuracy": skm.balanced_accuracy_score(y, p),
        "precision": skm.precision_score(y, p, zero_division=0, **avg),
        "recall": skm.recall_score(y, p, zero_division=0, **avg),
        "f1": skm.f1_score(y, p, zero_division=0, **avg),
        "roc_auc": auc,
        "log_loss": skm.log_loss(y, proba, labels=labels),
    }


@pytest.mark.parametrize("labels", [["bad", "good"], ["a", "b", "c"]])
def test_every_classification_metric_matches_scikit_learn(labels: list[str]) -> None:
    rng = np.random.default_rng(11)
    n = 400
    codes = rng.integers(0, len(labels), n)
    proba = rng.dirichlet(np.ones(len(labels)), n)
    proba[np.arange(n), codes] += 0.3
    proba /= proba.sum(axis=1, keepdims=True)
    y = np.array(labels, dtype=object)[codes]
    p = np.array(labels, dtype=object)[proba.argmax(axis=1)]
    got = metrics.compute_metrics("classification", y, p, proba, classes=labels)
    want = _sklearn_classification(y, p, proba, labels)
    assert list(got) == metrics.names_for("classification")
    for name in got:
        assert got[name] == pytest.approx(want[name], abs=1e-12), name


@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_every_regression_metric_matches_scikit_learn(offset: float) -> None:
    rng = np.random.default_rng(5)
    y = offset + rng.normal(10, 3, 300)
    p = y + rng.normal(0, 1, 300)
    got = metrics.compute_metrics("regression", y, p)
    want = {
        "rmse": skm.root_mean_squared_error(y, p),
        "mae": skm.mean_absolute_error(y, p),
        "r2": skm.r2_score(y, p),
        "mape": skm.mean_absolute_percentage_error(y, p),
    }
    assert list(got) == metrics.names_for("regression")
    for name in got:
        assert got[name] == pytest.approx(want[name], rel=1e-12, abs=1e-12), name


def test_train_values_are_compares_point_estimates_for_the_same_predictions() -> None:
    # A holdout label the model never saw ("c"): both steps append it after the model's classes.
    y = np.array(["a", "b", "b", "c", "a", "b", "a", "c"], dtype=object)
    pred = np.array(["a", "b", "a", "b", "a", "b", "b", "a"], dtype=object)
    proba = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.4, 0.6]] * 2)
    got = metrics.compute_metrics("classification", y, pred, proba, classes=["a", "b"])
    out = prediction.RawOutput(pred, proba, ["a", "b"])
    labels = prediction.class_labels(y, [out], ["a", "b"])
    encoded = prediction.predictions("classification", y, out, labels)
    assert labels == ["a", "b", "c"]
    expected = {
        name: metrics.point(m, encoded)
        for name, m in metrics.METRICS.items()
        if m.task == "classification"
    }
    assert got == expected
    assert got["accuracy"] == pytest.approx(4 / 8)


def test_undefined_metrics_are_left_out_not_guessed() -> None:
    constant = np.full(3, 0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sklearn_r2 = skm.r2_score(constant, constant + 0.1)
    assert sklearn_r2 < -1e20  # scikit-learn divides by the rounding noise of the mean
    got = metrics.compute_metrics("regression", constant, constant + 0.1)
    assert "r2" not in got and got["mae"] == pytest.approx(0.1)
    one_class = metrics.compute_metrics(
        "classification", [1, 1, 1], [1, 0, 1], np.array([[0.2, 0.8], [0.6, 0.4], [0.1, 0.9]])
    )
    assert "roc_auc" not in one_class
    assert one_class["log_loss"] == pytest.approx(-np.mean(np.log([0.8, 0.4, 0.9])), abs=1e-12)


def test_one_dimensional_binary_scores_and_bad_shapes() -> None:
    y, p, scores = [0, 1, 1, 0], [0, 1, 0, 0], np.array([0.1, 0.9, 0.4, 0.3])
    got = metrics.compute_metrics("classification", y, p, scores)
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, scores), abs=1e-12)
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, scores), abs=1e-12)
    with pytest.raises(ValueError, match=r"proba has shape \(4, 3\); expected \(4, 2\)"):
        metrics.compute_metrics("classification", y, p, np.full((4, 3), 1 / 3))
    with pytest.raises(ValueError, match="4 true values but 3 predictions"):
        metrics.compute_metrics("classification", y, p[:3])


def test_r2_bootstrap_is_exact_where_the_target_is_far_from_zero() -> None:
    # sum(w*y^2) - n*mean^2 would lose every digit here; each resample must still match
    # scikit-learn on the rows it drew, and a resample of one repeated value is undefined.
    from modelci.comparing import stats

    rng = np.random.default_rng(2)
    y = np.r_[rng.normal(0, 1e-3, 199), 1e6]
    pred = y + rng.normal(0, 1e-3, 200)
    p = metrics.Predictions("regression", y, pred)
    weights = stats.resample_weights(200, 40, np.random.default_rng(3))
    values = metrics.METRICS["r2"].fn(p, weights)
    for b in range(40):
        rows = np.repeat(np.arange(200), weights[b].astype(int))
        assert values[b] == pytest.approx(skm.r2_score(y[rows], pred[rows]), abs=1e-9), b
    one_value = np.zeros((1, 200))
    one_value[0, 7] = 5.0
    assert np.isnan(metrics.METRICS["r2"].fn(p, one_value)[0])


def test_a_scorer_that_needs_probabilities_says_so() -> None:
    labels_only = metrics.encode("classification", [0, 1, 1, 0], [0, 1, 0, 0])
    scorer = metrics.resolve("average_precision", "classification")
    with pytest.raises(metrics.MetricError, match="needs class probabilities; the model gives"):
        metrics.check(scorer, labels_only)
    # in the bootstrap a failing resample is undefined, not an error
    assert np.isnan(metrics.point(scorer, labels_only))
