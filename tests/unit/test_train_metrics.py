"""Train's holdout metrics (modelci.metrics.compute_metrics): values agree with
scikit-learn's own functions, sets are configurable."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from modelci.metrics import METRICS, compute_metrics, names_for


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
