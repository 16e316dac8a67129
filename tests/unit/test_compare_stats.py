"""The statistics of the compare gate: metrics, paired bootstrap, McNemar, rule decisions."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn import metrics as skm

from modelci.comparing import stats
from modelci.comparing.rules import Rule, decide, parse_rules
from modelci.errors import ConfigError
from modelci.metrics import METRICS, Predictions, point


def _classification(
    y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None = None
) -> Predictions:
    k = int(max(y.max(), pred.max())) + 1
    return Predictions("classification", y, pred, proba, tuple(range(k)))


def _noisy(rng: np.random.Generator, y: np.ndarray, accuracy: float) -> np.ndarray:
    """Predictions that are right on about ``accuracy`` of the rows, independently."""
    wrong = rng.random(y.shape[0]) > accuracy
    return np.where(wrong, 1 - y, y)


@pytest.mark.parametrize("classes", [2, 3])
def test_metrics_match_scikit_learn_on_all_rows_and_on_a_resample(classes: int) -> None:
    rng = np.random.default_rng(7)
    n = 600
    y = rng.integers(0, classes, n)
    proba = rng.dirichlet(np.ones(classes), n)
    proba[np.arange(n), y] += 0.4
    proba /= proba.sum(axis=1, keepdims=True)
    pred = proba.argmax(axis=1)
    p = _classification(y, pred, proba)
    average = "binary" if classes == 2 else "macro"
    roc = (
        (lambda yy, pp: skm.roc_auc_score(yy, pp[:, 1]))
        if classes == 2
        else (lambda yy, pp: skm.roc_auc_score(yy, pp, multi_class="ovr"))
    )
    reference = {
        "accuracy": lambda yy, yp, pp: skm.accuracy_score(yy, yp),
        "balanced_accuracy": lambda yy, yp, pp: skm.balanced_accuracy_score(yy, yp),
        "precision": lambda yy, yp, pp: skm.precision_score(yy, yp, average=average),
        "recall": lambda yy, yp, pp: skm.recall_score(yy, yp, average=average),
        "f1": lambda yy, yp, pp: skm.f1_score(yy, yp, average=average),
        "roc_auc": lambda yy, yp, pp: roc(yy, pp),
        "log_loss": lambda yy, yp, pp: skm.log_loss(yy, pp, labels=list(range(classes))),
    }
    weights = stats.resample_weights(n, 1, np.random.default_rng(3))
    rows = np.repeat(np.arange(n), weights[0].astype(int))
    for name, ref in reference.items():
        assert point(METRICS[name], p) == pytest.approx(ref(y, pred, proba), abs=1e-12), name
        resampled = METRICS[name].fn(p, weights)[0]
        assert resampled == pytest.approx(ref(y[rows], pred[rows], proba[rows]), abs=1e-12), name


def test_regression_metrics_match_scikit_learn() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(10, 3, 500)
    yp = y + rng.normal(0, 1, 500)
    p = Predictions("regression", y, yp)
    assert point(METRICS["rmse"], p) == pytest.approx(skm.root_mean_squared_error(y, yp))
    assert point(METRICS["mae"], p) == pytest.approx(skm.mean_absolute_error(y, yp))
    assert point(METRICS["r2"], p) == pytest.approx(skm.r2_score(y, yp))
    assert point(METRICS["mape"], p) == pytest.approx(skm.mean_absolute_percentage_error(y, yp))


def test_bootstrap_is_seeded_and_paired() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    a = _classification(y, _noisy(rng, y, 0.8))
    one = stats.paired_bootstrap(METRICS["accuracy"], a, a, resamples=500, confidence=0.95, seed=4)
    # the same model against itself: every paired resample differs by exactly zero
    assert (one.low, one.high) == (0.0, 0.0)
    b = _classification(y, _noisy(rng, y, 0.8))
    first = stats.paired_bootstrap(METRICS["f1"], a, b, resamples=500, confidence=0.9, seed=4)
    again = stats.paired_bootstrap(METRICS["f1"], a, b, resamples=500, confidence=0.9, seed=4)
    other = stats.paired_bootstrap(METRICS["f1"], a, b, resamples=500, confidence=0.9, seed=5)
    assert first == again
    assert first != other
    assert first.low < first.high


def test_bootstrap_of_2000_resamples_over_10k_rows_is_fast() -> None:
    rng = np.random.default_rng(0)
    n = 10_000
    y = rng.integers(0, 2, n)
    score = np.clip(rng.random(n) * 0.7 + y * 0.3, 0, 1)
    proba = np.c_[1 - score, score]
    a = _classification(y, (score > 0.5).astype(int), proba)
    b = _classification(y, _noisy(rng, y, 0.7), proba[::-1].copy())
    started = time.perf_counter()
    diffs = stats.paired_differences(
        [METRICS["accuracy"], METRICS["log_loss"]], a, b, resamples=2000, seed=0
    )
    elapsed = time.perf_counter() - started
    assert diffs["accuracy"].shape == (2000,)
    assert elapsed < 5.0, f"2000 x 10k bootstrap took {elapsed:.2f}s"


def test_mcnemar_exact_and_chi_square() -> None:
    cand = np.array([1.0] * 10 + [0.0] * 2 + [1.0] * 50)
    prod = np.array([0.0] * 10 + [1.0] * 2 + [1.0] * 50)
    exact = stats.mcnemar(cand, prod)
    assert (exact.candidate_only, exact.production_only, exact.method) == (10, 2, "exact")
    assert exact.p_value == pytest.approx(0.0385742, abs=1e-6)  # 2 * P(X <= 2), X ~ Bin(12, .5)
    cand = np.array([1.0] * 40 + [0.0] * 20)
    prod = np.array([0.0] * 40 + [1.0] * 20)
    large = stats.mcnemar(cand, prod)
    # (|40 - 20| - 1)^2 / 60 = 6.0167 → p = 0.01418 with one degree of freedom
    assert large.method == "chi-square"
    assert large.p_value == pytest.approx(0.014179, abs=1e-5)
    assert stats.mcnemar(prod, prod).p_value == 1.0


def _verdict(rule: Rule, cand: Predictions, prod: Predictions, *, mcnemar: bool = True):  # type: ignore[no-untyped-def]
    metric = METRICS[rule.metric]
    interval = stats.paired_bootstrap(metric, cand, prod, resamples=1000, confidence=0.95, seed=0)
    test = stats.mcnemar(cand.correct, prod.correct) if mcnemar and metric.accuracy_type else None
    return decide(rule, point(metric, prod), point(metric, cand), interval, test)


def test_clearly_better_passes_and_clearly_worse_fails() -> None:
    rng = np.random.default_rng(11)
    y = rng.integers(0, 2, 1000)
    good = _classification(y, _noisy(rng, y, 0.92))
    poor = _classification(y, _noisy(rng, y, 0.75))
    not_degrade = Rule("accuracy", "higher", max_degradation=0.01)
    improve = Rule("accuracy", "higher", min_improvement=0.0)
    assert _verdict(not_degrade, good, poor).passed
    assert _verdict(improve, good, poor).passed
    worse = _verdict(not_degrade, poor, good)
    assert not worse.passed
    assert "lower bound of the improvement" in worse.reason
    assert not _verdict(improve, poor, good).passed


def test_equal_within_noise_fails_must_improve_and_passes_must_not_degrade() -> None:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 2000)
    a = _classification(y, _noisy(rng, y, 0.85))
    b = _classification(y, _noisy(rng, y, 0.85))
    assert abs(point(METRICS["accuracy"], a) - point(METRICS["accuracy"], b)) < 0.02
    improve = _verdict(Rule("accuracy", "higher", min_improvement=0.0), a, b)
    assert not improve.passed
    low, high = improve.interval
    assert low is not None and high is not None and low < 0 < high
    assert _verdict(Rule("accuracy", "higher", max_degradation=0.05), a, b).passed


def test_lower_is_better_metrics_flip_the_interval() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(0, 5, 800)
    close = Predictions("regression", y, y + rng.normal(0, 1, 800))
    far = Predictions("regression", y, y + rng.normal(0, 3, 800))
    rule = Rule("rmse", "lower", max_degradation=0.01, relative=True)
    better = _verdict(rule, close, far)
    assert better.passed
    assert better.difference < 0  # rmse went down
    assert better.improvement_low is not None and better.improvement_low > 0
    assert not _verdict(rule, far, close).passed


def test_better_on_average_but_worse_on_a_guarded_slice_fails() -> None:
    rng = np.random.default_rng(9)
    n = 3000
    y = rng.integers(0, 2, n)
    region = np.where(np.arange(n) < 600, "north", "south")
    prod = _noisy(rng, y, 0.85)
    cand = _noisy(rng, y, 0.95)
    north = region == "north"
    cand[north] = _noisy(rng, y[north], 0.70)  # much worse for one region
    c, p = _classification(y, cand), _classification(y, prod)
    rule = Rule("accuracy", "higher", max_degradation=0.01)
    assert _verdict(rule, c, p).passed
    assert not _verdict(rule, c.subset(north), p.subset(north)).passed
    assert _verdict(rule, c.subset(~north), p.subset(~north)).passed


def test_must_improve_needs_mcnemar_to_agree() -> None:
    y = np.zeros(400, dtype=int)
    prod = np.zeros(400, dtype=int)
    prod[:40] = 1  # production wrong on 40 rows
    cand = prod.copy()
    cand[:6] = 0  # candidate fixes 6 of them...
    cand[40:42] = 1  # ...and breaks 2: 6 vs 2 discordant rows
    rule = Rule("accuracy", "higher", min_improvement=-0.05)
    with_test = _verdict(rule, _classification(y, cand), _classification(y, prod))
    assert not with_test.passed
    assert "McNemar" in with_test.reason
    assert _verdict(rule, _classification(y, cand), _classification(y, prod), mcnemar=False).passed


def test_rules_default_and_metric_the_task_cannot_compute() -> None:
    assert parse_rules({}, "classification", "compare.rules") == [Rule("accuracy", "higher")]
    assert parse_rules(None, "regression", "compare.rules") == [
        Rule("rmse", "lower", relative=True)
    ]
    rules = parse_rules({"log_loss": {"min_improvement": 0.01}}, "classification", "x")
    assert rules[0].direction == "lower" and rules[0].kind == "must improve"
    with pytest.raises(ConfigError, match=r"metric 'rmse' cannot be computed for a classification"):
        parse_rules({"rmse": {}}, "classification", "modelci.yaml: compare.rules")
