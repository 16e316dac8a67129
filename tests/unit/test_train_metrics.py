"""Train's holdout metrics (modelci.metrics.compute_metrics): values agree with
scikit-learn's own functions, sets are configurable."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics as skm

from modelci.metrics import METRICS, MetricError, compute_metrics, names_for
from tests.conftest import CliRunner


def test_metric_sets_cover_the_issue() -> None:
    assert names_for("classification") == [
        "accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc", "log_loss",
    ]  # fmt: skip
    assert names_for("regression") == ["rmse", "mae", "r2", "mape"]
    assert set(METRICS) == set(names_for("classification")) | set(names_for("regression"))


def test_binary_classification_scores_the_second_label() -> None:
    y = np.array(["no", "yes", "yes", "no", "yes", "no"], dtype=object)
    p = np.array(["no", "yes", "no", "no", "yes", "yes"], dtype=object)
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3], [0.1, 0.9], [0.4, 0.6]])
    got = compute_metrics("classification", y, p, proba)
    assert got["accuracy"] == pytest.approx(4 / 6)
    assert got["precision"] == pytest.approx(skm.precision_score(y, p, pos_label="yes"))
    assert got["recall"] == pytest.approx(2 / 3)
    assert got["f1"] == pytest.approx(skm.f1_score(y, p, pos_label="yes"))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y == "yes", proba[:, 1]))
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=["no", "yes"]))
    assert got["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, p))


def test_multiclass_uses_macro_averages_and_ovr_auc() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)
    proba = rng.dirichlet([1, 1, 1], 60)
    p = proba.argmax(axis=1)
    got = compute_metrics("classification", y, p, proba, classes=[0, 1, 2])
    assert got["f1"] == pytest.approx(skm.f1_score(y, p, average="macro"))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr"))


def test_without_probabilities_proba_metrics_are_left_out() -> None:
    got = compute_metrics("classification", [0, 1, 1], [0, 1, 0], None)
    assert "roc_auc" not in got and "log_loss" not in got
    assert got["accuracy"] == pytest.approx(2 / 3)


def test_regression_metrics() -> None:
    y = np.array([1.0, 2.0, 4.0, 8.0])
    p = np.array([1.5, 2.0, 3.0, 9.0])
    got = compute_metrics("regression", y, p)
    assert got["rmse"] == pytest.approx(math.sqrt((0.25 + 0 + 1 + 1) / 4))
    assert got["mae"] == pytest.approx(2.5 / 4)
    assert got["r2"] == pytest.approx(skm.r2_score(y, p))
    assert got["mape"] == pytest.approx((0.5 + 0 + 0.25 + 0.125) / 4)


def test_a_chosen_subset_in_the_given_order() -> None:
    got = compute_metrics("regression", [1.0, 2.0], [1.0, 3.0], names=["mae", "r2"])
    assert list(got) == ["mae", "r2"]


def test_metric_of_the_other_task_is_refused() -> None:
    with pytest.raises(ValueError, match="rmse do not apply to classification"):
        compute_metrics("classification", [0, 1], [0, 1], names=["rmse"])


def test_any_scikit_learn_scorer_and_a_project_function(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a module of the project folder, found without PYTHONPATH=.
    (tmp_path / "train_fns.py").write_text(
        "import numpy as np\n\n"
        "def hits(y_true, y_pred):\n    return float(np.sum(y_true == y_pred))\n\n"
        "def mean_yes(y_true, y_pred, y_proba, classes):\n"
        "    return float(y_proba[:, classes.index('yes')].mean())\n"
    )
    monkeypatch.chdir(tmp_path)
    y = np.array(["no", "yes", "yes", "no", "yes", "no"], dtype=object)
    p = np.array(["no", "yes", "no", "no", "yes", "yes"], dtype=object)
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3], [0.1, 0.9], [0.4, 0.6]])
    names = [
        "average_precision",
        "neg_log_loss",
        "f1_macro",
        "train_fns:hits",
        "train_fns:mean_yes",
    ]
    got = compute_metrics("classification", y, p, proba, names=names)
    assert list(got) == names
    assert got["average_precision"] == pytest.approx(
        skm.average_precision_score(y == "yes", proba[:, 1])
    )
    assert got["neg_log_loss"] == pytest.approx(-skm.log_loss(y, proba, labels=["no", "yes"]))
    assert got["f1_macro"] == pytest.approx(skm.f1_score(y, p, average="macro"))
    assert got["train_fns:hits"] == 4.0
    assert got["train_fns:mean_yes"] == pytest.approx(proba[:, 1].mean())
    regression = compute_metrics(
        "regression", [1.0, 2.0, 4.0], [1.5, 2.0, 3.0], names=["neg_median_absolute_error"]
    )
    assert regression == {"neg_median_absolute_error": pytest.approx(-0.5)}


def test_unknown_names_and_failing_scorers_are_refused() -> None:
    with pytest.raises(ValueError, match="averge_precision do not apply to classification"):
        compute_metrics("classification", [0, 1], [0, 1], names=["averge_precision"])
    # a classification scorer on continuous values: one line naming the metric, exit 2
    with pytest.raises(MetricError, match="metric 'matthews_corrcoef' cannot be computed"):
        compute_metrics("regression", [0.5, 1.5, 2.5], [0.4, 1.4, 2.7], names=["matthews_corrcoef"])


def test_train_records_scorer_and_function_metrics(
    in_tmp: Path, run_cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sklearn.datasets import load_breast_cancer

    load_breast_cancer(as_frame=True).frame.to_csv(in_tmp / "bc.csv", index=False)
    (in_tmp / "bc_metrics.py").write_text(
        "def errors(y_true, y_pred):\n    return float((y_true != y_pred).sum())\n"
    )
    (in_tmp / "modelci.yaml").write_text(
        "version: 1\ndata:\n  path: bc.csv\n  target: target\ntrain:\n"
        "  estimator: sklearn.tree.DecisionTreeClassifier\n  params: {max_depth: 2}\n"
        "  metrics: [accuracy, average_precision, 'bc_metrics:errors']\n"
    )
    result = run_cli("train", env={"MODELCI_HOME": str(in_tmp / "home")})
    assert result.code == 0, result.err
    facts = json.loads((in_tmp / ".modelci" / "manifest.json").read_text())["train"]["metrics"]
    assert {"accuracy", "average_precision", "bc_metrics:errors"} <= set(facts)
    assert 0.5 < facts["average_precision"] <= 1.0
    assert facts["bc_metrics:errors"] >= 0
