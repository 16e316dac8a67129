"""Metrics evaluated for a whole stack of bootstrap resamples in one pass.

A resample is a row of multiplicities ``W[b, i]`` (how often row ``i`` was drawn in resample
``b``). Every metric is written as matrix products with ``W``, so 2000 resamples of 10 000
rows cost a handful of BLAS calls rather than 2000 Python-level metric calls. The point
estimate is the same function with ``W`` a single row of ones, so the reported value and the
bootstrap can never disagree on what a metric means.

Definitions follow scikit-learn: binary precision/recall/F1 score the second class label,
multiclass ones are macro averages over all labels; ROC AUC is one-vs-rest macro for
multiclass; log loss clips probabilities to [1e-15, 1]. A value that is undefined on the
rows given (ROC AUC with one class, R² of a constant target) is NaN.

Which metrics exist, their task and direction come from the registry, :mod:`modelci.metrics`;
this module adds how to compute each one, and the train step uses the same functions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from modelci.metrics import DEFAULT_METRIC, Direction, MetricSpec, Task, names_for
from modelci.metrics import SPECS as _SPECS

__all__ = [
    "DEFAULT_METRIC",
    "METRICS",
    "Direction",
    "FloatArray",
    "Metric",
    "Predictions",
    "Task",
    "names_for",
    "point",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_EPS = 1e-15


@dataclass(frozen=True)
class Predictions:
    """One model's predictions on the evaluation rows, encoded for fast metrics.

    Classification: ``y_true`` and ``y_pred`` are class codes (indices into ``classes``) and
    ``proba`` has one column per class, or is ``None`` when the model cannot give
    probabilities. Regression: ``y_true``/``y_pred`` are floats and ``classes`` is empty.
    """

    task: Task
    y_true: npt.NDArray[Any]
    y_pred: npt.NDArray[Any]
    proba: FloatArray | None = None
    classes: tuple[Any, ...] = ()

    def __len__(self) -> int:
        return int(self.y_true.shape[0])

    def subset(self, mask: npt.NDArray[np.bool_]) -> Predictions:
        return Predictions(
            self.task,
            self.y_true[mask],
            self.y_pred[mask],
            None if self.proba is None else self.proba[mask],
            self.classes,
        )

    @property
    def correct(self) -> FloatArray:
        return np.asarray(self.y_true == self.y_pred, dtype=np.float64)


MetricFn = Callable[[Predictions, FloatArray], FloatArray]


@dataclass(frozen=True)
class Metric(MetricSpec):
    """A registered metric with its vectorised function: values for a stack of resamples."""

    fn: MetricFn = dataclasses.field(kw_only=True)


def _n(weights: FloatArray) -> FloatArray:
    return np.asarray(weights.sum(axis=1), dtype=np.float64)


def _safe_div(num: FloatArray, den: FloatArray) -> FloatArray:
    out = np.zeros(np.broadcast_shapes(num.shape, den.shape))
    np.divide(num, den, out=out, where=den != 0)
    return out


def _onehot(codes: npt.NDArray[Any], k: int) -> FloatArray:
    out = np.zeros((codes.shape[0], k))
    out[np.arange(codes.shape[0]), codes.astype(np.int64)] = 1.0
    return out


def _accuracy(p: Predictions, w: FloatArray) -> FloatArray:
    return _safe_div(w @ p.correct, _n(w))


def _per_class_counts(p: Predictions, w: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    k = len(p.classes)
    true_1h = _onehot(p.y_true, k)
    pred_1h = _onehot(p.y_pred, k)
    tp = w @ (true_1h * pred_1h)
    return tp, w @ pred_1h, w @ true_1h


def _scored_classes(p: Predictions) -> list[int]:
    # Binary scores follow scikit-learn's pos_label: the second (greater) label.
    return [1] if len(p.classes) == 2 else list(range(len(p.classes)))


def _precision(p: Predictions, w: FloatArray) -> FloatArray:
    tp, predicted, _ = _per_class_counts(p, w)
    return np.asarray(
        _safe_div(tp, predicted)[:, _scored_classes(p)].mean(axis=1), dtype=np.float64
    )


def _recall(p: Predictions, w: FloatArray) -> FloatArray:
    tp, _, actual = _per_class_counts(p, w)
    return np.asarray(_safe_div(tp, actual)[:, _scored_classes(p)].mean(axis=1), dtype=np.float64)


def _f1(p: Predictions, w: FloatArray) -> FloatArray:
    tp, predicted, actual = _per_class_counts(p, w)
    return np.asarray(
        _safe_div(2 * tp, predicted + actual)[:, _scored_classes(p)].mean(axis=1), dtype=np.float64
    )


def _balanced_accuracy(p: Predictions, w: FloatArray) -> FloatArray:
    tp, _, actual = _per_class_counts(p, w)
    recall = np.full(actual.shape, np.nan)
    np.divide(tp, actual, out=recall, where=actual > 0)
    with np.errstate(invalid="ignore"):
        # a class missing from a resample does not count, as in scikit-learn
        return np.asarray(np.nanmean(np.where(actual > 0, recall, np.nan), axis=1))


def _binary_auc(scores: FloatArray, positive: npt.NDArray[np.bool_], w: FloatArray) -> FloatArray:
    """Weighted Mann-Whitney statistic: P(score of a positive > score of a negative)."""
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ws = w[:, order]
    pos = positive[order]
    pos_w = np.add.reduceat(ws * pos, starts, axis=1)
    neg_w = np.add.reduceat(ws * ~pos, starts, axis=1)
    below = np.cumsum(neg_w, axis=1) - neg_w
    # ties between a positive and a negative count one half
    num = (pos_w * (below + 0.5 * neg_w)).sum(axis=1)
    den = pos_w.sum(axis=1) * neg_w.sum(axis=1)
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _roc_auc(p: Predictions, w: FloatArray) -> FloatArray:
    assert p.proba is not None
    if len(p.classes) == 2:
        return _binary_auc(p.proba[:, 1], p.y_true == 1, w)
    per_class = [_binary_auc(p.proba[:, k], p.y_true == k, w) for k in range(len(p.classes))]
    with np.errstate(invalid="ignore"):
        return np.asarray(np.nanmean(np.vstack(per_class), axis=0))


def _log_loss(p: Predictions, w: FloatArray) -> FloatArray:
    assert p.proba is not None
    proba = p.proba / np.clip(p.proba.sum(axis=1, keepdims=True), _EPS, None)
    picked = proba[np.arange(len(p)), p.y_true.astype(np.int64)]
    return _safe_div(w @ -np.log(np.clip(picked, _EPS, 1.0)), _n(w))


def _errors(p: Predictions) -> FloatArray:
    return np.asarray(p.y_pred, dtype=np.float64) - np.asarray(p.y_true, dtype=np.float64)


def _rmse(p: Predictions, w: FloatArray) -> FloatArray:
    return np.sqrt(_safe_div(w @ _errors(p) ** 2, _n(w)))


def _mae(p: Predictions, w: FloatArray) -> FloatArray:
    return _safe_div(w @ np.abs(_errors(p)), _n(w))


def _mape(p: Predictions, w: FloatArray) -> FloatArray:
    y = np.asarray(p.y_true, dtype=np.float64)
    eps = np.finfo(np.float64).eps
    return _safe_div(w @ (np.abs(_errors(p)) / np.maximum(np.abs(y), eps)), _n(w))


def _r2(p: Predictions, w: FloatArray) -> FloatArray:
    y = np.asarray(p.y_true, dtype=np.float64)
    n = _n(w)
    out = np.full(n.shape, np.nan)
    if y.size == 0:
        return out
    # Centring on the mean of all rows keeps sum(w*y^2) - n*mean^2 from cancelling when the
    # target sits far from zero: on all rows the second term is ~0 and the total is the
    # two-pass one scikit-learn computes.
    d = y - y.mean()
    mean = _safe_div(w @ d, n)
    spread = w @ (d**2)
    total = spread - n * mean**2
    # Where most digits cancelled anyway (a resample far from the overall mean, or one
    # constant target) redo those few resamples exactly, two-pass. A constant target leaves
    # R² undefined, where scikit-learn would divide by the rounding noise of its mean.
    suspect = np.flatnonzero(total <= 1e-8 * spread)
    if suspect.size:
        ws = w[suspect]
        drawn = ws > 0
        constant = np.where(drawn, y, np.inf).min(axis=1) == np.where(drawn, y, -np.inf).max(axis=1)
        centred = y[None, :] - _safe_div(ws @ y, n[suspect])[:, None]
        total[suspect] = np.where(constant, 0.0, (ws * centred**2).sum(axis=1))
    residual = w @ _errors(p) ** 2
    np.divide(residual, total, out=out, where=total > 0)
    return 1.0 - out


_FUNCTIONS: dict[str, MetricFn] = {
    "accuracy": _accuracy,
    "balanced_accuracy": _balanced_accuracy,
    "precision": _precision,
    "recall": _recall,
    "f1": _f1,
    "roc_auc": _roc_auc,
    "log_loss": _log_loss,
    "rmse": _rmse,
    "mae": _mae,
    "r2": _r2,
    "mape": _mape,
}

if _FUNCTIONS.keys() != _SPECS.keys():  # a registry entry without code, or code without one
    raise ImportError(
        "modelci.metrics and modelci.comparing.metrics disagree: "
        f"{sorted(_FUNCTIONS.keys() ^ _SPECS.keys())}"
    )

#: every registered metric, in registry order, with its function
METRICS: dict[str, Metric] = {
    name: Metric(**dataclasses.asdict(spec), fn=_FUNCTIONS[name]) for name, spec in _SPECS.items()
}


def point(metric: Metric, predictions: Predictions) -> float:
    """The metric on all rows (multiplicity one each)."""
    return float(metric.fn(predictions, np.ones((1, len(predictions))))[0])
